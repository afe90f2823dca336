package runs

import (
	"encoding/json"
	"fmt"
	"github.com/kilnml/kiln/compiler"
	"slices"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Parameter types inferred from a pipeline input's default value. Compiled workflows carry no
// declared types, so the default is the evidence: the compiler writes numbers, booleans and
// JSON lists or objects in their canonical text form.
const (
	TypeString = "string"
	TypeNumber = "number"
	TypeBool   = "boolean"
	TypeList   = "list"
	TypeObject = "object"
)

// ParamSpec describes one input parameter of a pipeline (spec.arguments.parameters).
type ParamSpec struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Default     *string  `json:"default,omitempty"`
	Required    bool     `json:"required"`
	Enum        []string `json:"enum,omitempty"`
	Description string   `json:"description,omitempty"`
}

// Schema returns the input parameters of wf with their inferred types.
func Schema(wf *wfv1.Workflow) []ParamSpec {
	// Pipelines compiled by Kiln declare their inputs' types; others are inferred from defaults.
	var declared map[string]string
	if a := wf.Annotations[compiler.AnnotationInputTypes]; a != "" {
		_ = json.Unmarshal([]byte(a), &declared) // a malformed annotation falls back to inference
	}
	var out []ParamSpec
	for _, p := range wf.Spec.Arguments.Parameters {
		ps := ParamSpec{Name: p.Name, Type: TypeString}
		if p.Description != nil {
			ps.Description = p.Description.String()
		}
		var def *wfv1.AnyString
		switch {
		case p.Value != nil:
			def = p.Value
		case p.Default != nil:
			def = p.Default
		}
		if def != nil {
			s := def.String()
			ps.Default = &s
			ps.Type = inferType(s)
		} else if p.ValueFrom == nil {
			ps.Required = true
		}
		if t, ok := declared[p.Name]; ok {
			ps.Type = declaredType(t)
		}
		for _, e := range p.Enum {
			ps.Enum = append(ps.Enum, e.String())
		}
		if len(ps.Enum) > 0 {
			ps.Type = TypeString
		}
		out = append(out, ps)
	}
	return out
}

// SchemaJSON returns Schema(wf) encoded for store.PipelineVersion.ParametersSchema.
func SchemaJSON(wf *wfv1.Workflow) json.RawMessage {
	b, _ := json.Marshal(Schema(wf))
	return b
}

// declaredType maps a Kiln type ("int", "list<float>", "map<string,int>", "struct …") to a
// parameter type.
func declaredType(t string) string {
	switch {
	case t == "int" || t == "float":
		return TypeNumber
	case t == "bool":
		return TypeBool
	case strings.HasPrefix(t, "list"):
		return TypeList
	case strings.HasPrefix(t, "map") || strings.HasPrefix(t, "struct"):
		return TypeObject
	}
	return TypeString
}

func inferType(s string) string {
	t := strings.TrimSpace(s)
	switch {
	case t == "true" || t == "false":
		return TypeBool
	case strings.HasPrefix(t, "[") && json.Valid([]byte(t)):
		return TypeList
	case strings.HasPrefix(t, "{") && json.Valid([]byte(t)):
		return TypeObject
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil && t != "" {
		return TypeNumber
	}
	return TypeString
}

// CheckParameters checks values against schema: every name must be declared, required inputs
// must be given, and each value must have its input's type. Errors name the path under p.
func CheckParameters(p *field.Path, schema []ParamSpec, values map[string]string) field.ErrorList {
	var errs field.ErrorList
	byName := map[string]ParamSpec{}
	for _, s := range schema {
		byName[s.Name] = s
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := values[k]
		s, ok := byName[k]
		if !ok {
			errs = append(errs, field.NotSupported(p.Key(k), k, declared(schema)))
			continue
		}
		if err := checkValue(s, v); err != "" {
			errs = append(errs, field.Invalid(p.Key(k), v, err))
		}
	}
	for _, s := range schema {
		if _, ok := values[s.Name]; s.Required && !ok {
			errs = append(errs, field.Required(p.Key(s.Name), "the pipeline input has no default"))
		}
	}
	return errs
}

func declared(schema []ParamSpec) []string {
	out := make([]string, 0, len(schema))
	for _, s := range schema {
		out = append(out, s.Name)
	}
	return out
}

func checkValue(s ParamSpec, v string) string {
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, v) {
		return fmt.Sprintf("must be one of %q", s.Enum)
	}
	switch s.Type {
	case TypeNumber:
		if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
			return "must be a number"
		}
	case TypeBool:
		if v != "true" && v != "false" {
			return `must be "true" or "false"`
		}
	case TypeList:
		var l []any
		if json.Unmarshal([]byte(v), &l) != nil {
			return "must be a JSON list"
		}
	case TypeObject:
		var o map[string]any
		if json.Unmarshal([]byte(v), &o) != nil {
			return "must be a JSON object"
		}
	}
	return ""
}
