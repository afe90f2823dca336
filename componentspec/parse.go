package componentspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/internal/ir"
)

// The raw types mirror the file layout. Defaults and arguments stay YAML nodes until their
// declared types are known; the other fields decode directly. Their names appear, rewritten by
// yamlTypeNames, in errors about unknown fields.
type rawSpec struct {
	APIVersion     string      `yaml:"apiVersion"`
	Kind           string      `yaml:"kind"`
	Name           string      `yaml:"name"`
	Description    string      `yaml:"description"`
	Inputs         []rawInput  `yaml:"inputs"`
	Outputs        []rawOutput `yaml:"outputs"`
	Implementation rawImpl     `yaml:"implementation"`
}

type rawInput struct {
	Name        string    `yaml:"name"`
	Type        string    `yaml:"type"`
	Description string    `yaml:"description"`
	Default     yaml.Node `yaml:"default"`
	Optional    bool      `yaml:"optional"`
}

type rawOutput struct {
	Name        string `yaml:"name"`
	Type        string `yaml:"type"`
	Description string `yaml:"description"`
}

type rawImpl struct {
	Container *rawContainer `yaml:"container"`
}

type rawContainer struct {
	Image      string            `yaml:"image"`
	Command    []yaml.Node       `yaml:"command"`
	Args       []yaml.Node       `yaml:"args"`
	WorkingDir string            `yaml:"workingDir"`
	Env        map[string]string `yaml:"env"`
}

var yamlTypeNames = regexp.MustCompile(`(?:\[\])?componentspec\.raw(\w+)`)

// friendlyYAMLError rewrites the Go type names in a YAML decoding error as the spec's sections.
func friendlyYAMLError(err error) error {
	names := map[string]string{"Spec": "component spec", "Input": "input", "Output": "output", "Impl": "implementation", "Container": "container"}
	msg := yamlTypeNames.ReplaceAllStringFunc(err.Error(), func(m string) string {
		sub := yamlTypeNames.FindStringSubmatch(m)
		if n, ok := names[sub[1]]; ok {
			if m[0] == '[' {
				return "list of " + n + "s"
			}
			return n
		}
		return m
	})
	return errors.New(msg)
}

// Parse reads a spec from YAML. source names where data came from, for error messages.
//
// Unknown fields, duplicate keys and more than one YAML document are errors. A spec that
// decodes is then checked completely: the returned *Error lists every problem with its field
// path.
func Parse(data []byte, source string) (*Spec, error) {
	var raw rawSpec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("parse component spec %s: the file is empty", sourceName(source))
		}
		return nil, fmt.Errorf("parse component spec %s: %w", sourceName(source), friendlyYAMLError(err))
	}
	for {
		// Empty documents (a trailing "---") are harmless; a second spec is a mistake.
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || !emptyDocument(&extra) {
			return nil, fmt.Errorf("parse component spec %s: more than one YAML document", sourceName(source))
		}
	}
	s, errs := convert(&raw)
	s.Source = source
	errs = append(errs, s.Validate()...)
	if len(errs) > 0 {
		sortByPosition(errs)
		return nil, &Error{Source: source, Errs: errs}
	}
	return s, nil
}

func emptyDocument(n *yaml.Node) bool {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// convert turns the raw form into a Spec, encoding defaults and rewriting structured
// placeholders. It reports the problems only it can see (the YAML shape of those nodes).
func convert(raw *rawSpec) (*Spec, field.ErrorList) {
	var errs field.ErrorList
	s := &Spec{
		APIVersion:  raw.APIVersion,
		Kind:        raw.Kind,
		Name:        raw.Name,
		Description: raw.Description,
	}
	for i, in := range raw.Inputs {
		out := Input{Name: in.Name, Type: in.Type, Description: in.Description, Optional: in.Optional}
		if in.Default.Kind != 0 {
			d, err := encodeDefault(&in.Default, in.Type, field.NewPath("inputs").Index(i).Child("default"))
			if err != nil {
				errs = append(errs, err)
			} else {
				out.Default = &d
			}
		}
		s.Inputs = append(s.Inputs, out)
	}
	for _, o := range raw.Outputs {
		s.Outputs = append(s.Outputs, Output(o))
	}
	if c := raw.Implementation.Container; c != nil {
		path := field.NewPath("implementation", "container")
		sc := &Container{Image: c.Image, WorkingDir: c.WorkingDir}
		if len(c.Env) > 0 {
			sc.Env = c.Env
		}
		var e field.ErrorList
		sc.Command, e = convertArgs(c.Command, path.Child("command"))
		errs = append(errs, e...)
		sc.Args, e = convertArgs(c.Args, path.Child("args"))
		errs = append(errs, e...)
		s.Implementation.Container = sc
	}
	return s, errs
}

// encodeDefault converts a default written as any YAML value into its encoded string form:
// scalars as written, sequences and mappings as JSON. The result is canonical for the type when
// the type is known; Validate reports unknown types.
func encodeDefault(n *yaml.Node, typ string, path *field.Path) (string, *field.Error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	var text string
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return "", field.Invalid(path, "null", "must not be null: leave default out for an input without one")
	case n.Kind == yaml.ScalarNode:
		text = n.Value
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return "", field.Invalid(path, nil, err.Error())
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", field.Invalid(path, nil, "cannot be written as JSON: "+err.Error())
		}
		text = string(b)
	}
	t, err := dsl.ParseType(typ)
	if err != nil {
		return text, nil // Validate reports the type
	}
	if t.IsArtifact() {
		return text, nil // Validate reports the default
	}
	if n.Kind != yaml.ScalarNode && !isCollection(t) {
		return "", field.Invalid(path, text, fmt.Sprintf("a YAML %s cannot be the default of a %s input", nodeKind(n), t))
	}
	c, cerr := canonicalDefault(text, t)
	if cerr != nil {
		return "", field.Invalid(path, text, cerr.Error())
	}
	return c, nil
}

// describeNode names the YAML shape of n for messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.MappingNode:
		return "a mapping"
	}
	return n.Tag
}

func nodeKind(n *yaml.Node) string {
	if n.Kind == yaml.SequenceNode {
		return "sequence"
	}
	return "mapping"
}

// convertArgs turns command or args entries into strings. An entry is a YAML scalar or, as in
// Kubeflow Pipelines v1 component files, a one-key mapping {inputValue: NAME},
// {inputPath: NAME} or {outputPath: NAME}.
func convertArgs(nodes []yaml.Node, path *field.Path) ([]string, field.ErrorList) {
	if len(nodes) == 0 {
		return nil, nil
	}
	var errs field.ErrorList
	out := make([]string, 0, len(nodes))
	for i := range nodes {
		n, p := &nodes[i], path.Index(i)
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch {
		case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
			errs = append(errs, field.Invalid(p, "null", "must not be null"))
		case n.Kind == yaml.ScalarNode:
			out = append(out, n.Value)
			continue
		case n.Kind == yaml.MappingNode && len(n.Content) == 2:
			key, val := n.Content[0].Value, n.Content[1]
			kp := p.Child(key)
			format, ok := map[string]string{
				"inputValue": "{{inputs.%s}}",
				"inputPath":  "{{inputs.%s.path}}",
				"outputPath": "{{outputs.%s.path}}",
			}[key]
			switch {
			case !ok:
				errs = append(errs, field.NotSupported(kp, key, []string{"inputValue", "inputPath", "outputPath"}))
			case val.Kind != yaml.ScalarNode || !portNameRE.MatchString(val.Value):
				errs = append(errs, field.Invalid(kp, val.Value, "must be a port name matching "+portNameRE.String()))
			default:
				out = append(out, fmt.Sprintf(format, val.Value))
				continue
			}
		default:
			errs = append(errs, field.Invalid(p, describeNode(n), "must be a string or a placeholder {inputValue: NAME}, {inputPath: NAME} or {outputPath: NAME}"))
		}
		out = append(out, "") // keep indexes aligned with the file for later checks
	}
	return out, errs
}

// isCollection reports whether defaults of type t are written as JSON.
func isCollection(t ir.Type) bool {
	return t.Kind == ir.KindList || t.Kind == ir.KindMap || t.Kind == ir.KindStruct
}

// fieldRank orders the fields of a spec as they are documented, so that errors can be listed in
// the order of the file.
var fieldRank = map[string]int{
	"apiVersion": 1, "kind": 2, "name": 3, "description": 4, "type": 5, "default": 6, "optional": 7,
	"inputs": 8, "outputs": 9, "implementation": 10, "container": 11,
	"image": 12, "command": 13, "args": 14, "workingDir": 15, "env": 16,
}

// sortByPosition orders errors by their field paths in document order: parsing and validation
// find problems in separate passes, but users read them top to bottom.
func sortByPosition(errs field.ErrorList) {
	key := func(f string) []int {
		var k []int
		for _, tok := range strings.FieldsFunc(f, func(r rune) bool { return r == '.' || r == '[' || r == ']' }) {
			if n, err := strconv.Atoi(tok); err == nil {
				k = append(k, n)
			} else if r, ok := fieldRank[tok]; ok {
				k = append(k, r)
			} else {
				k = append(k, math.MaxInt) // env keys and the like: keep their order
			}
		}
		return k
	}
	slices.SortStableFunc(errs, func(a, b *field.Error) int { return slices.Compare(key(a.Field), key(b.Field)) })
}
