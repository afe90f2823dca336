package componentspec_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	apiv1 "k8s.io/api/core/v1"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/componentspec"
	"github.com/kilnml/kiln/dsl"
)

const trainSpec = `apiVersion: kiln.dev/v1
kind: Component
name: train-sklearn
description: Trains a scikit-learn model.
inputs:
  - {name: data, type: Dataset, description: training data}
  - {name: lr, type: float, default: 0.1}
  - {name: layers, type: list<int>, default: [64, 32]}
  - {name: tags, type: list<string>, optional: true}
outputs:
  - {name: model, type: Model}
  - {name: accuracy, type: float}
implementation:
  container:
    image: python:3.12-slim
    command: [python3, /app/train.py]
    args:
      - --data
      - {inputPath: data}
      - --lr={{inputs.lr}}
      - --layers
      - "{{inputs.layers}}"
      - --tags
      - "{{inputs.tags}}"
      - --model
      - "{{outputs.model.path}}"
      - --accuracy
      - "{{outputs.accuracy.path}}"
    workingDir: /app
    env: {PYTHONUNBUFFERED: "1"}
`

type prepOut struct {
	Data dsl.Value[dsl.Dataset]
}

// prep is a typed container component whose output feeds the loaded one.
var prep = dsl.Container[struct{}, prepOut]("prep", dsl.ContainerSpec{
	Image:   "busybox:1.36",
	Command: []string{"sh", "-c", "seq 100 > \"$0\"", "{{outputs.data.path}}"},
})

func TestLoadedComponentCompiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "train.yaml")
	if err := os.WriteFile(path, []byte(trainSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := componentspec.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	train, err := spec.Component(dsl.Retries(2))
	if err != nil {
		t.Fatal(err)
	}
	p := dsl.NewPipeline("train-pipeline", func(s dsl.Scope, _ struct{}) {
		data := prep.Task(s, struct{}{})
		tr := train.Task(s, dsl.Args{"data": data.Out.Data, "lr": dsl.Literal(0.05)})
		// The loaded component's outputs feed typed inputs through dsl.As.
		report := dsl.Container[struct {
			Acc dsl.Value[float64]
		}, struct{}]("report", dsl.ContainerSpec{Image: "busybox:1.36", Command: []string{"echo", "{{inputs.acc}}"}})
		report.Task(s, struct{ Acc dsl.Value[float64] }{Acc: dsl.As[float64](tr.Output("accuracy"))})
	})
	res, err := compiler.Compile(p, compiler.Options{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if err := compiler.ValidateArgo(context.Background(), res); err != nil {
		t.Fatalf("ValidateArgo: %v", err)
	}

	var tmpl *wfv1.Template
	for i := range res.Workflow.Spec.Templates {
		if res.Workflow.Spec.Templates[i].Name == "train-sklearn" {
			tmpl = &res.Workflow.Spec.Templates[i]
		}
	}
	if tmpl == nil {
		t.Fatal("no template named train-sklearn")
	}
	wantCtr := &apiv1.Container{
		Image:   "python:3.12-slim",
		Command: []string{"python3", "/app/train.py"},
		Args: []string{
			"--data", compiler.InputPath("data"),
			"--lr={{inputs.parameters.lr}}",
			"--layers", "{{inputs.parameters.layers}}",
			"--tags", "{{inputs.parameters.tags}}",
			"--model", compiler.OutputPath("model"),
			"--accuracy", compiler.OutputPath("accuracy"),
		},
		WorkingDir: "/app",
		Env:        []apiv1.EnvVar{{Name: "PYTHONUNBUFFERED", Value: "1"}},
	}
	if diff := cmp.Diff(wantCtr, tmpl.Container); diff != "" {
		t.Errorf("container mismatch (-want +got):\n%s", diff)
	}
	params := map[string]string{}
	for _, prm := range tmpl.Inputs.Parameters {
		v := "<none>"
		if prm.Default != nil {
			v = prm.Default.String()
		}
		params[prm.Name] = v
	}
	wantParams := map[string]string{"lr": "0.1", "layers": "[64,32]", "tags": ""}
	if diff := cmp.Diff(wantParams, params); diff != "" {
		t.Errorf("template input parameters (name → default) mismatch (-want +got):\n%s", diff)
	}
	if tmpl.RetryStrategy == nil || tmpl.RetryStrategy.Limit.IntValue() != 2 {
		t.Errorf("retry strategy = %+v, want limit 2 from the component option", tmpl.RetryStrategy)
	}
}

func TestLoadedComponentWiringErrors(t *testing.T) {
	spec, err := componentspec.Parse([]byte(trainSpec), "train.yaml")
	if err != nil {
		t.Fatal(err)
	}
	train, err := spec.Component()
	if err != nil {
		t.Fatal(err)
	}
	p := dsl.NewPipeline("bad-wiring", func(s dsl.Scope, _ struct{}) {
		train.Task(s, dsl.Args{"lr": dsl.Literal("fast"), "epochs": dsl.Literal(3)})
	})
	_, err = compiler.Compile(p, compiler.Options{})
	var cerr *compiler.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Compile error = %v, want *compiler.Error", err)
	}
	var got []string
	for _, e := range cerr.Errs {
		got = append(got, e.Error())
	}
	want := []string{
		`pipeline "bad-wiring" › task "train-sklearn" › input "epochs": Invalid value: component has no such input`,
		`pipeline "bad-wiring" › task "train-sklearn" › input "data": Required value: no value given and the input has no default`,
		`pipeline "bad-wiring" › task "train-sklearn" › input "lr": Invalid value: type mismatch: got string, want float`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("compile errors mismatch (-want +got):\n%s", diff)
	}
}
