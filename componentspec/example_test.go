package componentspec_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/componentspec"
	"github.com/kilnml/kiln/dsl"
)

// Load a component from a spec file and call it in a pipeline. The source may as well be
// "git::https://github.com/org/components.git//train.yaml?ref=v1" or an https URL.
func ExampleLoad() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "train.yaml")
	if err := os.WriteFile(src, []byte(trainSpec), 0o644); err != nil {
		log.Fatal(err)
	}

	spec, err := componentspec.Load(context.Background(), src)
	if err != nil {
		log.Fatal(err)
	}
	train, err := spec.Component(dsl.Memory("1Gi", "2Gi"))
	if err != nil {
		log.Fatal(err)
	}

	p := dsl.NewPipeline("example", func(s dsl.Scope, _ struct{}) {
		data := prep.Task(s, struct{}{}) // a typed component producing a Dataset
		t := train.Task(s, dsl.Args{
			"data": data.Out.Data,
			"lr":   dsl.Literal(0.01),
		})
		fmt.Println("task:", t.Name())
		_ = t.Output("model") // an untyped reference; dsl.As[dsl.Model] makes it typed
	})
	res, err := compiler.Compile(p, compiler.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, tmpl := range res.Workflow.Spec.Templates {
		fmt.Println("template:", tmpl.Name)
	}
	// Output:
	// task: train-sklearn
	// template: example
	// template: prep
	// template: train-sklearn
}
