package runs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/runs"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/sqlite"
	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/engine/local"
)

const quickSpec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: quick-
spec:
  entrypoint: main
  arguments:
    parameters:
    - name: count
      value: "1"
  templates:
  - name: main
    script:
      image: alpine
      command: [sh]
      source: echo {{workflow.parameters.count}}
`

type fixture struct {
	st  store.Store
	eng engine.Engine
	m   *runs.Manager
	now time.Time
	dir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(dir, "kiln.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, dir: dir, now: time.Now()}
	eng := local.New(local.Options{WorkDir: filepath.Join(dir, "runs")})
	f.eng = eng
	// Runs may outlive their test's managers (an elected manager leaves them running when it
	// closes); let the engine finish them before the temporary directory is removed.
	t.Cleanup(func() { f.waitEngineRuns(t, eng) })
	f.m = f.manager(t, f.eng)
	return f
}

// waitEngineRuns waits until the engine has finished every run the store has not seen end.
func (f *fixture) waitEngineRuns(t *testing.T, eng *local.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	refs, err := f.st.ListUnfinishedRunRefs(ctx)
	if err != nil {
		t.Errorf("list unfinished runs: %v", err)
		return
	}
	for _, r := range refs {
		if _, err := eng.Wait(ctx, r.ID); err != nil && !errors.Is(err, engine.ErrRunNotFound) {
			t.Errorf("wait for run %s: %v", r.ID, err)
		}
	}
}

func (f *fixture) manager(t *testing.T, eng engine.Engine) *runs.Manager {
	m, err := runs.New(runs.Options{Store: f.st, Engine: eng, Now: func() time.Time { return f.now },
		RunDir: func(id string) string { return filepath.Join(f.dir, "runs", id) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func (f *fixture) version(t *testing.T) *store.PipelineVersion {
	t.Helper()
	return f.versionOf(t, quickSpec)
}

// versionOf stores a pipeline version with the given spec.
func (f *fixture) versionOf(t *testing.T, spec string) *store.PipelineVersion {
	t.Helper()
	ctx := context.Background()
	p := &store.Pipeline{Namespace: "ns", Name: "quick"}
	if err := f.st.CreatePipeline(ctx, p); err != nil {
		t.Fatal(err)
	}
	v := &store.PipelineVersion{Namespace: "ns", PipelineID: p.ID, Name: "v1", Spec: []byte(spec)}
	if err := f.st.CreatePipelineVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestScheduleOnce(t *testing.T) {
	tests := []struct {
		name           string
		catchUp        bool
		maxConcurrency int
		elapsed        time.Duration
		wantRuns       int
	}{
		{"nothing due", false, 10, 500 * time.Millisecond, 0},
		{"missed ticks fire once without catch-up", false, 10, 5500 * time.Millisecond, 1},
		{"catch-up fires every missed tick", true, 10, 5500 * time.Millisecond, 5},
		{"catch-up bounded by max concurrency", true, 2, 5500 * time.Millisecond, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			// Runs must still be active when the concurrency limit is checked, so the limited
			// case runs a pipeline that sleeps; a quick one may finish within the pass.
			spec := quickSpec
			if tt.maxConcurrency < 5 {
				spec = strings.Replace(quickSpec, "source: echo {{workflow.parameters.count}}", "source: sleep 30", 1)
			}
			v := f.versionOf(t, spec)
			ctx := context.Background()
			rr := &store.RecurringRun{Namespace: "ns", Name: "every-second", PipelineVersionID: v.ID, Interval: time.Second,
				Enabled: true, CatchUp: tt.catchUp, MaxConcurrency: tt.maxConcurrency, Parameters: map[string]string{"count": "7"}}
			if err := f.st.CreateRecurringRun(ctx, rr); err != nil {
				t.Fatal(err)
			}
			f.now = rr.CreatedAt.Add(tt.elapsed)
			if err := f.m.ScheduleOnce(ctx); err != nil {
				t.Fatal(err)
			}
			flt, _ := filter.Parse(`recurring_run_id == "` + rr.ID + `"`)
			got, _, err := f.st.ListRuns(ctx, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", Filter: flt, PageSize: 100}})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantRuns {
				t.Fatalf("%d runs, want %d", len(got), tt.wantRuns)
			}
			for _, r := range got {
				if r.Parameters["count"] != "7" || r.PipelineVersionID != v.ID {
					t.Errorf("run %+v", r)
				}
			}
			// A second pass at the same time fires nothing new.
			if err := f.m.ScheduleOnce(ctx); err != nil {
				t.Fatal(err)
			}
			again, _, _ := f.st.ListRuns(ctx, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", Filter: flt, PageSize: 100}})
			if len(again) != len(got) {
				t.Errorf("second pass created %d more runs", len(again)-len(got))
			}
		})
	}
}

func TestValidateSchedule(t *testing.T) {
	tests := []struct {
		name string
		rr   store.RecurringRun
		want []string
	}{
		{"cron ok", store.RecurringRun{Cron: "*/5 * * * *", TimeZone: "Europe/Paris"}, nil},
		{"descriptor ok", store.RecurringRun{Cron: "@daily"}, nil},
		{"interval ok", store.RecurringRun{Interval: time.Minute}, nil},
		{"neither", store.RecurringRun{}, []string{"cron"}},
		{"both", store.RecurringRun{Cron: "@daily", Interval: time.Minute}, []string{"interval"}},
		{"bad cron", store.RecurringRun{Cron: "* * *"}, []string{"cron"}},
		{"tiny interval", store.RecurringRun{Interval: time.Millisecond}, []string{"interval"}},
		{"bad zone and concurrency", store.RecurringRun{Cron: "@daily", TimeZone: "Nowhere/Land", MaxConcurrency: -1}, []string{"timeZone", "maxConcurrency"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range runs.ValidateSchedule(nil, &tt.rr) {
				got = append(got, e.Field)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("fields (-want +got):\n%s", d)
			}
		})
	}
}

func TestCheckParameters(t *testing.T) {
	schema := []runs.ParamSpec{
		{Name: "lr", Type: runs.TypeNumber, Default: ptr("0.1")},
		{Name: "fast", Type: runs.TypeBool, Default: ptr("true")},
		{Name: "layers", Type: runs.TypeList, Default: ptr("[1,2]")},
		{Name: "data", Type: runs.TypeString, Required: true},
		{Name: "mode", Type: runs.TypeString, Enum: []string{"a", "b"}, Default: ptr("a")},
	}
	tests := []struct {
		name   string
		values map[string]string
		want   []string
	}{
		{"ok", map[string]string{"data": "x", "lr": "1e-3", "fast": "false", "layers": "[3]", "mode": "b"}, nil},
		{"missing required", map[string]string{}, []string{"params[data]"}},
		{"wrong types", map[string]string{"data": "x", "lr": "fast", "fast": "yes", "layers": "3"}, []string{"params[fast]", "params[layers]", "params[lr]"}},
		{"enum and undeclared", map[string]string{"data": "x", "mode": "c", "other": "1"}, []string{"params[mode]", "params[other]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range runs.CheckParameters(field.NewPath("params"), schema, tt.values) {
				got = append(got, e.Field)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("fields (-want +got):\n%s", d)
			}
		})
	}
}

// TestReconcileMarksLostRuns creates a run, forgets the engine (as a restart does) and checks
// that reconciliation marks the run and its active nodes Error, and leaves tracking runs alone.
func TestReconcileMarksLostRuns(t *testing.T) {
	f := newFixture(t)
	v := f.version(t)
	ctx := context.Background()
	r := &store.Run{Namespace: "ns", PipelineVersionID: v.ID, PipelineID: v.PipelineID, Spec: v.Spec, Phase: store.PhaseRunning}
	if err := f.st.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := f.st.UpsertNodes(ctx, r.ID, []store.Node{{ID: "n1", Name: "n1", Phase: store.PhaseRunning}, {ID: "n0", Name: "n0", Phase: store.PhaseSucceeded}}); err != nil {
		t.Fatal(err)
	}
	tracking := &store.Run{Namespace: "ns", Phase: store.PhaseRunning}
	if err := f.st.CreateRun(ctx, tracking); err != nil {
		t.Fatal(err)
	}
	fresh := f.manager(t, local.New(local.Options{WorkDir: filepath.Join(f.dir, "runs2")}))
	if err := fresh.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := f.st.GetRun(ctx, "ns", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phase != store.PhaseError || got.Message != runs.RestartMessage || got.FinishedAt.IsZero() {
		t.Errorf("lost run = %s %q finished %v", got.Phase, got.Message, got.FinishedAt)
	}
	nodes, _ := f.st.ListNodes(ctx, r.ID)
	phases := map[string]store.Phase{}
	for _, n := range nodes {
		phases[n.ID] = n.Phase
	}
	if d := cmp.Diff(map[string]store.Phase{"n0": store.PhaseSucceeded, "n1": store.PhaseError}, phases); d != "" {
		t.Errorf("node phases (-want +got):\n%s", d)
	}
	if tr, _ := f.st.GetRun(ctx, "ns", tracking.ID); tr.Phase != store.PhaseRunning {
		t.Errorf("tracking run = %s, want Running", tr.Phase)
	}
	// A retry of the lost run resubmits it from its spec.
	if err := fresh.Retry(ctx, "ns", r.ID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, _ = f.st.GetRun(ctx, "ns", r.ID); got.Phase == store.PhaseSucceeded {
			return
		}
	}
	t.Errorf("retried lost run is %s (%s)", got.Phase, got.Message)
}

func ptr[T any](v T) *T { return &v }

// TestCloseStopsActiveRuns checks that a graceful shutdown stops running processes and records
// why, instead of leaving the runs Running.
func TestCloseStopsActiveRuns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	marker := filepath.Join(t.TempDir(), "finished")
	spec := `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: slow-
spec:
  entrypoint: main
  templates:
  - name: main
    script:
      image: alpine
      command: [sh]
      source: sleep 3; touch ` + marker + "\n"
	r := &store.Run{Namespace: "ns", Spec: []byte(spec)}
	if err := f.m.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, _ := f.st.GetRun(ctx, "ns", r.ID); got.Phase == store.PhaseRunning {
			break
		}
	}
	if err := f.m.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := f.st.GetRun(ctx, "ns", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phase != store.PhaseError || got.Message != runs.StopMessage {
		t.Errorf("run after shutdown = %s %q, want Error with the stop message", got.Phase, got.Message)
	}
	time.Sleep(3500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Error("the run's process kept running after the shutdown")
	}
}
