package dsl_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/dsl"
)

type TrainIn struct {
	Data dsl.Value[dsl.Dataset] `description:"training rows"`
	LR   dsl.Value[float64]     `kiln:"lr" default:"0.1" description:"learning rate"`
}

type TrainOut struct {
	Model    dsl.Value[dsl.Model]
	Accuracy dsl.Value[float64]
}

// A Go-function component: inputs and outputs are structs of dsl.Value fields.
func ExampleFunc() {
	train := dsl.Func("train", func(ctx context.Context, in TrainIn) (TrainOut, error) {
		// in.Data.Get().Path is a local file; write the model anywhere and return its path.
		return TrainOut{Model: dsl.Of(dsl.Model{Path: "/tmp/model.json"}), Accuracy: dsl.Of(0.93)}, nil
	}, dsl.Retries(2))
	fmt.Println(train.Name(), train.Err())
	// Output: train <nil>
}

type EchoIn struct {
	Text dsl.Value[string] `default:"hello"`
}

type EchoOut struct {
	Said dsl.Value[string]
}

// A container component declares the same typed interface for any image; placeholders name
// inputs and output paths.
func ExampleContainer() {
	echo := dsl.Container[EchoIn, EchoOut]("echo", dsl.ContainerSpec{
		Image:   "busybox:1.36",
		Command: []string{"sh", "-c", "echo {{inputs.text}} | tee {{outputs.said.path}}"},
	})
	p := dsl.NewPipeline("echo-twice", func(s dsl.Scope, _ struct{}) {
		first := echo.Task(s, EchoIn{Text: dsl.Of("ping")})
		echo.Task(s, EchoIn{Text: first.Out.Said})
	})
	res, err := compiler.Compile(p, compiler.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range res.Workflow.Spec.Templates {
		if t.Container != nil {
			fmt.Println(strings.Join(t.Container.Command, " "))
		}
	}
	// Output: sh -c echo {{inputs.parameters.text}} | tee /tmp/kiln-out-said
}

type SquareIn struct {
	X dsl.Value[float64]
}

type SquareOut struct {
	Y dsl.Value[float64]
}

type SumIn struct {
	Values dsl.Value[[]float64]
}

type SumOut struct {
	Total dsl.Value[float64]
}

var (
	square = dsl.Func("square", func(ctx context.Context, in SquareIn) (SquareOut, error) {
		return SquareOut{Y: dsl.Of(in.X.Get() * in.X.Get())}, nil
	})
	sum = dsl.Func("sum", func(ctx context.Context, in SumIn) (SumOut, error) {
		t := 0.0
		for _, v := range in.Values.Get() {
			t += v
		}
		return SumOut{Total: dsl.Of(t)}, nil
	})
	announce = dsl.Func("announce", func(ctx context.Context, in EchoIn) (struct{}, error) {
		fmt.Println(in.Text.Get())
		return struct{}{}, nil
	})
)

type Params struct {
	Limit dsl.Value[float64] `default:"10"`
}

// A pipeline with a parallel-for, a fan-in and a CEL condition.
func ExampleNewPipeline() {
	p := dsl.NewPipeline("squares", func(s dsl.Scope, in Params) {
		var y dsl.Value[float64]
		loop := dsl.ParallelFor(s, dsl.List(1.0, 2.0, 3.0), func(s dsl.Scope, x dsl.Value[float64]) {
			y = square.Task(s, SquareIn{X: x}).Out.Y
		})
		total := sum.Task(s, SumIn{Values: dsl.Collect(loop, y)})
		dsl.If(s, dsl.When("total > limit", dsl.Bind("total", total.Out.Total), dsl.Bind("limit", in.Limit)), func(s dsl.Scope) {
			announce.Task(s, EchoIn{Text: dsl.Of("big")})
		})
	}, dsl.Image("example.com/squares:v1"))
	res, err := compiler.Compile(p, compiler.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range res.Workflow.Spec.Templates[0].DAG.Tasks {
		fmt.Printf("%s depends=%q when=%q\n", t.Name, t.Depends, t.When)
	}
	// Output:
	// square depends="" when=""
	// sum depends="square" when=""
	// announce depends="sum" when="({{tasks.sum.outputs.parameters.total}} > {{workflow.parameters.limit}})"
}

// Mistakes the Go compiler cannot see are all reported when the pipeline is compiled, each with
// its path.
func ExampleNewPipeline_errors() {
	p := dsl.NewPipeline("broken", func(s dsl.Scope, _ struct{}) {
		square.Task(s, SquareIn{}) // X is required
		announce.Task(s, EchoIn{Text: dsl.RunStatus()})
	}, dsl.Image("example.com/squares:v1"))
	_, err := compiler.Compile(p, compiler.Options{})
	fmt.Println(err)
	// Output:
	// pipeline "broken" has 2 problems:
	//   pipeline "broken" › task "square" › input "x": Required value: no value given and the input has no default
	//   pipeline "broken" › task "announce" › input "text": Forbidden: the run's status is only known in an exit handler (dsl.OnExit)
}

type TrainEvalIn struct {
	X dsl.Value[float64]
}

type TrainEvalOut struct {
	Y dsl.Value[float64]
}

// A nested pipeline is a component; the compiler emits one DAG template for it.
func ExampleNewSubPipeline() {
	twice := dsl.NewSubPipeline("square-twice", func(s dsl.Scope, in TrainEvalIn) TrainEvalOut {
		a := square.Task(s, SquareIn{X: in.X})
		b := square.Task(s, SquareIn{X: a.Out.Y})
		return TrainEvalOut{Y: b.Out.Y}
	})
	p := dsl.NewPipeline("fourth-power", func(s dsl.Scope, _ struct{}) {
		twice.Task(s, TrainEvalIn{X: dsl.Of(3.0)})
	}, dsl.Image("example.com/squares:v1"))
	dsl.OnExit(p, func(s dsl.Scope) {
		announce.Task(s, EchoIn{Text: dsl.RunStatus()})
	})
	res, err := compiler.Compile(p, compiler.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("onExit:", res.Workflow.Spec.OnExit)
	for _, t := range res.Workflow.Spec.Templates {
		fmt.Println(t.Name)
	}
	// Output:
	// onExit: fourth-power-exit
	// fourth-power
	// square-twice
	// square
	// fourth-power-exit
	// announce
}
