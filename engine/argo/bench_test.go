package argo

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/internal/testenv/kube"
)

// BenchmarkSubmitObserve pushes runs through the engine: submit, two status
// writes standing in for Argo's controller (Running, then Succeeded), the
// final event observed through Watch, delete. Run it with -benchtime=1000x;
// it reports the engine's CPU time per run and the live heap, measured after
// the first and the last tenth of the runs, which must stay flat.
func BenchmarkSubmitObserve(b *testing.B) {
	env := kube.Shared(b)
	ns := newNamespace(b, env.Config)
	e := newTestEngine(b, env.Config, nil, ns)
	wfc := wfclientset.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc) / (1 << 20)
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	tenth := max(b.N/10, 1)
	var heapEarly, cpuEarly float64
	cpu0 := cpu()
	b.ResetTimer()
	for i := range b.N {
		id, err := e.Submit(ctx, testWorkflow(), engine.SubmitOptions{})
		if err != nil {
			b.Fatal(err)
		}
		st, err := e.Status(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		name := st.Workflow
		ch, err := e.Watch(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		updateStatus(b, wfc, ns, name, func(wf *wfv1.Workflow) {
			wf.Status.Phase = wfv1.WorkflowRunning
			wf.Status.Nodes = wfv1.Nodes{
				name:        node(name, name, name, wfv1.NodeTypeDAG, wfv1.NodeRunning, t0),
				name + "-a": node(name, name+"-a", "a", wfv1.NodeTypePod, wfv1.NodeRunning, t0),
			}
		})
		updateStatus(b, wfc, ns, name, func(wf *wfv1.Workflow) {
			wf.Status.Phase = wfv1.WorkflowSucceeded
			wf.Status.FinishedAt = metav1.Now()
			wf.Status.Nodes[name] = node(name, name, name, wfv1.NodeTypeDAG, wfv1.NodeSucceeded, t0)
			wf.Status.Nodes[name+"-a"] = node(name, name+"-a", "a", wfv1.NodeTypePod, wfv1.NodeSucceeded, t0)
		})
		n := 0
		for ev := range ch {
			n++
			_ = ev
		}
		if n != 7 {
			b.Fatalf("run %s: %d events, want 7", id, n)
		}
		if err := e.Delete(ctx, id); err != nil {
			b.Fatal(err)
		}
		if i+1 == tenth {
			b.StopTimer()
			heapEarly, cpuEarly = heap(), float64(cpu()-cpu0)/float64(time.Millisecond)/float64(tenth)
			b.StartTimer()
		}
	}
	b.StopTimer()
	cpuPerRun := float64(cpu()-cpu0) / float64(time.Millisecond) / float64(b.N)
	heapLate := heap()
	e.mu.Lock()
	left := len(e.runs)
	e.mu.Unlock()
	b.ReportMetric(cpuPerRun, "cpu-ms/run")
	b.ReportMetric(heapLate, "heap-MiB")
	b.ReportMetric(heapLate-heapEarly, "heap-growth-MiB")
	b.Logf("runs=%d: after %d runs heap %.1f MiB, cpu %.2f ms/run; after all heap %.1f MiB, cpu %.2f ms/run; runs still tracked %d",
		b.N, tenth, heapEarly, cpuEarly, heapLate, cpuPerRun, left)
	if left != 0 {
		b.Errorf("%d runs still tracked after delete", left)
	}
}
