package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/store"
)

func testPipelines(t *testing.T, s store.Store) {
	c := ctx(t)
	p := &store.Pipeline{Namespace: "ns", Name: "train", Description: "trains"}
	must(t, s.CreatePipeline(c, p), "create pipeline")
	if p.ID == "" || p.CreatedAt.IsZero() {
		t.Fatalf("create pipeline did not assign ID and CreatedAt: %+v", p)
	}
	wantErr(t, s.CreatePipeline(c, &store.Pipeline{Namespace: "ns", Name: "train"}), store.ErrAlreadyExists, "duplicate name")
	must(t, s.CreatePipeline(c, &store.Pipeline{Namespace: "other", Name: "train"}), "same name in another namespace")
	wantErr(t, s.CreatePipeline(c, &store.Pipeline{Namespace: "ns"}), store.ErrInvalidArgument, "empty name")

	got, err := s.GetPipeline(c, "ns", p.ID)
	must(t, err, "get pipeline")
	diff(t, "get pipeline", p, got)
	got, err = s.GetPipelineByName(c, "ns", "train")
	must(t, err, "get pipeline by name")
	diff(t, "get pipeline by name", p, got)
	_, err = s.GetPipeline(c, "other", p.ID)
	wantErr(t, err, store.ErrNotFound, "get pipeline from another namespace")

	for _, name := range []string{"b", "a", "c"} {
		must(t, s.CreatePipeline(c, &store.Pipeline{Namespace: "ns", Name: name}), "create "+name)
	}
	list, next, err := s.ListPipelines(c, store.ListOptions{Namespace: "ns", OrderBy: "name", PageSize: 3})
	must(t, err, "list pipelines")
	diff(t, "first page names", []string{"a", "b", "c"}, names(list, func(p *store.Pipeline) string { return p.Name }))
	list, next, err = s.ListPipelines(c, store.ListOptions{Namespace: "ns", OrderBy: "name", PageSize: 3, PageToken: next})
	must(t, err, "list pipelines page 2")
	diff(t, "second page names", []string{"train"}, names(list, func(p *store.Pipeline) string { return p.Name }))
	if next != "" {
		t.Errorf("last page has next token %q", next)
	}

	must(t, s.DeletePipeline(c, "ns", p.ID), "delete pipeline")
	wantErr(t, s.DeletePipeline(c, "ns", p.ID), store.ErrNotFound, "delete twice")
	_, err = s.GetPipeline(c, "ns", p.ID)
	wantErr(t, err, store.ErrNotFound, "get deleted pipeline")
}

func names[T any](items []T, name func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, name(it))
	}
	return out
}

func testPipelineVersions(t *testing.T, s store.Store) {
	c := ctx(t)
	p := &store.Pipeline{Namespace: "ns", Name: "train"}
	must(t, s.CreatePipeline(c, p), "create pipeline")
	v := &store.PipelineVersion{Namespace: "ns", PipelineID: p.ID, Name: "v1", Spec: []byte("kind: Workflow\n"),
		ParametersSchema: json.RawMessage(`{"lr":{"type":"number"}}`)}
	must(t, s.CreatePipelineVersion(c, v), "create version")
	wantErr(t, s.CreatePipelineVersion(c, &store.PipelineVersion{Namespace: "ns", PipelineID: p.ID, Name: "v1", Spec: []byte("x")}),
		store.ErrAlreadyExists, "duplicate version name")
	wantErr(t, s.CreatePipelineVersion(c, &store.PipelineVersion{Namespace: "other", PipelineID: p.ID, Name: "v2", Spec: []byte("x")}),
		store.ErrNotFound, "version of a pipeline in another namespace")
	wantErr(t, s.CreatePipelineVersion(c, &store.PipelineVersion{Namespace: "ns", PipelineID: p.ID, Name: "v3"}),
		store.ErrInvalidArgument, "version without spec")
	got, err := s.GetPipelineVersion(c, "ns", v.ID)
	must(t, err, "get version")
	diff(t, "get version", v, got)

	v2 := &store.PipelineVersion{Namespace: "ns", PipelineID: p.ID, Name: "v2", Spec: []byte("kind: Workflow\n# 2\n")}
	must(t, s.CreatePipelineVersion(c, v2), "create v2")
	list, _, err := s.ListPipelineVersions(c, p.ID, store.ListOptions{Namespace: "ns"})
	must(t, err, "list versions")
	diff(t, "versions newest first", []string{"v2", "v1"}, names(list, func(v *store.PipelineVersion) string { return v.Name }))

	must(t, s.DeletePipelineVersion(c, "ns", v2.ID), "delete version")
	must(t, s.DeletePipeline(c, "ns", p.ID), "delete pipeline")
	_, err = s.GetPipelineVersion(c, "ns", v.ID)
	wantErr(t, err, store.ErrNotFound, "versions go with their pipeline")
}

func testExperiments(t *testing.T, s store.Store) {
	c := ctx(t)
	e := &store.Experiment{Namespace: "ns", Name: "exp", Description: "d", Tags: map[string]string{"team": "vision"}}
	must(t, s.CreateExperiment(c, e), "create experiment")
	wantErr(t, s.CreateExperiment(c, &store.Experiment{Namespace: "ns", Name: "exp"}), store.ErrAlreadyExists, "duplicate experiment")
	got, err := s.GetExperimentByName(c, "ns", "exp")
	must(t, err, "get by name")
	diff(t, "get by name", e, got)

	e.Description, e.Tags = "changed", map[string]string{"team": "nlp"}
	must(t, s.UpdateExperiment(c, e), "update")
	got, err = s.GetExperiment(c, "ns", e.ID)
	must(t, err, "get")
	diff(t, "after update", e, got)

	e2 := newExperiment(t, s, "ns", "exp2")
	must(t, s.SetExperimentArchived(c, "ns", e.ID, true), "archive")
	list, _, err := s.ListExperiments(c, store.ListOptions{Namespace: "ns"}, false)
	must(t, err, "list active")
	diff(t, "active experiments", []string{e2.ID}, names(list, func(e *store.Experiment) string { return e.ID }))
	list, _, err = s.ListExperiments(c, store.ListOptions{Namespace: "ns", OrderBy: "name asc"}, true)
	must(t, err, "list all")
	diff(t, "all experiments", []string{"exp", "exp2"}, names(list, func(e *store.Experiment) string { return e.Name }))
	got, err = s.GetExperiment(c, "ns", e.ID)
	must(t, err, "get archived")
	if !got.Archived {
		t.Errorf("archived experiment reads back with Archived false")
	}
	must(t, s.SetExperimentArchived(c, "ns", e.ID, false), "unarchive")
	wantErr(t, s.SetExperimentArchived(c, "other", e.ID, true), store.ErrNotFound, "archive from another namespace")

	r := newRun(t, s, store.Run{Namespace: "ns", ExperimentID: e.ID, Name: "r"})
	wantErr(t, s.DeleteExperiment(c, "ns", e.ID), store.ErrConflict, "delete experiment with runs")
	must(t, s.DeleteRun(c, "ns", r.ID), "delete run")
	must(t, s.DeleteExperiment(c, "ns", e.ID), "delete experiment")
	wantErr(t, s.DeleteExperiment(c, "ns", e.ID), store.ErrNotFound, "delete twice")
}

func testRecurringRuns(t *testing.T, s store.Store) {
	c := ctx(t)
	e := newExperiment(t, s, "ns", "exp")
	rr := &store.RecurringRun{Namespace: "ns", Name: "nightly", ExperimentID: e.ID, Cron: "0 3 * * *", TimeZone: "Europe/Paris",
		Enabled: true, MaxConcurrency: 2, CatchUp: true, Parameters: map[string]string{"lr": "0.1"},
		StartAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	must(t, s.CreateRecurringRun(c, rr), "create")
	wantErr(t, s.CreateRecurringRun(c, &store.RecurringRun{Namespace: "ns", Name: "nightly", Interval: time.Hour}), store.ErrAlreadyExists, "duplicate")
	wantErr(t, s.CreateRecurringRun(c, &store.RecurringRun{Namespace: "ns", Name: "both", Cron: "* * * * *", Interval: time.Hour}),
		store.ErrInvalidArgument, "cron and interval")
	wantErr(t, s.CreateRecurringRun(c, &store.RecurringRun{Namespace: "ns", Name: "tz", Interval: time.Hour, TimeZone: "Mars/Olympus"}),
		store.ErrInvalidArgument, "bad time zone")
	wantErr(t, s.CreateRecurringRun(c, &store.RecurringRun{Namespace: "other", Name: "x", Interval: time.Hour, ExperimentID: e.ID}),
		store.ErrNotFound, "experiment of another namespace")
	got, err := s.GetRecurringRun(c, "ns", rr.ID)
	must(t, err, "get")
	diff(t, "get", rr, got)

	hourly := &store.RecurringRun{Namespace: "ns", Name: "hourly", Interval: time.Hour}
	must(t, s.CreateRecurringRun(c, hourly), "create hourly")
	enabled, err := s.ListEnabledRecurringRuns(c)
	must(t, err, "list enabled")
	diff(t, "enabled", []string{rr.ID}, names(enabled, func(r *store.RecurringRun) string { return r.ID }))
	must(t, s.SetRecurringRunEnabled(c, "ns", rr.ID, false), "disable")
	must(t, s.SetRecurringRunEnabled(c, "ns", hourly.ID, true), "enable")
	enabled, err = s.ListEnabledRecurringRuns(c)
	must(t, err, "list enabled")
	diff(t, "enabled after toggling", []string{hourly.ID}, names(enabled, func(r *store.RecurringRun) string { return r.ID }))

	hourly.Interval, hourly.Description = 2*time.Hour, "every two hours"
	must(t, s.UpdateRecurringRun(c, hourly), "update")
	got, err = s.GetRecurringRun(c, "ns", hourly.ID)
	must(t, err, "get updated")
	diff(t, "updated", hourly, got)

	tick := time.Date(2026, 2, 1, 3, 0, 0, 0, time.UTC)
	must(t, s.MarkRecurringRunFired(c, "ns", rr.ID, tick), "mark fired")
	wantErr(t, s.MarkRecurringRunFired(c, "ns", rr.ID, tick), store.ErrConflict, "same tick twice")
	wantErr(t, s.MarkRecurringRunFired(c, "ns", "missing", tick), store.ErrNotFound, "missing schedule")
	must(t, s.MarkRecurringRunFired(c, "ns", rr.ID, tick.Add(24*time.Hour)), "next tick")

	list, _, err := s.ListRecurringRuns(c, store.ListOptions{Namespace: "ns", OrderBy: "name"})
	must(t, err, "list")
	diff(t, "list by name", []string{"hourly", "nightly"}, names(list, func(r *store.RecurringRun) string { return r.Name }))

	run := newRun(t, s, store.Run{Namespace: "ns", RecurringRunID: rr.ID})
	must(t, s.DeleteRecurringRun(c, "ns", rr.ID), "delete")
	gotRun, err := s.GetRun(c, "ns", run.ID)
	must(t, err, "run outlives its schedule")
	if gotRun.RecurringRunID != "" {
		t.Errorf("run still points at deleted schedule %q", gotRun.RecurringRunID)
	}
}
