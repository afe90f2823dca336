package local

import (
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/Knetic/govaluate"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	exprenv "github.com/argoproj/argo-workflows/v3/util/expr/env"
	"github.com/argoproj/argo-workflows/v3/util/template"
	"github.com/expr-lang/expr"
)

// scope holds the variables visible to a DAG task or step: workflow globals
// plus the statuses and outputs of sibling tasks ("tasks.*" / "steps.*").
type scope struct {
	params map[string]any
	arts   map[string]wfv1.Artifact
}

func newScope(globals map[string]string, globalArts map[string]wfv1.Artifact) *scope {
	s := &scope{params: make(map[string]any, len(globals)+8), arts: maps.Clone(globalArts)}
	if s.arts == nil {
		s.arts = map[string]wfv1.Artifact{}
	}
	for k, v := range globals {
		s.params[k] = v
	}
	return s
}

func (s *scope) clone() *scope {
	return &scope{params: maps.Clone(s.params), arts: maps.Clone(s.arts)}
}

// addNode publishes a finished node under prefix, e.g. "tasks.a", the way
// Argo's controller builds its local scope.
func (s *scope) addNode(prefix string, n *wfv1.NodeStatus) {
	s.params[prefix+".id"] = n.ID
	if !n.StartedAt.IsZero() {
		s.params[prefix+".startedAt"] = n.StartedAt.UTC().Format(time.RFC3339)
	}
	if !n.FinishedAt.IsZero() {
		s.params[prefix+".finishedAt"] = n.FinishedAt.UTC().Format(time.RFC3339)
	}
	if n.Phase != "" {
		s.params[prefix+".status"] = string(n.Phase)
	}
	s.params[prefix+".ip"] = "127.0.0.1"
	s.params[prefix+".hostNodeName"] = "localhost"
	out := n.Outputs
	if out == nil {
		return
	}
	if out.Result != nil {
		s.params[prefix+".outputs.result"] = *out.Result
	}
	if out.ExitCode != nil {
		s.params[prefix+".exitCode"] = *out.ExitCode
	}
	for _, p := range out.Parameters {
		if p.Value != nil {
			s.params[prefix+".outputs.parameters."+p.Name] = p.Value.String()
		}
	}
	for _, a := range out.Artifacts {
		s.arts[prefix+".outputs.artifacts."+a.Name] = a
	}
}

// addAggregate publishes the outputs of a loop's children as JSON lists, as
// Argo does for withItems/withParam/withSequence.
func (s *scope) addAggregate(prefix string, children []*wfv1.NodeStatus) {
	var results []any
	params := []map[string]string{}
	perName := map[string][]string{}
	for _, c := range children {
		if c.Outputs == nil || c.Phase != wfv1.NodeSucceeded {
			continue
		}
		if len(c.Outputs.Parameters) > 0 {
			m := map[string]string{}
			for _, p := range c.Outputs.Parameters {
				m[p.Name] = p.Value.String()
				perName[p.Name] = append(perName[p.Name], p.Value.String())
			}
			params = append(params, m)
		}
		if c.Outputs.Result != nil {
			var v any
			if err := json.Unmarshal([]byte(*c.Outputs.Result), &v); err != nil {
				v = *c.Outputs.Result
			}
			results = append(results, v)
		}
	}
	if results == nil {
		results = []any{}
	}
	b, _ := json.Marshal(results)
	s.params[prefix+".outputs.result"] = string(b)
	b, _ = json.Marshal(params)
	s.params[prefix+".outputs.parameters"] = string(b)
	for name, vals := range perName {
		s.params[prefix+".outputs.parameters."+name] = aggregateList(vals)
	}
}

// aggregateList renders values as a JSON list of objects when every value is
// a JSON object or list, and as a JSON list of strings otherwise.
func aggregateList(vals []string) string {
	parsed := make([]any, 0, len(vals))
	for _, v := range vals {
		var x any
		if err := json.Unmarshal([]byte(v), &x); err != nil {
			parsed = nil
			break
		}
		switch x.(type) {
		case map[string]any, []any:
			parsed = append(parsed, x)
		default:
			parsed = nil
		}
		if parsed == nil {
			break
		}
	}
	var b []byte
	if parsed != nil {
		b, _ = json.Marshal(parsed)
	} else {
		b, _ = json.Marshal(vals)
	}
	return string(b)
}

// replace substitutes {{…}} and {{=…}} tags in any JSON-serialisable value
// with Argo's own template engine.
func (s *scope) replace(v any, allowUnresolved bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode for substitution: %w", err)
	}
	out, err := template.Replace(string(b), s.params, allowUnresolved)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("decode after substitution: %w", err)
	}
	return nil
}

// replaceString substitutes tags in one string.
func (s *scope) replaceString(in string) (string, error) {
	// Argo substitutes into JSON text and escapes values for it, so do the same: marshal the
	// string, substitute, unmarshal. Substituting into the raw string would leave JSON escapes
	// in values that contain quotes (a struct output passed through a DAG output, say).
	quoted, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	t, err := template.NewTemplate(string(quoted))
	if err != nil {
		return "", err
	}
	out, err := t.Replace(s.params, false)
	if err != nil {
		return "", err
	}
	var res string
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return "", fmt.Errorf("substitute %q: %w", in, err)
	}
	return res, nil
}

// exprEnv is the environment Argo gives {{=…}} expressions, with artifacts.
func (s *scope) exprEnv() map[string]any {
	m := make(map[string]any, len(s.params)+len(s.arts))
	maps.Copy(m, s.params)
	for k, a := range s.arts {
		m[k] = a
	}
	return exprenv.GetFuncMap(m)
}

// eval evaluates an expr-lang expression in the scope.
func (s *scope) eval(expression string) (any, error) {
	prog, err := expr.Compile(expression, expr.Env(s.exprEnv()))
	if err != nil {
		return nil, fmt.Errorf("compile expression %q: %w", expression, err)
	}
	v, err := expr.Run(prog, s.exprEnv())
	if err != nil {
		return nil, fmt.Errorf("evaluate expression %q: %w", expression, err)
	}
	return v, nil
}

// resolveArtifacts turns `from`/`fromExpression` references in arguments into
// concrete artifacts with locations.
func (s *scope) resolveArtifacts(args *wfv1.Arguments) error {
	for i, a := range args.Artifacts {
		var (
			found wfv1.Artifact
			ok    bool
		)
		switch {
		case a.From != "":
			key := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(a.From), "{{"), "}}"))
			found, ok = s.arts[key]
			if !ok {
				return fmt.Errorf("artifact %q: unable to resolve %s", a.Name, a.From)
			}
		case a.FromExpression != "":
			v, err := s.eval(a.FromExpression)
			if err != nil {
				return fmt.Errorf("artifact %q: %w", a.Name, err)
			}
			found, ok = v.(wfv1.Artifact)
			if !ok {
				return fmt.Errorf("artifact %q: fromExpression %q did not return an artifact", a.Name, a.FromExpression)
			}
		default:
			continue
		}
		res := *found.DeepCopy()
		res.Name = a.Name
		res.Path = ""
		res.GlobalName = ""
		res.From = ""
		res.FromExpression = ""
		if a.SubPath != "" {
			res.SubPath = a.SubPath
		}
		args.Artifacts[i] = res
	}
	return nil
}

// shouldExecute evaluates a `when` expression exactly as Argo's controller
// does: govaluate, with every bare variable token read as a string.
func shouldExecute(when string) (bool, error) {
	if when == "" {
		return true, nil
	}
	e, err := govaluate.NewEvaluableExpression(when)
	if err != nil {
		return false, fmt.Errorf("invalid 'when' expression %q: %w", when, err)
	}
	tokens := e.Tokens()
	for i := range tokens {
		if tokens[i].Kind == govaluate.VARIABLE {
			tokens[i].Kind = govaluate.STRING
		}
	}
	e, err = govaluate.NewEvaluableExpressionFromTokens(tokens)
	if err != nil {
		return false, fmt.Errorf("parse 'when' expression %q: %w", when, err)
	}
	res, err := e.Evaluate(nil)
	if err != nil {
		return false, fmt.Errorf("evaluate 'when' expression %q: %w", when, err)
	}
	b, ok := res.(bool)
	if !ok {
		return false, fmt.Errorf("expected boolean evaluation for 'when' %q, got %v", when, res)
	}
	return b, nil
}

// expandItems lists the items of a loop from withItems, withParam or
// withSequence (already substituted).
func expandItems(items []wfv1.Item, param string, seq *wfv1.Sequence) ([]wfv1.Item, error) {
	switch {
	case len(items) > 0:
		return items, nil
	case param != "":
		var out []wfv1.Item
		if err := json.Unmarshal([]byte(param), &out); err != nil {
			return nil, fmt.Errorf("withParam value could not be parsed as a JSON list: %s: %w", strings.TrimSpace(param), err)
		}
		return out, nil
	case seq != nil:
		return expandSequence(seq)
	}
	return nil, nil
}

func expandSequence(seq *wfv1.Sequence) ([]wfv1.Item, error) {
	atoi := func(field string, v fmt.Stringer) (int, error) {
		var n int
		if _, err := fmt.Sscan(v.String(), &n); err != nil {
			return 0, fmt.Errorf("withSequence.%s %q is not an integer", field, v.String())
		}
		return n, nil
	}
	start, end := 0, 0
	var err error
	if seq.Start != nil {
		if start, err = atoi("start", seq.Start); err != nil {
			return nil, err
		}
	}
	switch {
	case seq.End != nil:
		if end, err = atoi("end", seq.End); err != nil {
			return nil, err
		}
	case seq.Count != nil:
		count, err := atoi("count", seq.Count)
		if err != nil {
			return nil, err
		}
		if count == 0 {
			return []wfv1.Item{}, nil
		}
		end = start + count - 1
	default:
		return nil, fmt.Errorf("withSequence needs end or count")
	}
	format := seq.Format
	if format == "" {
		format = "%d"
	}
	step := 1
	if end < start {
		step = -1
	}
	var out []wfv1.Item
	for i := start; ; i += step {
		it, err := wfv1.ParseItem(`"` + fmt.Sprintf(format, i) + `"`)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
		if i == end {
			break
		}
	}
	return out, nil
}

// withItem returns the scope extended with {{item}} (and {{item.key}} for
// maps) and the node name Argo gives the expansion.
func (s *scope) withItem(name string, index int, item wfv1.Item) (*scope, string, error) {
	c := s.clone()
	var desc string
	switch item.GetType() {
	case wfv1.Number, wfv1.Bool:
		c.params["item"] = fmt.Sprintf("%v", item)
		desc = fmt.Sprintf("%v", item)
	case wfv1.String:
		c.params["item"] = item.GetStrVal()
		desc = item.GetStrVal()
	case wfv1.Map:
		m := item.GetMapVal()
		vals := make([]string, 0, len(m))
		for k, v := range m {
			c.params["item."+k] = fmt.Sprintf("%v", v)
			vals = append(vals, fmt.Sprintf("%s:%v", k, v))
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, "", err
		}
		c.params["item"] = string(b)
		sort.Strings(vals)
		desc = strings.Join(vals, ",")
	case wfv1.List:
		l := item.GetListVal()
		b, err := json.Marshal(l)
		if err != nil {
			return nil, "", err
		}
		c.params["item"] = string(b)
		desc = fmt.Sprint(l)
	default:
		return nil, "", fmt.Errorf("item %d: expected string, number, list or map, got %v", index, item)
	}
	desc = strings.NewReplacer("(", "", ")", "").Replace(desc)
	return c, fmt.Sprintf("%s(%d:%s)", name, index, desc), nil
}

// resolveOutputs computes a DAG or steps template's outputs from its scope.
func (s *scope) resolveOutputs(t *wfv1.Template) (*wfv1.Outputs, error) {
	if len(t.Outputs.Parameters) == 0 && len(t.Outputs.Artifacts) == 0 {
		return nil, nil
	}
	out := &wfv1.Outputs{}
	for _, p := range t.Outputs.Parameters {
		var val string
		var err error
		switch {
		case p.Value != nil:
			val, err = s.replaceString(p.Value.String())
		case p.ValueFrom != nil && p.ValueFrom.Parameter != "":
			val, err = s.replaceString(p.ValueFrom.Parameter)
		case p.ValueFrom != nil && p.ValueFrom.Expression != "":
			var v any
			v, err = s.eval(p.ValueFrom.Expression)
			if err == nil {
				val = stringify(v)
			}
		case p.ValueFrom != nil && p.ValueFrom.Default != nil:
			val = p.ValueFrom.Default.String()
		default:
			err = fmt.Errorf("no value")
		}
		if err != nil {
			if p.ValueFrom != nil && p.ValueFrom.Default != nil {
				val = p.ValueFrom.Default.String()
			} else {
				return nil, fmt.Errorf("outputs.parameters.%s: %w", p.Name, err)
			}
		}
		out.Parameters = append(out.Parameters, wfv1.Parameter{Name: p.Name, Value: wfv1.AnyStringPtr(val), GlobalName: p.GlobalName})
	}
	for _, a := range t.Outputs.Artifacts {
		args := wfv1.Arguments{Artifacts: []wfv1.Artifact{a}}
		if a.From == "" && a.FromExpression == "" {
			return nil, fmt.Errorf("outputs.artifacts.%s: needs from or fromExpression", a.Name)
		}
		if err := s.resolveArtifacts(&args); err != nil {
			if a.Optional {
				continue
			}
			return nil, fmt.Errorf("outputs.artifacts.%s: %w", a.Name, err)
		}
		res := args.Artifacts[0]
		res.GlobalName = a.GlobalName
		out.Artifacts = append(out.Artifacts, res)
	}
	return out, nil
}

func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprintf("%v", x)
	}
}

// templateScope is the starting scope of a DAG or steps template: globals
// plus the template's own (resolved) inputs.
func (r *run) templateScope(t *wfv1.Template) *scope {
	s := newScope(r.globalParams(), r.globalArtifacts())
	for _, p := range t.Inputs.Parameters {
		if p.Value != nil {
			s.params["inputs.parameters."+p.Name] = p.Value.String()
		}
	}
	for _, a := range t.Inputs.Artifacts {
		if a.HasLocation() {
			s.arts["inputs.artifacts."+a.Name] = a
		}
	}
	return s
}
