// Command hello is the smallest Kiln pipeline: two Go-function tasks, one feeding the other.
//
//	go run ./examples/hello compile     # print the Argo Workflow
//	go run ./examples/hello run         # run it on this machine
package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/kilnml/kiln"
	"github.com/kilnml/kiln/dsl"
)

// GreetIn is the input of the greet component.
type GreetIn struct {
	Name dsl.Value[string] `default:"world" description:"who to greet"`
}

// GreetOut is the output of the greet component.
type GreetOut struct {
	Greeting dsl.Value[string]
}

var greet = dsl.Func("greet", func(ctx context.Context, in GreetIn) (GreetOut, error) {
	return GreetOut{Greeting: dsl.Of("Hello, " + in.Name.Get() + "!")}, nil
})

// ShoutIn is the input of the shout component.
type ShoutIn struct {
	Text dsl.Value[string]
}

// ShoutOut is the output of the shout component.
type ShoutOut struct {
	Loud dsl.Value[string]
}

var shout = dsl.Func("shout", func(ctx context.Context, in ShoutIn) (ShoutOut, error) {
	loud := strings.ToUpper(in.Text.Get())
	fmt.Println(loud)
	return ShoutOut{Loud: dsl.Of(loud)}, nil
})

// Params are the pipeline's inputs.
type Params struct {
	Name dsl.Value[string] `default:"Kiln"`
}

var pipeline = dsl.NewPipeline("hello", func(s dsl.Scope, in Params) {
	g := greet.Task(s, GreetIn{Name: in.Name})
	shout.Task(s, ShoutIn{Text: g.Out.Greeting})
}, dsl.Description("Greets someone, loudly."), dsl.Image("ghcr.io/kilnml/examples:latest"))

func main() { kiln.Main(pipeline) }
