package storetest

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

func testRunsCRUD(t *testing.T, s store.Store) {
	c := ctx(t)
	r := &store.Run{Namespace: "ns", Name: "r1", Parameters: map[string]string{"lr": "0.1"}, CreatedBy: "ada"}
	must(t, s.CreateRun(c, r), "create run")
	if len(r.ID) != 32 || r.Phase != store.PhasePending || r.CreatedAt.IsZero() {
		t.Fatalf("create run assigned ID %q, phase %q, created %v", r.ID, r.Phase, r.CreatedAt)
	}
	wantErr(t, s.CreateRun(c, &store.Run{Namespace: "ns", ID: r.ID}), store.ErrAlreadyExists, "duplicate run ID")
	got, err := s.GetRun(c, "ns", r.ID)
	must(t, err, "get run")
	diff(t, "get run", r, got)

	start := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	msg := "running"
	got, err = s.UpdateRun(c, "ns", r.ID, store.RunUpdate{Phase: store.PhaseRunning, StartedAt: start, Message: &msg})
	must(t, err, "update run")
	r.Phase, r.StartedAt, r.Message = store.PhaseRunning, start, msg
	diff(t, "after start", r, got)
	end := start.Add(time.Minute)
	got, err = s.UpdateRun(c, "ns", r.ID, store.RunUpdate{Phase: store.PhaseSucceeded, FinishedAt: end})
	must(t, err, "finish run")
	r.Phase, r.FinishedAt = store.PhaseSucceeded, end
	diff(t, "after finish (message kept)", r, got)
	_, err = s.UpdateRun(c, "other", r.ID, store.RunUpdate{Phase: store.PhaseFailed})
	wantErr(t, err, store.ErrNotFound, "update from another namespace")
	_, err = s.UpdateRun(c, "ns", r.ID, store.RunUpdate{Phase: "Exploded"})
	wantErr(t, err, store.ErrInvalidArgument, "unknown phase")
	wantErr(t, s.CreateRun(c, &store.Run{Namespace: "ns", Phase: "Exploded"}), store.ErrInvalidArgument, "create with unknown phase")

	pending := newRun(t, s, store.Run{Namespace: "ns", Name: "pending"})
	running := newRun(t, s, store.Run{Namespace: "other", Name: "running", Phase: store.PhaseRunning, Spec: []byte("kind: Workflow\n")})
	tracked := newRun(t, s, store.Run{Namespace: "ns", Name: "tracked", Phase: store.PhaseRunning})
	refs, err := s.ListUnfinishedRunRefs(c)
	must(t, err, "list unfinished refs")
	wantRefs := []store.RunRef{
		{ID: pending.ID, Namespace: "ns", Phase: store.PhasePending, CreatedAt: pending.CreatedAt, HasSpec: false},
		{ID: running.ID, Namespace: "other", Phase: store.PhaseRunning, CreatedAt: running.CreatedAt, HasSpec: true},
		{ID: tracked.ID, Namespace: "ns", Phase: store.PhaseRunning, CreatedAt: tracked.CreatedAt, HasSpec: false},
	}
	diff(t, "unfinished runs, all namespaces, oldest first", wantRefs, refs)

	must(t, s.SetRunArchived(c, "ns", r.ID, true), "archive")
	got, err = s.GetRun(c, "ns", r.ID)
	must(t, err, "get archived")
	if !got.Archived {
		t.Error("archived run reads back with Archived false")
	}
	must(t, s.DeleteRun(c, "ns", r.ID), "delete")
	_, err = s.GetRun(c, "ns", r.ID)
	wantErr(t, err, store.ErrNotFound, "get deleted run")
	wantErr(t, s.DeleteRun(c, "ns", r.ID), store.ErrNotFound, "delete twice")
}

func testRunReferences(t *testing.T, s store.Store) {
	c := ctx(t)
	p := &store.Pipeline{Namespace: "ns", Name: "p"}
	must(t, s.CreatePipeline(c, p), "create pipeline")
	v := &store.PipelineVersion{Namespace: "ns", PipelineID: p.ID, Name: "v1", Spec: []byte("kind: Workflow\n")}
	must(t, s.CreatePipelineVersion(c, v), "create version")
	e := newExperiment(t, s, "ns", "e")

	r := newRun(t, s, store.Run{Namespace: "ns", ExperimentID: e.ID, PipelineVersionID: v.ID})
	if r.PipelineID != p.ID || string(r.Spec) != string(v.Spec) {
		t.Errorf("run from version: pipeline %q spec %q, want %q and the version's spec", r.PipelineID, r.Spec, p.ID)
	}
	wantErr(t, s.CreateRun(c, &store.Run{Namespace: "other", PipelineVersionID: v.ID}), store.ErrNotFound, "version of another namespace")
	wantErr(t, s.CreateRun(c, &store.Run{Namespace: "other", ExperimentID: e.ID}), store.ErrNotFound, "experiment of another namespace")
	wantErr(t, s.CreateRun(c, &store.Run{Namespace: "ns", ExperimentID: "missing"}), store.ErrNotFound, "missing experiment")

	must(t, s.DeletePipeline(c, "ns", p.ID), "delete pipeline")
	got, err := s.GetRun(c, "ns", r.ID)
	must(t, err, "run outlives its pipeline")
	if got.PipelineID != "" || got.PipelineVersionID != "" || string(got.Spec) != string(v.Spec) {
		t.Errorf("after pipeline deletion: pipeline %q version %q spec %q; want empty references and the spec kept",
			got.PipelineID, got.PipelineVersionID, got.Spec)
	}
}

func testRunNodes(t *testing.T, s store.Store) {
	c := ctx(t)
	r := newRun(t, s, store.Run{Namespace: "ns"})
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	nodes := []store.Node{
		{RunID: r.ID, ID: "wf", Name: "wf", Type: "DAG", Phase: store.PhaseRunning, Children: []string{"wf-a", "wf-b"}, StartedAt: t0},
		{RunID: r.ID, ID: "wf-a", Name: "wf.a", DisplayName: "a", Type: "Pod", Template: "train", Phase: store.PhaseRunning,
			Inputs: json.RawMessage(`{"parameters":[{"name":"lr","value":"0.1"}]}`), StartedAt: t0.Add(time.Second)},
	}
	must(t, s.UpsertNodes(c, r.ID, nodes), "insert nodes")
	nodes[1].Phase, nodes[1].FinishedAt = store.PhaseSucceeded, t0.Add(time.Minute)
	nodes[1].Outputs = json.RawMessage(`{"artifacts":[{"name":"model"}]}`)
	b := store.Node{RunID: r.ID, ID: "wf-b", Name: "wf.b", Type: "Pod", Phase: store.PhasePending}
	must(t, s.UpsertNodes(c, r.ID, []store.Node{nodes[1], b}), "update nodes")
	got, err := s.ListNodes(c, r.ID)
	must(t, err, "list nodes")
	diff(t, "nodes", []store.Node{b, nodes[0], nodes[1]}, got)
	wantErr(t, s.UpsertNodes(c, "missing", []store.Node{{ID: "x"}}), store.ErrNotFound, "nodes of a missing run")
}

// seedRuns creates n runs in namespace ns named run-000, run-001, ... and returns their IDs in
// creation order.
func seedRuns(t *testing.T, s store.Store, ns string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = newRun(t, s, store.Run{Namespace: ns, Name: fmt.Sprintf("run-%03d", i)}).ID
	}
	return ids
}

// listAll pages through ListRuns and returns the IDs in order.
func listAll(t *testing.T, s store.Store, opts store.ListRunsOptions) []string {
	t.Helper()
	var ids []string
	for page := 0; ; page++ {
		runs, next, err := s.ListRuns(ctx(t), opts)
		must(t, err, fmt.Sprintf("list runs page %d", page))
		if len(runs) > max(opts.PageSize, 1) {
			t.Fatalf("page %d has %d runs, page size %d", page, len(runs), opts.PageSize)
		}
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		if next == "" {
			return ids
		}
		if page > 10000 {
			t.Fatal("pagination does not end")
		}
		opts.PageToken = next
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func testListRunsPagination(t *testing.T, s store.Store) {
	ids := seedRuns(t, s, "ns", 23)
	seedRuns(t, s, "other", 3)
	for _, size := range []int{1, 5, 23, 100} {
		t.Run(fmt.Sprint("size", size), func(t *testing.T) {
			got := listAll(t, s, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", PageSize: size}})
			diff(t, "newest first", reversed(ids), got)
			got = listAll(t, s, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", PageSize: size, OrderBy: "created_at asc"}})
			diff(t, "oldest first", ids, got)
		})
	}
	runs, next, err := s.ListRuns(ctx(t), store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns"}})
	must(t, err, "default page")
	if len(runs) != 23 || next != "" {
		t.Errorf("default page size: %d runs, next %q; want all 23 and no token", len(runs), next)
	}
}

func testPaginationUnderInserts(t *testing.T, s store.Store) {
	ids := seedRuns(t, s, "ns", 10)
	opts := store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", PageSize: 4}}
	var got []string
	for {
		runs, next, err := s.ListRuns(ctx(t), opts)
		must(t, err, "list page")
		for _, r := range runs {
			got = append(got, r.ID)
		}
		// Newer runs arrive between pages; they sort before the cursor and must not shift it.
		newRun(t, s, store.Run{Namespace: "ns", Name: "late"})
		if next == "" {
			break
		}
		opts.PageToken = next
	}
	diff(t, "pages while inserting", reversed(ids), got)
}

func testListRunsOrderings(t *testing.T, s store.Store) {
	c := ctx(t)
	var all []*store.Run
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, name := range []string{"delta", "alpha", "charlie", "alpha", "bravo"} {
		r := newRun(t, s, store.Run{Namespace: "ns", Name: name})
		if i%2 == 0 { // runs 1 and 3 never start
			start := base.Add(time.Duration(5-i) * time.Hour)
			_, err := s.UpdateRun(c, "ns", r.ID, store.RunUpdate{StartedAt: start})
			must(t, err, "start run")
			r.StartedAt = start
		}
		all = append(all, r)
	}
	byName := append([]*store.Run(nil), all...)
	sort.SliceStable(byName, func(i, j int) bool {
		if byName[i].Name != byName[j].Name {
			return byName[i].Name < byName[j].Name
		}
		return byName[i].ID < byName[j].ID
	})
	byStart := append([]*store.Run(nil), all...)
	sort.SliceStable(byStart, func(i, j int) bool {
		a, b := byStart[i].StartedAt, byStart[j].StartedAt
		if !a.Equal(b) {
			return a.After(b)
		}
		return byStart[i].ID > byStart[j].ID
	})
	id := func(r *store.Run) string { return r.ID }
	for _, size := range []int{1, 2, 10} {
		got := listAll(t, s, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", OrderBy: "name", PageSize: size}})
		diff(t, fmt.Sprintf("by name, page size %d", size), names(byName, id), got)
		got = listAll(t, s, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", OrderBy: "name desc", PageSize: size}})
		diff(t, fmt.Sprintf("by name desc, page size %d", size), reversed(names(byName, id)), got)
		got = listAll(t, s, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", OrderBy: "started_at desc", PageSize: size}})
		diff(t, fmt.Sprintf("by start desc, page size %d", size), names(byStart, id), got)
	}
	_, _, err := s.ListRuns(c, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", OrderBy: "phase"}})
	wantErr(t, err, store.ErrInvalidArgument, "unknown order key")
	_, _, err = s.ListRuns(c, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", OrderBy: "name sideways"}})
	wantErr(t, err, store.ErrInvalidArgument, "bad direction")
}

func testListRunsViews(t *testing.T, s store.Store) {
	c := ctx(t)
	e1, e2, e3 := newExperiment(t, s, "ns", "e1"), newExperiment(t, s, "ns", "e2"), newExperiment(t, s, "ns", "e3")
	a := newRun(t, s, store.Run{Namespace: "ns", ExperimentID: e1.ID})
	b := newRun(t, s, store.Run{Namespace: "ns", ExperimentID: e2.ID})
	cRun := newRun(t, s, store.Run{Namespace: "ns", ExperimentID: e3.ID})
	d := newRun(t, s, store.Run{Namespace: "ns"})
	must(t, s.SetRunArchived(c, "ns", b.ID, true), "archive b")
	list := func(v store.ArchiveView, exps ...string) []string {
		return listAll(t, s, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", OrderBy: "created_at asc", PageSize: 2},
			View: v, ExperimentIDs: exps})
	}
	diff(t, "active", []string{a.ID, cRun.ID, d.ID}, list(store.ActiveOnly))
	diff(t, "archived", []string{b.ID}, list(store.ArchivedOnly))
	diff(t, "all", []string{a.ID, b.ID, cRun.ID, d.ID}, list(store.AllRuns))
	diff(t, "experiments e1 and e2, all", []string{a.ID, b.ID}, list(store.AllRuns, e1.ID, e2.ID))
	diff(t, "experiments e2 and e3, active", []string{cRun.ID}, list(store.ActiveOnly, e2.ID, e3.ID))
}

func testPageTokenErrors(t *testing.T, s store.Store) {
	c := ctx(t)
	seedRuns(t, s, "ns", 3)
	_, next, err := s.ListRuns(c, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", PageSize: 1}})
	must(t, err, "first page")
	_, _, err = s.ListRuns(c, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", PageSize: 1, PageToken: "not a token!"}})
	wantErr(t, err, store.ErrInvalidArgument, "garbage token")
	_, _, err = s.ListRuns(c, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", PageSize: 1, PageToken: next, OrderBy: "name"}})
	wantErr(t, err, store.ErrInvalidArgument, "token of another order")
	f, err := filter.Parse(`name == "run-001"`)
	must(t, err, "parse filter")
	_, _, err = s.ListRuns(c, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", PageSize: 1, PageToken: next, Filter: f}})
	wantErr(t, err, store.ErrInvalidArgument, "token of another filter")
	_, _, err = s.ListPipelines(c, store.ListOptions{Namespace: "ns", Filter: f})
	wantErr(t, err, store.ErrInvalidArgument, "filter on a list that takes none")
	_, _, err = s.ListRuns(c, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", PageSize: -1}})
	wantErr(t, err, store.ErrInvalidArgument, "negative page size")
}

func testNamespaceIsolation(t *testing.T, s store.Store) {
	c := ctx(t)
	e := newExperiment(t, s, "team-a", "exp")
	r := newRun(t, s, store.Run{Namespace: "team-a", ExperimentID: e.ID, Name: "secret"})
	newRun(t, s, store.Run{Namespace: "team-b", Name: "public"})
	_, err := s.GetRun(c, "team-b", r.ID)
	wantErr(t, err, store.ErrNotFound, "get run of another namespace")
	_, err = s.GetExperiment(c, "team-b", e.ID)
	wantErr(t, err, store.ErrNotFound, "get experiment of another namespace")
	wantErr(t, s.DeleteRun(c, "team-b", r.ID), store.ErrNotFound, "delete run of another namespace")
	wantErr(t, s.SetRunArchived(c, "team-b", r.ID, true), store.ErrNotFound, "archive run of another namespace")
	got := listAll(t, s, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "team-b", PageSize: 10}, View: store.AllRuns})
	if len(got) != 1 || got[0] == r.ID {
		t.Errorf("team-b lists %v", got)
	}
	f, err := filter.Parse(`name == "secret"`)
	must(t, err, "parse")
	got = listAll(t, s, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "team-b", PageSize: 10, Filter: f}})
	diff(t, "filter does not cross namespaces", []string(nil), got)
	exps, _, err := s.ListExperiments(c, store.ListOptions{Namespace: "team-b"}, true)
	must(t, err, "list experiments")
	if len(exps) != 0 {
		t.Errorf("team-b sees experiments %v", exps)
	}
}

func testListRunsByMetric(t *testing.T, s store.Store) {
	c := ctx(t)
	// Values repeat (ties break by ID) and two runs have no "Acc" (the key is case-sensitive).
	values := map[string]float64{"r0": 0.5, "r1": 0.9, "r2": 0.5, "r3": -2, "r4": 0.9}
	ids := map[string]string{}
	for _, name := range []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6"} {
		r := newRun(t, s, store.Run{Namespace: "ns", Name: name})
		ids[r.ID] = name
		if v, ok := values[name]; ok {
			must(t, s.LogBatch(c, r.ID, nil, []store.Metric{{Key: "Acc", Value: v - 1, Step: 0, Timestamp: ms(0)},
				{Key: "Acc", Value: v, Step: 1, Timestamp: ms(1)}}, nil), "log")
		} else {
			must(t, s.LogBatch(c, r.ID, nil, []store.Metric{{Key: "acc", Value: 100, Timestamp: ms(0)}}, nil), "log other key")
		}
	}
	order := func(desc bool) []string {
		type kv struct {
			id, name string
			v        float64
			has      bool
		}
		var all []kv
		for id, name := range ids {
			v, ok := values[name]
			all = append(all, kv{id, name, v, ok})
		}
		sort.Slice(all, func(i, j int) bool {
			a, b := all[i], all[j]
			if a.has != b.has {
				return a.has
			}
			if a.v != b.v {
				return a.v < b.v != desc
			}
			return a.id < b.id != desc
		})
		var out []string
		for _, e := range all {
			out = append(out, e.name)
		}
		return out
	}
	for _, dir := range []string{"asc", "desc"} {
		for _, size := range []int{1, 2, 50} {
			got := listAll(t, s, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", OrderBy: "metrics.Acc " + dir, PageSize: size}})
			var gotNames []string
			for _, id := range got {
				gotNames = append(gotNames, ids[id])
			}
			diff(t, fmt.Sprintf("metrics.Acc %s, page size %d", dir, size), order(dir == "desc"), gotNames)
		}
	}
	f, err := filter.Parse(`metrics.Acc > 0.0`)
	must(t, err, "parse")
	got := listAll(t, s, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", OrderBy: "metrics.Acc desc", PageSize: 1, Filter: f}})
	var gotNames []string
	for _, id := range got {
		gotNames = append(gotNames, ids[id])
	}
	if len(gotNames) != 4 || values[gotNames[0]] != 0.9 || values[gotNames[3]] != 0.5 {
		t.Errorf("filtered metric order: %v", gotNames)
	}
}
