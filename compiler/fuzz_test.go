package compiler_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/dsl"
)

// randomPipeline interprets data as a program that builds a pipeline: tasks wired to earlier
// outputs, conditions, loops with fan-in, ordering edges and nested pipelines.
func randomPipeline(data []byte) *dsl.Pipeline {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	return dsl.NewPipeline("fuzz", func(s dsl.Scope, in sweepParams) {
		outs := []dsl.Value[float64]{in.Threshold}
		var tasks []dsl.Node
		pick := func() dsl.Value[float64] { return outs[next()%len(outs)] }
		var build func(s dsl.Scope, depth int)
		build = func(s dsl.Scope, depth int) {
			for len(data) > 0 {
				switch op := next() % 8; {
				case op <= 2:
					t := square.Task(s, scoreIn{X: pick()})
					outs = append(outs, t.Out.Y)
					tasks = append(tasks, t)
				case op == 3 && depth < 3:
					dsl.If(s, dsl.When("a > b", dsl.Bind("a", pick()), dsl.Bind("b", pick())), func(s dsl.Scope) { build(s, depth+1) })
				case op == 4 && depth < 3:
					var last dsl.Value[float64]
					loop := dsl.ParallelFor(s, dsl.List(1.0, 2.0), func(s dsl.Scope, x dsl.Value[float64]) {
						last = square.Task(s, scoreIn{X: x}).Out.Y
						if next()%2 == 0 {
							square.Task(s, scoreIn{X: last})
						}
					})
					outs = append(outs, sum.Task(s, sumIn{Values: dsl.Collect(loop, last)}).Out.Total)
				case op == 5 && len(tasks) > 0:
					square.Task(s, scoreIn{X: dsl.Of(1.0)}, dsl.After(tasks[next()%len(tasks)]))
				case op == 6:
					sub := fuzzSub.Task(s, fuzzSubIn{X: pick()})
					outs = append(outs, sub.Out.Y)
				case op == 7 && depth > 0:
					return
				}
			}
		}
		build(s, 0)
	}, image)
}

type fuzzSubIn struct{ X dsl.Value[float64] }

type fuzzSubOut struct{ Y dsl.Value[float64] }

var fuzzSub = dsl.NewSubPipeline("fuzz-sub", func(s dsl.Scope, in fuzzSubIn) fuzzSubOut {
	a := square.Task(s, scoreIn{X: in.X})
	return fuzzSubOut{Y: square.Task(s, scoreIn{X: a.Out.Y}).Out.Y}
})

// FuzzCompile builds random pipelines and checks compile → Argo validation → re-parse. A
// pipeline that does not compile must fail with a *compiler.Error, never a panic.
func FuzzCompile(f *testing.F) {
	for _, seed := range [][]byte{{0, 0, 1}, {3, 0, 1, 0, 7, 0}, {4, 1, 0}, {6, 0, 5, 0}, {0, 4, 0, 3, 1, 2, 0, 7, 5, 1}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 200 {
			return
		}
		res, err := compiler.Compile(randomPipeline(data), compiler.Options{})
		if err != nil {
			var cerr *compiler.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("compile failed with %T: %v", err, err)
			}
			return
		}
		if err := compiler.ValidateArgo(context.Background(), res); err != nil {
			t.Fatalf("%v", err)
		}
		out, err := res.YAML()
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, res, out)
	})
}

func TestRandomPipelines(t *testing.T) {
	// A deterministic sample of the fuzz space, so plain `go test` covers it too.
	for i := 0; i < 300; i++ {
		data := []byte(fmt.Sprintf("%08d", i*7919))
		for j := range data {
			data[j] = byte(int(data[j]) * (i + j + 1))
		}
		res, err := compiler.Compile(randomPipeline(data), compiler.Options{})
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if err := compiler.ValidateArgo(context.Background(), res); err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
	}
}
