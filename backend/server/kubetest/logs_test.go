package kubetest

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLiveLogsOnKubernetes follows a running pod's log through GET
// /api/v1/runs/{id}/nodes/{node}/logs?follow=true: the engine reads pods/log
// from the API server, which proxies to kwok's kubelet-like server, which
// serves the harness's log file; lines appended while the pod runs arrive on
// the open stream.
func TestLiveLogsOnKubernetes(t *testing.T) {
	e := startE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := e.runWorkflow(ctx, t, "logs", stoppable())
	e.waitNode(ctx, t, run.ID, "long", "Running")
	defer func() {
		if _, err := e.c.CancelRun(context.WithoutCancel(ctx), run.ID); err != nil {
			t.Errorf("cancel: %v", err)
		}
	}()

	marker := fmt.Sprintf("kiln-live-%d", time.Now().UnixNano())
	if err := e.env.AppendPodLog(marker + " epoch 1"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rc, err := e.c.Logs(ctx, run.ID, "long", true)
	if err != nil {
		t.Fatalf("follow logs of the running node: %v", err)
	}
	defer rc.Close()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(want string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("log stream ended before %q", want)
				}
				if strings.Contains(l, want) {
					return
				}
			case <-timeout:
				t.Fatalf("no log line %q within 30s", want)
			}
		}
	}
	next(marker + " epoch 1") // written before the request
	t.Logf("first line after %v", time.Since(start).Round(time.Millisecond))
	for i := 2; i <= 3; i++ {
		written := time.Now()
		line := fmt.Sprintf("%s epoch %d", marker, i)
		if err := e.env.AppendPodLog(line); err != nil {
			t.Fatal(err)
		}
		next(line) // written while the stream is open and the pod runs
		t.Logf("line %d arrived %v after it was written", i, time.Since(written).Round(time.Millisecond))
	}
	got, err := e.c.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p := nodePhases(got)["long"]; p != "Running" {
		t.Errorf("long = %q while its log was followed, want Running", p)
	}
}
