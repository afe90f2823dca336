package local

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/engine"
)

// fanoutWorkflow is a DAG of n independent `true` tasks.
func fanoutWorkflow(n int) string {
	var b strings.Builder
	b.WriteString("metadata: {generateName: fanout-}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n")
	for i := range n {
		fmt.Fprintf(&b, "      - {name: t%d, template: ok}\n", i)
	}
	b.WriteString("  - name: ok\n    container: {image: alpine, command: [\"true\"]}\n")
	return b.String()
}

// chainWorkflow is a DAG of n `true` tasks, each depending on the previous.
func chainWorkflow(n int) string {
	var b strings.Builder
	b.WriteString("metadata: {generateName: chain-}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n")
	for i := range n {
		if i == 0 {
			fmt.Fprintf(&b, "      - {name: t%d, template: ok}\n", i)
			continue
		}
		fmt.Fprintf(&b, "      - {name: t%d, template: ok, depends: t%d}\n", i, i-1)
	}
	b.WriteString("  - name: ok\n    container: {image: alpine, command: [\"true\"]}\n")
	return b.String()
}

// cpuSeconds is the CPU time (user+system) this process and its reaped
// children used since the last call: a load-independent cost measure on a
// shared machine.
func cpuSeconds() float64 {
	total := func() float64 {
		var self, kids syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
		_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
		sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
		return sec(self.Utime) + sec(self.Stime) + sec(kids.Utime) + sec(kids.Stime)
	}()
	d := total - lastCPU
	lastCPU = total
	return d
}

var lastCPU float64

func benchRun(b *testing.B, e *Engine, wf *wfv1.Workflow) {
	b.Helper()
	ctx := context.Background()
	id, err := e.Submit(ctx, wf, engine.SubmitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	st, err := e.Wait(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	if st.Status.Phase != wfv1.WorkflowSucceeded {
		b.Fatalf("phase %s: %s", st.Status.Phase, st.Status.Message)
	}
}

// BenchmarkTaskOverhead measures the engine's cost per task on a chain of
// trivial `true` tasks (sequential, so process start-up is included once per
// task). Reported as ms/task.
func BenchmarkTaskOverhead(b *testing.B) {
	const n = 50
	wf, err := engine.ParseWorkflow([]byte(chainWorkflow(n)))
	if err != nil {
		b.Fatal(err)
	}
	e := New(Options{WorkDir: b.TempDir()})
	cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		benchRun(b, e, wf)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*n), "ms/task")
	b.ReportMetric(cpuSeconds()*1000/float64(b.N*n), "cpu-ms/task")
}

// BenchmarkFanout1000 runs a DAG of 1000 independent `true` tasks.
func BenchmarkFanout1000(b *testing.B) {
	wf, err := engine.ParseWorkflow([]byte(fanoutWorkflow(1000)))
	if err != nil {
		b.Fatal(err)
	}
	e := New(Options{WorkDir: b.TempDir()})
	cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		benchRun(b, e, wf)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
	b.ReportMetric(cpuSeconds()/float64(b.N), "cpu-s/run")
}
