package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/kilnml/kiln/backend/store"
)

func testArtifactsAndLineage(t *testing.T, s store.Store) {
	c := ctx(t)
	train := newRun(t, s, store.Run{Namespace: "ns", Name: "train"})
	eval := newRun(t, s, store.Run{Namespace: "ns", Name: "eval"})
	model := &store.Artifact{Namespace: "ns", RunID: train.ID, NodeID: "train-1", Name: "model", URI: "file:///runs/train/model",
		Type: "Model", Digest: "sha256:abc", Size: 42, Metadata: map[string]string{"framework": "onnx"}}
	must(t, s.CreateArtifact(c, model), "create artifact")
	got, err := s.GetArtifact(c, "ns", model.ID)
	must(t, err, "get artifact")
	diff(t, "artifact", model, got)
	_, err = s.GetArtifact(c, "other", model.ID)
	wantErr(t, err, store.ErrNotFound, "artifact of another namespace")
	wantErr(t, s.CreateArtifact(c, &store.Artifact{Namespace: "other", RunID: train.ID, URI: "file:///x"}), store.ErrNotFound,
		"artifact of a run in another namespace")
	ds := &store.Artifact{Namespace: "ns", Name: "dataset", URI: "s3://bucket/data", Type: "Dataset"}
	must(t, s.CreateArtifact(c, ds), "create artifact without run")

	consume := []store.LineageEvent{
		{ArtifactID: model.ID, RunID: eval.ID, NodeID: "eval-1", Kind: store.Consumed},
		{ArtifactID: ds.ID, RunID: train.ID, NodeID: "train-1", Kind: store.Consumed},
	}
	must(t, s.RecordLineage(c, consume), "record lineage")
	must(t, s.RecordLineage(c, consume[:1]), "record the same event again")
	wantErr(t, s.RecordLineage(c, []store.LineageEvent{{ArtifactID: model.ID, RunID: eval.ID, Kind: "borrowed"}}),
		store.ErrInvalidArgument, "unknown kind")
	wantErr(t, s.RecordLineage(c, []store.LineageEvent{{ArtifactID: "missing", RunID: eval.ID, Kind: store.Consumed}}),
		store.ErrNotFound, "missing artifact")

	type edge struct {
		Artifact, Run, Node string
		Kind                store.LineageKind
	}
	edges := func(evs []store.LineageEvent) map[edge]bool {
		m := map[edge]bool{}
		for _, e := range evs {
			m[edge{e.ArtifactID, e.RunID, e.NodeID, e.Kind}] = true
		}
		return m
	}
	evs, err := s.ArtifactLineage(c, model.ID)
	must(t, err, "artifact lineage")
	diff(t, "model lineage", map[edge]bool{
		{model.ID, train.ID, "train-1", store.Produced}: true,
		{model.ID, eval.ID, "eval-1", store.Consumed}:   true,
	}, edges(evs))
	evs, err = s.RunLineage(c, train.ID)
	must(t, err, "run lineage")
	diff(t, "train lineage", map[edge]bool{
		{model.ID, train.ID, "train-1", store.Produced}: true,
		{ds.ID, train.ID, "train-1", store.Consumed}:    true,
	}, edges(evs))

	list, _, err := s.ListArtifacts(c, store.ListArtifactsOptions{ListOptions: store.ListOptions{Namespace: "ns"}, RunID: train.ID})
	must(t, err, "list artifacts of run")
	diff(t, "artifacts of train", []string{model.ID}, names(list, func(a *store.Artifact) string { return a.ID }))
	list, _, err = s.ListArtifacts(c, store.ListArtifactsOptions{ListOptions: store.ListOptions{Namespace: "ns", OrderBy: "name"}})
	must(t, err, "list artifacts")
	diff(t, "artifacts by name", []string{"dataset", "model"}, names(list, func(a *store.Artifact) string { return a.Name }))
}

func testModelRegistry(t *testing.T, s store.Store) {
	c := ctx(t)
	r := newRun(t, s, store.Run{Namespace: "ns"})
	a := &store.Artifact{Namespace: "ns", RunID: r.ID, URI: "file:///model"}
	must(t, s.CreateArtifact(c, a), "artifact")
	m := &store.RegisteredModel{Namespace: "ns", Name: "resnet", Description: "d", Tags: map[string]string{"task": "cls"}}
	must(t, s.CreateRegisteredModel(c, m), "create model")
	wantErr(t, s.CreateRegisteredModel(c, &store.RegisteredModel{Namespace: "ns", Name: "resnet"}), store.ErrAlreadyExists, "duplicate model")
	got, err := s.GetRegisteredModel(c, "ns", "resnet")
	must(t, err, "get model")
	diff(t, "model", m, got)

	var versions []*store.ModelVersion
	for i := range 3 {
		v := &store.ModelVersion{Namespace: "ns", ModelName: "resnet", Source: fmt.Sprintf("runs:/%s/model", r.ID), RunID: r.ID, ArtifactID: a.ID}
		must(t, s.CreateModelVersion(c, v), "create version")
		if v.Version != int64(i+1) || v.Status != "READY" {
			t.Fatalf("version %d: got number %d status %q", i+1, v.Version, v.Status)
		}
		versions = append(versions, v)
	}
	wantErr(t, s.CreateModelVersion(c, &store.ModelVersion{Namespace: "ns", ModelName: "missing"}), store.ErrNotFound, "version of a missing model")
	wantErr(t, s.CreateModelVersion(c, &store.ModelVersion{Namespace: "ns", ModelName: "resnet", ArtifactID: "missing"}), store.ErrNotFound,
		"version of a missing artifact")
	gotV, err := s.GetModelVersion(c, "ns", "resnet", 2)
	must(t, err, "get version")
	diff(t, "version 2", versions[1], gotV)
	versions[1].Description, versions[1].Status = "best", "READY"
	must(t, s.UpdateModelVersion(c, versions[1]), "update version")
	list, err := s.ListModelVersions(c, "ns", "resnet")
	must(t, err, "list versions")
	diff(t, "versions newest first", []*store.ModelVersion{versions[2], versions[1], versions[0]}, list)

	must(t, s.SetAlias(c, store.Alias{Namespace: "ns", ModelName: "resnet", Alias: "production", Version: 2}), "set alias")
	must(t, s.SetAlias(c, store.Alias{Namespace: "ns", ModelName: "resnet", Alias: "staging", Version: 3}), "set staging")
	wantErr(t, s.SetAlias(c, store.Alias{Namespace: "ns", ModelName: "resnet", Alias: "x", Version: 9}), store.ErrNotFound, "alias to a missing version")
	byAlias, err := s.GetModelVersionByAlias(c, "ns", "resnet", "production")
	must(t, err, "resolve alias")
	diff(t, "production", versions[1], byAlias)
	must(t, s.SetAlias(c, store.Alias{Namespace: "ns", ModelName: "resnet", Alias: "production", Version: 3}), "move alias")
	byAlias, err = s.GetModelVersionByAlias(c, "ns", "resnet", "production")
	must(t, err, "resolve moved alias")
	if byAlias.Version != 3 {
		t.Errorf("production -> %d after move, want 3", byAlias.Version)
	}
	must(t, s.DeleteModelVersion(c, "ns", "resnet", 3), "delete version 3")
	aliases, err := s.ListAliases(c, "ns", "resnet")
	must(t, err, "list aliases")
	diff(t, "aliases of a deleted version go with it", []store.Alias(nil), aliases)
	must(t, s.SetAlias(c, store.Alias{Namespace: "ns", ModelName: "resnet", Alias: "production", Version: 1}), "set alias")
	wantErr(t, s.DeleteAlias(c, "ns", "resnet", "staging"), store.ErrNotFound, "delete a removed alias")
	must(t, s.DeleteAlias(c, "ns", "resnet", "production"), "delete alias")
	_, err = s.GetModelVersionByAlias(c, "ns", "resnet", "production")
	wantErr(t, err, store.ErrNotFound, "resolve deleted alias")

	m.Description = "updated"
	must(t, s.UpdateRegisteredModel(c, m), "update model")
	models, _, err := s.ListRegisteredModels(c, store.ListOptions{Namespace: "ns"})
	must(t, err, "list models")
	if len(models) != 1 || models[0].Description != "updated" {
		t.Errorf("models after update: %+v", models)
	}
	must(t, s.DeleteRegisteredModel(c, "ns", "resnet"), "delete model")
	_, err = s.GetModelVersion(c, "ns", "resnet", 1)
	wantErr(t, err, store.ErrNotFound, "versions go with their model")
	must(t, s.CreateRegisteredModel(c, &store.RegisteredModel{Namespace: "ns", Name: "resnet"}), "re-create model")
	v := &store.ModelVersion{Namespace: "ns", ModelName: "resnet"}
	must(t, s.CreateModelVersion(c, v), "version of re-created model")
	if v.Version != 1 {
		t.Errorf("re-created model starts at version %d", v.Version)
	}
}

// testAliasMovesAtomically moves an alias back and forth while readers resolve it: every read
// sees one of the two versions, never a missing alias.
func testAliasMovesAtomically(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateRegisteredModel(c, &store.RegisteredModel{Namespace: "ns", Name: "m"}), "model")
	for range 2 {
		must(t, s.CreateModelVersion(c, &store.ModelVersion{Namespace: "ns", ModelName: "m"}), "version")
	}
	must(t, s.SetAlias(c, store.Alias{Namespace: "ns", ModelName: "m", Alias: "production", Version: 1}), "alias")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 100)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := s.GetModelVersionByAlias(c, "ns", "m", "production")
				if err != nil {
					errs <- err
					return
				}
				if v.Version != 1 && v.Version != 2 {
					errs <- fmt.Errorf("alias resolved to version %d", v.Version)
					return
				}
			}
		}()
	}
	for i := range 50 {
		if err := s.SetAlias(c, store.Alias{Namespace: "ns", ModelName: "m", Alias: "production", Version: int64(i%2 + 1)}); err != nil {
			t.Errorf("move alias: %v", err)
			break
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("reader: %v", err)
	}
}

func testConcurrentModelVersions(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateRegisteredModel(c, &store.RegisteredModel{Namespace: "ns", Name: "m"}), "model")
	const n = 20
	var wg sync.WaitGroup
	nums := make(chan int64, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := &store.ModelVersion{Namespace: "ns", ModelName: "m"}
			if err := s.CreateModelVersion(c, v); err != nil {
				t.Errorf("create version: %v", err)
				return
			}
			nums <- v.Version
		}()
	}
	wg.Wait()
	close(nums)
	seen := map[int64]bool{}
	for v := range nums {
		if seen[v] || v < 1 || v > n {
			t.Errorf("version number %d duplicated or out of range", v)
		}
		seen[v] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct versions, want %d", len(seen), n)
	}
}
