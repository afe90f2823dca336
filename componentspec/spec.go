package componentspec

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/dsl"
)

// APIVersion and Kind are the values every spec file declares.
const (
	APIVersion = "kiln.dev/v1"
	Kind       = "Component"
)

// Spec is a component spec as read from a file, checked and normalized: defaults are in their
// encoded string form and KFP-style structured placeholders are rewritten as {{...}} strings.
// Marshalled as YAML (for example with go.yaml.in/yaml/v3) it is again a valid spec file.
type Spec struct {
	APIVersion  string `yaml:"apiVersion" json:"apiVersion"`
	Kind        string `yaml:"kind" json:"kind"`
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Inputs are the component's parameters and input artifacts, in declaration order.
	Inputs []Input `yaml:"inputs,omitempty" json:"inputs,omitempty"`
	// Outputs are the parameters and artifacts the container writes, in declaration order.
	Outputs        []Output       `yaml:"outputs,omitempty" json:"outputs,omitempty"`
	Implementation Implementation `yaml:"implementation" json:"implementation"`

	// Source is where the spec was read from, as given to Parse or Load (with passwords and
	// secret query parameters redacted). It is not part of the file and appears in error
	// messages.
	Source string `yaml:"-" json:"-"`
}

// Input declares an input port.
type Input struct {
	Name        string `yaml:"name" json:"name"`
	Type        string `yaml:"type" json:"type"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Default is the encoded default value: plain text for scalars, JSON for lists, maps and
	// structs. Nil means no default.
	Default *string `yaml:"default,omitempty" json:"default,omitempty"`
	// Optional inputs may be left unset; {{inputs.NAME}} is then empty.
	Optional bool `yaml:"optional,omitempty" json:"optional,omitempty"`
}

// Output declares an output port. Outputs have no defaults and are never optional.
type Output struct {
	Name        string `yaml:"name" json:"name"`
	Type        string `yaml:"type" json:"type"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// Implementation says how the component runs. Container is the only implementation.
type Implementation struct {
	Container *Container `yaml:"container" json:"container"`
}

// Container is the container that runs the component. Command and Args may contain the
// placeholders {{inputs.NAME}}, {{inputs.NAME.path}} and {{outputs.NAME.path}}.
type Container struct {
	Image      string            `yaml:"image" json:"image"`
	Command    []string          `yaml:"command,omitempty" json:"command,omitempty"`
	Args       []string          `yaml:"args,omitempty" json:"args,omitempty"`
	WorkingDir string            `yaml:"workingDir,omitempty" json:"workingDir,omitempty"`
	Env        map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
}

// Error lists every problem found in a spec, each with its field path.
type Error struct {
	// Source is where the spec came from.
	Source string
	Errs   field.ErrorList
}

// Error returns the problems as text: on one line when there is one, otherwise one per line.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "component spec %s: ", sourceName(e.Source))
	if len(e.Errs) == 1 {
		b.WriteString(e.Errs[0].Error())
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems:", len(e.Errs))
	for _, x := range e.Errs {
		b.WriteString("\n  ")
		b.WriteString(x.Error())
	}
	return b.String()
}

func sourceName(src string) string {
	if src == "" {
		return "(unnamed)"
	}
	return fmt.Sprintf("%q", src)
}

// Component checks the spec and defines the component it describes. opts are component options
// (resources, retries, env, ...) applied to every task of the component, after the spec's own
// env variables (sorted by name).
func (s *Spec) Component(opts ...dsl.Option) (*dsl.UntypedComponent, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, &Error{Source: s.Source, Errs: errs}
	}
	inputs := make([]dsl.PortSpec, len(s.Inputs))
	for i, in := range s.Inputs {
		inputs[i] = dsl.PortSpec{Name: in.Name, Description: in.Description, Type: in.Type, Optional: in.Optional}
		if in.Default != nil {
			// Validate has checked the default; store its canonical form.
			d, _ := canonicalDefault(*in.Default, mustParseType(in.Type))
			inputs[i].Default = &d
		}
	}
	outputs := make([]dsl.PortSpec, len(s.Outputs))
	for i, out := range s.Outputs {
		outputs[i] = dsl.PortSpec{Name: out.Name, Description: out.Description, Type: out.Type}
	}
	c := s.Implementation.Container
	spec := dsl.ContainerSpec{
		Image:      c.Image,
		Command:    append([]string(nil), c.Command...),
		Args:       append([]string(nil), c.Args...),
		WorkingDir: c.WorkingDir,
	}
	names := make([]string, 0, len(c.Env))
	for k := range c.Env {
		names = append(names, k)
	}
	sort.Strings(names) // map order is random; compiled output must not be
	all := make([]dsl.Option, 0, len(names)+len(opts))
	for _, k := range names {
		all = append(all, dsl.Env(k, c.Env[k]))
	}
	all = append(all, opts...)
	comp, err := dsl.NewUntyped(s.Name, s.Description, inputs, outputs, spec, all...)
	if err != nil {
		return nil, fmt.Errorf("component spec %s: %w", sourceName(s.Source), err)
	}
	return comp, nil
}
