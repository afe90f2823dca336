package kubetest

import (
	"context"
	"testing"
	"time"
)

// TestFlagshipOnKubernetes runs the flagship pipeline, compiled by its own
// program, through the REST API on Argo's controller with kwok's pods.
func TestFlagshipOnKubernetes(t *testing.T) {
	e := startE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	run := e.runWorkflow(ctx, t, "flagship", compileExample(t, "flagship"))
	got := e.wait(ctx, t, run.ID)
	t.Logf("flagship ended %s after %v\n%s", got.Phase, time.Since(start).Round(time.Millisecond), describe(got))
	assertAllDone(t, got)
}
