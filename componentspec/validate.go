package componentspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/internal/ir"
)

// portNameRE is the rule the dsl package applies to port names: they appear in Argo parameter
// names and in expressions, so they are identifiers.
var portNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// supportedTypes lists the type names for error messages (dsl.ParseType also accepts aliases
// such as Integer and Dict).
var supportedTypes = []string{"string", "int", "float", "bool", "list", "list<T>", "map", "map<string,T>", "struct", "Dataset", "Model", "Metrics", "Artifact"}

// Validate checks the spec and returns every problem found, each with its field path. Parse
// calls it; call it directly for a Spec built in Go.
func (s *Spec) Validate() field.ErrorList {
	var errs field.ErrorList
	switch {
	case s.APIVersion == "":
		errs = append(errs, field.Required(field.NewPath("apiVersion"), "must be "+APIVersion))
	case s.APIVersion != APIVersion:
		errs = append(errs, field.NotSupported(field.NewPath("apiVersion"), s.APIVersion, []string{APIVersion}))
	}
	switch {
	case s.Kind == "":
		errs = append(errs, field.Required(field.NewPath("kind"), "must be "+Kind))
	case s.Kind != Kind:
		errs = append(errs, field.NotSupported(field.NewPath("kind"), s.Kind, []string{Kind}))
	}
	if s.Name == "" {
		errs = append(errs, field.Required(field.NewPath("name"), "the component's name, a DNS-1123 label"))
	} else if msgs := validation.IsDNS1123Label(s.Name); len(msgs) > 0 {
		errs = append(errs, field.Invalid(field.NewPath("name"), s.Name, strings.Join(msgs, "; ")))
	}

	ports := map[string]port{}
	seen := map[string]bool{}
	for i, in := range s.Inputs {
		p := field.NewPath("inputs").Index(i)
		errs = append(errs, checkPortName(in.Name, p.Child("name"), seen)...)
		t, terr := checkType(in.Type, p.Child("type"))
		if terr != nil {
			errs = append(errs, terr)
		}
		if in.Default != nil && terr == nil {
			dp := p.Child("default")
			if t.IsArtifact() {
				errs = append(errs, field.Forbidden(dp, "artifact inputs cannot have a default"))
			} else if _, err := canonicalDefault(*in.Default, t); err != nil {
				errs = append(errs, field.Invalid(dp, *in.Default, err.Error()))
			}
		}
		if _, dup := ports[in.Name]; !dup && terr == nil {
			ports[in.Name] = port{artifact: t.IsArtifact()}
		}
	}
	for i, out := range s.Outputs {
		p := field.NewPath("outputs").Index(i)
		errs = append(errs, checkPortName(out.Name, p.Child("name"), seen)...)
		t, terr := checkType(out.Type, p.Child("type"))
		if terr != nil {
			errs = append(errs, terr)
		}
		if _, dup := ports[out.Name]; !dup && terr == nil {
			ports[out.Name] = port{output: true, artifact: t.IsArtifact()}
		}
	}
	// Placeholders naming a port whose declaration is broken would only repeat that problem.
	broken := map[string]bool{}
	for _, in := range s.Inputs {
		if _, ok := ports[in.Name]; !ok {
			broken[in.Name] = true
		}
	}
	for _, out := range s.Outputs {
		if _, ok := ports[out.Name]; !ok {
			broken[out.Name] = true
		}
	}
	errs = append(errs, checkContainer(s.Implementation.Container, ports, broken)...)
	return errs
}

type port struct{ output, artifact bool }

func checkPortName(name string, path *field.Path, seen map[string]bool) field.ErrorList {
	switch {
	case name == "":
		return field.ErrorList{field.Required(path, "")}
	case !portNameRE.MatchString(name):
		return field.ErrorList{field.Invalid(path, name, "must match "+portNameRE.String()+" (lower case letters, digits and _)")}
	case seen[name]:
		return field.ErrorList{field.Duplicate(path, name)}
	}
	seen[name] = true
	return nil
}

func checkType(typ string, path *field.Path) (ir.Type, *field.Error) {
	if strings.TrimSpace(typ) == "" {
		return ir.Type{}, field.Required(path, "one of "+strings.Join(supportedTypes, ", "))
	}
	t, err := dsl.ParseType(typ)
	if err == nil {
		return t, nil
	}
	if strings.HasPrefix(typ, "list<") || strings.HasPrefix(typ, "map<") {
		return ir.Type{}, field.Invalid(path, typ, "want list<T> or map<string,T> where T is a parameter type (string, int, float, bool, list, map, struct or a list or map of them)")
	}
	return ir.Type{}, field.NotSupported(path, typ, supportedTypes)
}

func mustParseType(typ string) ir.Type {
	t, err := dsl.ParseType(typ)
	if err != nil {
		panic(fmt.Sprintf("componentspec: type %q passed validation: %v", typ, err))
	}
	return t
}

func checkContainer(c *Container, ports map[string]port, broken map[string]bool) field.ErrorList {
	path := field.NewPath("implementation", "container")
	if c == nil {
		return field.ErrorList{field.Required(path, "the container that runs the component")}
	}
	var errs field.ErrorList
	switch {
	case c.Image == "":
		errs = append(errs, field.Required(path.Child("image"), ""))
	case strings.ContainsAny(c.Image, " \t\r\n"):
		errs = append(errs, field.Invalid(path.Child("image"), c.Image, "must not contain white space"))
	}
	if len(c.Command) == 0 && len(c.Args) == 0 {
		errs = append(errs, field.Required(path.Child("command"), "command or args must be given"))
	}
	for i, s := range c.Command {
		errs = append(errs, checkPlaceholders(s, path.Child("command").Index(i), ports, broken)...)
	}
	for i, s := range c.Args {
		errs = append(errs, checkPlaceholders(s, path.Child("args").Index(i), ports, broken)...)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		if msgs := validation.IsEnvVarName(k); len(msgs) > 0 {
			errs = append(errs, field.Invalid(path.Child("env").Key(k), k, strings.Join(msgs, "; ")))
		}
		errs = append(errs, noPlaceholders(c.Env[k], path.Child("env").Key(k))...)
	}
	errs = append(errs, noPlaceholders(c.Image, path.Child("image"))...)
	errs = append(errs, noPlaceholders(c.WorkingDir, path.Child("workingDir"))...)
	return errs
}

// noPlaceholders reports Kiln placeholders in a field where they are not replaced.
func noPlaceholders(s string, path *field.Path) field.ErrorList {
	for i := 0; ; {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			return nil
		}
		body := strings.TrimSpace(s[i+j+2:])
		if strings.HasPrefix(body, "inputs.") || strings.HasPrefix(body, "outputs.") {
			return field.ErrorList{field.Invalid(path, s, "placeholders are only replaced in command and args")}
		}
		i += j + 2
	}
}

// checkPlaceholders checks every {{inputs.…}} and {{outputs.…}} reference in s: it must be
// well formed, name a declared port, and use .path exactly for artifacts inputs and outputs.
// Other {{...}} text is Argo's and left alone.
func checkPlaceholders(s string, path *field.Path, ports map[string]port, broken map[string]bool) field.ErrorList {
	var errs field.ErrorList
	known := map[int]dsl.Placeholder{}
	for _, ph := range dsl.Placeholders(s) {
		known[ph.Start] = ph
	}
	for i := 0; ; {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			break
		}
		start := i + j
		k := strings.Index(s[start:], "}}")
		if k < 0 {
			body := strings.TrimSpace(s[start+2:])
			if strings.HasPrefix(body, "inputs.") || strings.HasPrefix(body, "outputs.") {
				errs = append(errs, field.Invalid(path, s[start:], "placeholder is not closed with }}"))
			}
			break
		}
		end := start + k + 2
		i = end
		text := s[start:end]
		ph, ok := known[start]
		if !ok {
			body := strings.TrimSpace(s[start+2 : end-2])
			if strings.HasPrefix(body, "inputs.") || strings.HasPrefix(body, "outputs.") {
				errs = append(errs, field.Invalid(path, text, "malformed placeholder: want {{inputs.NAME}}, {{inputs.NAME.path}} or {{outputs.NAME.path}}"))
			}
			continue
		}
		if broken[ph.Name] {
			continue
		}
		p, declared := ports[ph.Name]
		switch {
		case ph.Output && (!declared || !p.output):
			errs = append(errs, field.Invalid(path, text, fmt.Sprintf("no output named %q", ph.Name)))
		case ph.Output && !ph.Path:
			errs = append(errs, field.Invalid(path, text, fmt.Sprintf("outputs are only available as paths: use {{outputs.%s.path}}", ph.Name)))
		case ph.Output:
		case !declared || p.output:
			errs = append(errs, field.Invalid(path, text, fmt.Sprintf("no input named %q", ph.Name)))
		case p.artifact && !ph.Path:
			errs = append(errs, field.Invalid(path, text, fmt.Sprintf("input %q is an artifact: use {{inputs.%s.path}}", ph.Name, ph.Name)))
		case !p.artifact && ph.Path:
			errs = append(errs, field.Invalid(path, text, fmt.Sprintf("input %q is a parameter: use {{inputs.%s}}", ph.Name, ph.Name)))
		}
	}
	return errs
}

// canonicalDefault checks that s encodes a value of parameter type t and returns its canonical
// encoding: decimal integers, the shortest float that round-trips, true/false, compact JSON.
func canonicalDefault(s string, t ir.Type) (string, error) {
	switch t.Kind {
	case ir.KindString:
		return s, nil
	case ir.KindInt:
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			return strconv.FormatInt(n, 10), nil
		}
		// The runtime accepts integral floats such as 3.0, which JSON producers emit.
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return "", errors.New("must be an integer")
		}
		return strconv.FormatInt(int64(f), 10), nil
	case ir.KindFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return "", errors.New("must be a finite number")
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case ir.KindBool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return "", errors.New("must be true or false")
		}
		return strconv.FormatBool(b), nil
	case ir.KindList, ir.KindMap, ir.KindStruct:
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return "", fmt.Errorf("must be JSON for a %s: %v", t, err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("must be one JSON value for a %s: text follows it", t)
		}
		if err := checkJSON(v, t); err != nil {
			return "", err
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", fmt.Errorf("encode: %v", err)
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	}
	return "", fmt.Errorf("a %s cannot have a default", t)
}

// checkJSON checks a decoded JSON value (numbers as json.Number) against t.
func checkJSON(v any, t ir.Type) error {
	switch t.Kind {
	case ir.KindString:
		if _, ok := v.(string); !ok {
			return errors.New("must be a string")
		}
	case ir.KindInt:
		n, ok := v.(json.Number)
		if !ok {
			return errors.New("must be an integer")
		}
		if _, err := n.Int64(); err != nil {
			return errors.New("must be an integer")
		}
	case ir.KindFloat:
		n, ok := v.(json.Number)
		if !ok {
			return errors.New("must be a number")
		}
		if _, err := n.Float64(); err != nil {
			return errors.New("must be a finite number")
		}
	case ir.KindBool:
		if _, ok := v.(bool); !ok {
			return errors.New("must be true or false")
		}
	case ir.KindList:
		items, ok := v.([]any)
		if !ok {
			return errors.New("must be a JSON list")
		}
		if t.Elem != nil {
			for i, x := range items {
				if err := checkJSON(x, *t.Elem); err != nil {
					return fmt.Errorf("item %d: %w", i, err)
				}
			}
		}
	case ir.KindMap:
		m, ok := v.(map[string]any)
		if !ok {
			return errors.New("must be a JSON object")
		}
		if t.Elem != nil {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if err := checkJSON(m[k], *t.Elem); err != nil {
					return fmt.Errorf("key %q: %w", k, err)
				}
			}
		}
	case ir.KindStruct:
		// Any JSON value: the component decides what it means.
	default:
		return fmt.Errorf("a %s cannot be a parameter", t)
	}
	return nil
}
