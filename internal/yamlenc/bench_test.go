//go:build unix

package yamlenc

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// cpuTimer reports process CPU time per operation as "cpu-ms/op". On a shared
// machine wall-clock ns/op mostly measures waiting for a core; CPU time is
// what the compiler's latency budget actually spends.
type cpuTimer struct{ start time.Duration }

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU(b *testing.B) cpuTimer { return cpuTimer{processCPU(b)} }

func (c cpuTimer) report(b *testing.B) {
	per := (processCPU(b) - c.start) / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(time.Millisecond), "cpu-ms/op")
}

// The benchmarks use a 5000-task DAG, the size the compiler's 25 ms budget is
// set for. Throughput (MB/s) is measured against the bytes of YAML produced.

func BenchmarkMarshal(b *testing.B) {
	wf := realisticWorkflow(5000)
	out, err := Marshal(wf)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	defer startCPU(b).report(b)
	for b.Loop() {
		if _, err := Marshal(wf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarshalSigsYAML is the baseline this package replaces.
func BenchmarkMarshalSigsYAML(b *testing.B) {
	wf := realisticWorkflow(5000)
	out, err := yaml.Marshal(wf)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	defer startCPU(b).report(b)
	for b.Loop() {
		if _, err := yaml.Marshal(wf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromJSON isolates the JSON-to-YAML pass from encoding/json.
func BenchmarkFromJSON(b *testing.B) {
	in, err := json.Marshal(realisticWorkflow(5000))
	if err != nil {
		b.Fatal(err)
	}
	out, err := FromJSON(in)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	defer startCPU(b).report(b)
	buf := make([]byte, 0, len(out))
	for b.Loop() {
		if buf, err = AppendFromJSON(buf[:0], in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromJSONFlow measures the converter with flow style off and at
// two widths on the 5000-task DAG and reports the YAML size per task, the
// figure the compiler's 150-bytes-per-task budget is stated in.
func BenchmarkFromJSONFlow(b *testing.B) {
	const tasks = 5000
	in, err := json.Marshal(realisticWorkflow(tasks))
	if err != nil {
		b.Fatal(err)
	}
	for _, width := range []int{0, 60, 80, 160} {
		b.Run(fmt.Sprintf("width=%d", width), func(b *testing.B) {
			opts := Options{FlowWidth: width}
			out, err := opts.FromJSON(in)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			defer startCPU(b).report(b)
			buf := make([]byte, 0, len(out))
			for b.Loop() {
				if buf, err = opts.AppendFromJSON(buf[:0], in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(out))/tasks, "bytes/task")
		})
	}
}
