package notebooks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFileRepository(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r, err := NewFileRepository(dir)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nbs := []*Notebook{
		{Name: "b", Namespace: "team-a", Owner: "alice", CreatedAt: created, Spec: Spec{IdleTimeout: &Duration{Duration: time.Minute}}},
		{Name: "a", Namespace: "team-a", CreatedAt: created},
		{Name: "a", Namespace: "team-b", CreatedAt: created, Stopped: true},
	}
	for _, nb := range nbs {
		if err := r.Create(ctx, nb); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Create(ctx, nbs[0]); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("second create: %v, want ErrAlreadyExists", err)
	}
	// A second repository on the same directory sees the same records (a server restart).
	r2, _ := NewFileRepository(dir)
	got, err := r2.Get(ctx, "team-a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(nbs[0], got); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}
	list := func(ns string) []string {
		t.Helper()
		nbs, err := r2.List(ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, nb := range nbs {
			out = append(out, nb.Namespace+"/"+nb.Name)
		}
		return out
	}
	if diff := cmp.Diff([]string{"team-a/a", "team-a/b", "team-b/a"}, list("")); diff != "" {
		t.Errorf("list all (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"team-a/a", "team-a/b"}, list("team-a")); diff != "" {
		t.Errorf("list team-a (-want +got):\n%s", diff)
	}
	got.Stopped = true
	if err := r2.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	if again, _ := r.Get(ctx, "team-a", "b"); !again.Stopped {
		t.Error("update not persisted")
	}
	if err := r.Update(ctx, &Notebook{Name: "zz", Namespace: "team-a"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update missing: %v, want ErrNotFound", err)
	}
	if err := r.Delete(ctx, "team-a", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, "team-a", "b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get deleted: %v, want ErrNotFound", err)
	}
	if err := r.Delete(ctx, "team-a", "b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: %v, want ErrNotFound", err)
	}
}
