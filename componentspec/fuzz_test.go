package componentspec_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/componentspec"
	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/internal/ir"
)

// FuzzParse checks that Parse never panics and that every spec it accepts is a component that
// compiles, passes Argo's validation, and survives a YAML round trip unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(trainSpec))
	f.Add([]byte(`apiVersion: kiln.dev/v1
kind: Component
name: c
inputs:
  - {name: a, type: Artifact, optional: true}
  - {name: m, type: "map<string,list<float>>", default: {x: [1.5]}}
  - {name: s, type: struct, default: '{"k": null}'}
  - {name: b, type: bool}
outputs:
  - {name: o, type: Metrics}
  - {name: p, type: list}
implementation:
  container:
    image: busybox
    args: [echo, "{{inputs.b}}-{{inputs.m}}", {outputPath: o}, "{{workflow.name}}"]
    env: {X: "1"}
`))
	f.Add([]byte("apiVersion: kiln.dev/v1\nkind: Component\nname: x\nimplementation: {container: {image: i, command: [c]}}\n"))
	f.Add([]byte("apiVersion: kiln.dev/v1\nkind: Component\nname: e\ninputs: []\noutputs: []\n" +
		"implementation: {container: {image: i, command: [], args: [\"{{ workflow.name }}\", '#: {{x}}'], env: {}, workingDir: ''}}\n" +
		"---\n"))
	f.Add([]byte("inputs: [{name: a, type: 'list<'}]\n"))
	f.Add([]byte("name: &a x\nkind: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := componentspec.Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		comp, err := spec.Component()
		if err != nil {
			t.Fatalf("Parse accepted a spec that Component rejects: %v\n%s", err, data)
		}
		compileWithAllInputs(t, spec, comp)

		out, err := yaml.Marshal(spec)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := componentspec.Parse(out, "fuzz.yaml")
		if err != nil {
			t.Fatalf("re-parse of the normalized spec failed: %v\n%s", err, out)
		}
		if diff := cmp.Diff(spec, again); diff != "" {
			t.Fatalf("round trip changed the spec (-first +second):\n%s", diff)
		}
	})
}

// compileWithAllInputs compiles a pipeline calling comp with a value for every required input
// (artifacts from a producer task) and checks the result with Argo's validation.
func compileWithAllInputs(t *testing.T, spec *componentspec.Spec, comp *dsl.UntypedComponent) {
	t.Helper()
	producerName, pipelineName := "fuzz-producer", "fuzz-pipeline"
	if spec.Name == producerName || spec.Name == pipelineName {
		producerName, pipelineName = "fuzz-producer-2", "fuzz-pipeline-2"
	}
	producer, err := dsl.NewUntyped(producerName, "", nil, []dsl.PortSpec{
		{Name: "dataset", Type: "Dataset"}, {Name: "model", Type: "Model"},
		{Name: "metrics", Type: "Metrics"}, {Name: "artifact", Type: "Artifact"},
	}, dsl.ContainerSpec{Image: "busybox", Command: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	p := dsl.NewPipeline(pipelineName, func(s dsl.Scope, _ struct{}) {
		var prod *dsl.UntypedTask
		args := dsl.Args{}
		for _, in := range spec.Inputs {
			if in.Default != nil || in.Optional {
				continue
			}
			typ, err := dsl.ParseType(in.Type)
			if err != nil {
				t.Fatalf("input %q: %v", in.Name, err)
			}
			if typ.IsArtifact() {
				if prod == nil {
					prod = producer.Task(s, nil)
				}
				args[in.Name] = prod.Output(strings.ToLower(typ.Artifact))
				continue
			}
			args[in.Name] = dsl.Literal(sampleValue(typ).Interface())
		}
		comp.Task(s, args)
	})
	res, err := compiler.Compile(p, compiler.Options{})
	if err != nil {
		t.Fatalf("Compile: %v\nspec: %+v", err, spec)
	}
	if err := compiler.ValidateArgo(context.Background(), res); err != nil {
		t.Fatalf("ValidateArgo: %v\nspec: %+v", err, spec)
	}
}

// sampleValue returns a Go value of parameter type t for dsl.Literal.
func sampleValue(t ir.Type) reflect.Value {
	switch t.Kind {
	case ir.KindString:
		return reflect.ValueOf("x")
	case ir.KindInt:
		return reflect.ValueOf(1)
	case ir.KindFloat:
		return reflect.ValueOf(0.5)
	case ir.KindBool:
		return reflect.ValueOf(true)
	case ir.KindList:
		elem := reflect.ValueOf("x")
		if t.Elem != nil {
			elem = sampleValue(*t.Elem)
		}
		s := reflect.MakeSlice(reflect.SliceOf(elem.Type()), 0, 1)
		return reflect.Append(s, elem)
	case ir.KindMap:
		elem := reflect.ValueOf("x")
		if t.Elem != nil {
			elem = sampleValue(*t.Elem)
		}
		m := reflect.MakeMap(reflect.MapOf(reflect.TypeFor[string](), elem.Type()))
		m.SetMapIndex(reflect.ValueOf("k"), elem)
		return m
	}
	return reflect.ValueOf(struct{ A int }{A: 1})
}
