package compiler_test

import (
	"context"
	"os"
	"sort"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/engine/local"
)

type napIn struct {
	Item dsl.Value[int]
}

// nap holds a pod open long enough for concurrent iterations to overlap.
var nap = dsl.Container[napIn, struct{}]("nap", dsl.ContainerSpec{
	Image:   "busybox:1.36",
	Command: []string{"sh", "-c", "sleep 0.4"},
})

// TestLoopParallelism runs loops on the local engine and measures how many iterations overlap:
// dsl.Parallelism bounds the loop's iterations as a whole (Argo's template parallelism applies
// within one invocation of a template, so the bound must not sit on the per-item body), for a
// single-task body and for a body of two tasks, and a loop without the option runs its
// iterations together.
func TestLoopParallelism(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	eng := local.New(local.Options{WorkDir: t.TempDir(), PipelineBinary: self})
	tests := []struct {
		name  string
		body  func(s dsl.Scope, it dsl.Value[int])
		opts  []dsl.LoopOption
		limit int // the most overlapping naps allowed
		least int // the fewest overlapping naps expected
	}{
		{name: "one-task", body: func(s dsl.Scope, it dsl.Value[int]) { nap.Task(s, napIn{Item: it}) },
			opts: []dsl.LoopOption{dsl.Parallelism(1)}, limit: 1, least: 1},
		{name: "two-tasks", body: func(s dsl.Scope, it dsl.Value[int]) {
			a := nap.Task(s, napIn{Item: it}, dsl.Name("first"))
			nap.Task(s, napIn{Item: it}, dsl.Name("second"), dsl.After(a))
		}, opts: []dsl.LoopOption{dsl.Parallelism(2)}, limit: 2, least: 2},
		{name: "unbounded", body: func(s dsl.Scope, it dsl.Value[int]) { nap.Task(s, napIn{Item: it}) },
			limit: 4, least: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := dsl.NewPipeline("loop-"+tc.name, func(s dsl.Scope, _ noParams) {
				dsl.ParallelFor(s, dsl.List(1, 2, 3, 4), tc.body, tc.opts...)
			}, image)
			res, err := compiler.Compile(p, compiler.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := compiler.ValidateArgo(context.Background(), res); err != nil {
				t.Fatalf("argo validation: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			wf := &wfv1.Workflow{Spec: *res.Spec()}
			wf.GenerateName = p.Name() + "-"
			id, err := eng.Submit(ctx, wf, engine.SubmitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			st := waitRun(ctx, t, eng, id)
			if st.Status.Phase != wfv1.WorkflowSucceeded {
				t.Fatalf("run ended %s: %s", st.Status.Phase, st.Status.Message)
			}
			got := maxOverlap(st.Status.Nodes)
			if got > tc.limit || got < tc.least {
				t.Errorf("at most %d naps ran at once, want between %d and %d", got, tc.least, tc.limit)
			}
		})
	}
}

// maxOverlap returns the largest number of pod nodes running at one instant.
func maxOverlap(nodes wfv1.Nodes) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	pods := 0
	for _, n := range nodes {
		if n.Type != wfv1.NodeTypePod {
			continue
		}
		pods++
		edges = append(edges, edge{n.StartedAt.Time, 1}, edge{n.FinishedAt.Time, -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if !edges[i].at.Equal(edges[j].at) {
			return edges[i].at.Before(edges[j].at)
		}
		return edges[i].delta < edges[j].delta // an end at the instant of a start does not overlap it
	})
	most, cur := 0, 0
	for _, e := range edges {
		cur += e.delta
		most = max(most, cur)
	}
	return most
}
