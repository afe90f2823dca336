package runs_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/runs"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/engine"
)

const sleepSpec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: sleepy-
spec:
  entrypoint: main
  templates:
  - name: main
    script:
      image: alpine
      command: [sh]
      source: sleep 2; echo done
`

// electedManager is one replica: a manager over the fixture's store and the given engine
// (replicas share the cluster, so tests share one engine between them).
func (f *fixture) electedManager(t *testing.T, eng engine.Engine) *runs.Manager {
	t.Helper()
	m, err := runs.New(runs.Options{Store: f.st, Engine: eng, Elected: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// lead runs m.Lead until the returned stop is called; stop returns Lead's error.
func lead(t *testing.T, m *runs.Manager, opts runs.LeadOptions) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Lead(ctx, opts) }()
	t.Cleanup(cancel)
	return func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("Lead did not return after its context ended")
			return nil
		}
	}
}

func waitPhase(t *testing.T, st store.Store, id string, want store.Phase) *store.Run {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := st.GetRun(context.Background(), "ns", id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Phase == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s (%s), want %s", id, r.Phase, r.Message, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func createRun(t *testing.T, m *runs.Manager, v *store.PipelineVersion) *store.Run {
	t.Helper()
	r := &store.Run{Namespace: "ns", PipelineVersionID: v.ID, Spec: v.Spec}
	if err := m.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLeaderFollowsRunsOfOtherReplicas: a replica that does not lead submits runs but does not
// follow them; the leader picks them up from the store and follows them to the end, and after
// a change of leader the new one does.
func TestLeaderFollowsRunsOfOtherReplicas(t *testing.T) {
	f := newFixture(t)
	a, b := f.electedManager(t, f.eng), f.electedManager(t, f.eng)
	v := f.version(t)
	fast := runs.LeadOptions{ScanInterval: 50 * time.Millisecond, SchedulerInterval: -1}

	r1 := createRun(t, a, v)
	// The engine finishes the run in a few milliseconds; nobody leads, so nothing records it.
	time.Sleep(500 * time.Millisecond)
	if got, _ := f.st.GetRun(context.Background(), "ns", r1.ID); got.Phase != store.PhasePending {
		t.Fatalf("without a leader run is %s, want Pending", got.Phase)
	}

	stopB := lead(t, b, fast)
	got := waitPhase(t, f.st, r1.ID, store.PhaseSucceeded)
	if got.StartedAt.IsZero() || got.FinishedAt.IsZero() {
		t.Errorf("run times not recorded: started %v finished %v", got.StartedAt, got.FinishedAt)
	}
	nodes, err := f.st.ListNodes(context.Background(), r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	var phases []store.Phase
	for _, n := range nodes {
		phases = append(phases, n.Phase)
	}
	if diff := cmp.Diff([]store.Phase{store.PhaseSucceeded}, phases); diff != "" {
		t.Errorf("node phases (-want +got):\n%s", diff)
	}
	if err := b.Lead(context.Background(), fast); !errors.Is(err, runs.ErrLeading) {
		t.Errorf("second Lead = %v, want ErrLeading", err)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}

	// b no longer leads: its own runs wait for a leader too.
	r2 := createRun(t, b, v)
	time.Sleep(300 * time.Millisecond)
	if got, _ := f.st.GetRun(context.Background(), "ns", r2.ID); got.Phase != store.PhasePending {
		t.Fatalf("after b stopped leading its run is %s, want Pending", got.Phase)
	}
	stopA := lead(t, a, fast)
	defer stopA()
	waitPhase(t, f.st, r2.ID, store.PhaseSucceeded)
	// The leader follows the runs it creates itself.
	r3 := createRun(t, a, v)
	waitPhase(t, f.st, r3.ID, store.PhaseSucceeded)
}

// TestLeaderHandOverKeepsRunsRunning: an elected replica that closes leaves its runs running
// (the cluster still runs them); the next leader follows them to the end.
func TestLeaderHandOverKeepsRunsRunning(t *testing.T) {
	f := newFixture(t)
	a, b := f.electedManager(t, f.eng), f.electedManager(t, f.eng)
	v := f.versionOf(t, sleepSpec)
	fast := runs.LeadOptions{ScanInterval: 50 * time.Millisecond, SchedulerInterval: -1}

	lead(t, a, fast)
	r := createRun(t, a, v)
	waitPhase(t, f.st, r.ID, store.PhaseRunning)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := f.eng.Status(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.Phase.Completed() {
		t.Fatalf("closing the leader ended the run: %s %s", st.Status.Phase, st.Status.Message)
	}
	if got, _ := f.st.GetRun(context.Background(), "ns", r.ID); got.Phase != store.PhaseRunning {
		t.Fatalf("after the leader closed the run is %s (%s), want Running", got.Phase, got.Message)
	}
	lead(t, b, fast)
	waitPhase(t, f.st, r.ID, store.PhaseSucceeded)
}

// TestLeaderMarksLostRuns: a run the engine does not know is marked Error only once it is
// older than LostAfter, since another replica's submission may not have reached the engine.
func TestLeaderMarksLostRuns(t *testing.T) {
	tests := []struct {
		name      string
		lostAfter time.Duration
		want      store.Phase
	}{
		{"recent run is left for its engine to report", time.Hour, store.PhaseRunning},
		{"old run is marked lost", time.Millisecond, store.PhaseError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			m := f.electedManager(t, f.eng)
			v := f.version(t)
			r := &store.Run{Namespace: "ns", PipelineVersionID: v.ID, Spec: v.Spec, Phase: store.PhaseRunning}
			if err := f.st.CreateRun(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
			stop := lead(t, m, runs.LeadOptions{ScanInterval: 20 * time.Millisecond, SchedulerInterval: -1, LostAfter: tt.lostAfter})
			time.Sleep(200 * time.Millisecond)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			got, err := f.st.GetRun(context.Background(), "ns", r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Phase != tt.want {
				t.Errorf("phase = %s (%s), want %s", got.Phase, got.Message, tt.want)
			}
		})
	}
}

// TestCancelThroughAnotherReplica: a run cancelled through a replica that does not lead ends
// Cancelled, as the leader learns from the store that a user asked for it.
func TestCancelThroughAnotherReplica(t *testing.T) {
	f := newFixture(t)
	a, b := f.electedManager(t, f.eng), f.electedManager(t, f.eng)
	v := f.versionOf(t, sleepSpec)
	lead(t, b, runs.LeadOptions{ScanInterval: 50 * time.Millisecond, SchedulerInterval: -1})
	r := createRun(t, a, v)
	waitPhase(t, f.st, r.ID, store.PhaseRunning)
	if err := a.Cancel(context.Background(), "ns", r.ID); err != nil {
		t.Fatal(err)
	}
	got := waitPhase(t, f.st, r.ID, store.PhaseCancelled)
	if got.FinishedAt.IsZero() {
		t.Error("cancelled run has no finish time")
	}
}

// TestSchedulersOverlap: two replicas that both believe they lead (a leader that has not yet
// noticed it lost its Lease) fire each tick once between them.
func TestSchedulersOverlap(t *testing.T) {
	f := newFixture(t)
	v := f.version(t)
	ctx := context.Background()
	rr := &store.RecurringRun{Namespace: "ns", Name: "every-second", PipelineVersionID: v.ID, Interval: time.Second,
		Enabled: true, CatchUp: true, MaxConcurrency: 100}
	if err := f.st.CreateRecurringRun(ctx, rr); err != nil {
		t.Fatal(err)
	}
	now := rr.CreatedAt.Add(5500 * time.Millisecond)
	var ms []*runs.Manager
	for range 2 {
		m, err := runs.New(runs.Options{Store: f.st, Engine: f.eng, Elected: true, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		ms = append(ms, m)
	}
	errc := make(chan error, len(ms))
	for _, m := range ms {
		go func() { errc <- m.ScheduleOnce(ctx) }()
	}
	for range ms {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	flt, _ := filter.Parse(`recurring_run_id == "` + rr.ID + `"`)
	got, _, err := f.st.ListRuns(ctx, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", Filter: flt, PageSize: 100}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	want := []string{}
	for i := 5; i >= 1; i-- {
		want = append(want, "every-second-"+rr.CreatedAt.Add(time.Duration(i)*time.Second).UTC().Format("20060102-150405"))
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("runs fired (-want +got):\n%s", diff)
	}
}
