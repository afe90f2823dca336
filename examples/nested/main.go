// Command nested calls a nested pipeline twice, as a component, and reports the run's outcome
// from an exit handler that runs whatever happens.
//
//	go run ./examples/nested compile
//	go run ./examples/nested run -p fail=true   # the exit handler still reports
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kilnml/kiln"
	"github.com/kilnml/kiln/dsl"
)

// CleanIn is the input of the clean component.
type CleanIn struct {
	Text dsl.Value[string]
	Fail dsl.Value[bool] `default:"false"`
}

// CleanOut is the output of the clean component.
type CleanOut struct {
	Text dsl.Value[string]
}

var clean = dsl.Func("clean", func(ctx context.Context, in CleanIn) (CleanOut, error) {
	if in.Fail.Get() {
		return CleanOut{}, errors.New("asked to fail")
	}
	return CleanOut{Text: dsl.Of(strings.Join(strings.Fields(strings.ToLower(in.Text.Get())), " "))}, nil
})

// CountOut is the output of the words component.
type CountOut struct {
	Words dsl.Value[int]
}

var words = dsl.Func("words", func(ctx context.Context, in CleanOut) (CountOut, error) {
	return CountOut{Words: dsl.Of(len(strings.Fields(in.Text.Get())))}, nil
})

// StatsIn is the input of the nested pipeline.
type StatsIn struct {
	Text dsl.Value[string]
	Fail dsl.Value[bool] `default:"false"`
}

// StatsOut is the output of the nested pipeline.
type StatsOut struct {
	Clean dsl.Value[string]
	Words dsl.Value[int]
}

// stats is a nested pipeline: clean the text, then count its words.
var stats = dsl.NewSubPipeline("text-stats", func(s dsl.Scope, in StatsIn) StatsOut {
	c := clean.Task(s, CleanIn{Text: in.Text, Fail: in.Fail})
	w := words.Task(s, CleanOut{Text: c.Out.Text})
	return StatsOut{Clean: c.Out.Text, Words: w.Out.Words}
})

// SumIn is the input of the total component.
type SumIn struct {
	A dsl.Value[int]
	B dsl.Value[int]
}

var total = dsl.Func("total", func(ctx context.Context, in SumIn) (CountOut, error) {
	return CountOut{Words: dsl.Of(in.A.Get() + in.B.Get())}, nil
})

// ReportIn is the input of the report component.
type ReportIn struct {
	Status dsl.Value[string]
}

var report = dsl.Func("report", func(ctx context.Context, in ReportIn) (struct{}, error) {
	fmt.Println("run finished:", in.Status.Get())
	return struct{}{}, nil
})

// Params are the pipeline's inputs.
type Params struct {
	Title dsl.Value[string] `default:"The Go Programming Language"`
	Body  dsl.Value[string] `default:"Go is an open source programming language"`
	Fail  dsl.Value[bool]   `default:"false" description:"make the second call fail, to see the exit handler"`
}

var pipeline = func() *dsl.Pipeline {
	p := dsl.NewPipeline("nested", func(s dsl.Scope, in Params) {
		a := stats.Task(s, StatsIn{Text: in.Title}, dsl.Name("title"))
		b := stats.Task(s, StatsIn{Text: in.Body, Fail: in.Fail}, dsl.Name("body"))
		total.Task(s, SumIn{A: a.Out.Words, B: b.Out.Words})
	}, dsl.Description("A nested pipeline called twice, with an exit handler."), dsl.Image("ghcr.io/kilnml/examples:latest"))
	dsl.OnExit(p, func(s dsl.Scope) {
		report.Task(s, ReportIn{Status: dsl.RunStatus()})
	})
	return p
}()

func main() { kiln.Main(pipeline) }
