package local

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/engine"
)

// A fake pipeline binary: `component <out-param-file> <out-artifact-dir> <in-file>`.
const fakePipeline = `#!/bin/sh
set -e
shift # the component name
out="$1"; art="$2"; in="$3"
mkdir -p "$(dirname "$out")" "$art"
sleep 0.2
if [ -n "$in" ]; then cat "$in" > "$art/data.txt"; else echo "$KILN_ITEM" > "$art/data.txt"; fi
printf '%s' "$(cat "$art/data.txt")" > "$out"
`

func TestGoComponentsRemapPathsInParallel(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "pipeline")
	if err := os.WriteFile(bin, []byte(fakePipeline), 0o755); err != nil {
		t.Fatal(err)
	}
	doc := `
metadata: {name: gocomp}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: produce
        template: produce
        arguments: {parameters: [{name: v, value: "{{item}}"}]}
        withItems: [a, b, c, d]
      - name: consume
        depends: produce
        template: consume
        arguments: {parameters: [{name: all, value: "{{tasks.produce.outputs.parameters.value}}"}]}
  - name: produce
    metadata: {annotations: {kiln.dev/go-component: produce}}
    inputs: {parameters: [{name: v}]}
    outputs:
      parameters: [{name: value, valueFrom: {path: /tmp/kiln/outputs/value}}]
      artifacts: [{name: data, path: /tmp/kiln/artifacts/data}]
    container:
      image: example.com/pipeline
      command: [/ko-app/pipeline, component]
      args: [/tmp/kiln/outputs/value, /tmp/kiln/artifacts/data]
      env: [{name: KILN_ITEM, value: "{{inputs.parameters.v}}"}]
  - name: consume
    inputs: {parameters: [{name: all}]}
    container: {image: alpine, command: [sh, -c, "echo '{{inputs.parameters.all}}'"]}
`
	wf, err := engine.ParseWorkflow([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	// Without a pipeline binary the workflow is rejected before it starts.
	_, err = New(Options{WorkDir: dir}).Submit(context.Background(), wf, engine.SubmitOptions{})
	if err == nil || !strings.Contains(err.Error(), "spec.templates[1].container.command[0]") {
		t.Fatalf("submit without binary: err = %v, want rejection naming spec.templates[1].container.command[0]", err)
	}
	e := New(Options{WorkDir: dir, PipelineBinary: bin})
	st := runWF(t, e, wf, nil)
	if st.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s %v", st.Status.Phase, st.Status.Message, nodePhases(st))
	}
	got := *nodeByDisplay(t, st, "consume").Outputs.Result
	if got != `["a","b","c","d"]` {
		t.Errorf("consume saw %s, want every item's own value", got)
	}
	for _, n := range st.Status.Nodes {
		if n.TemplateName != "produce" || n.Type != wfv1.NodeTypePod {
			continue
		}
		p, ok := ArtifactPath(n.Outputs.Artifacts[0])
		if !ok {
			t.Fatalf("artifact %+v has no local path", n.Outputs.Artifacts[0])
		}
		b, err := os.ReadFile(filepath.Join(p, "data.txt"))
		if err != nil || strings.TrimSpace(string(b)) != n.Inputs.Parameters[0].Value.String() {
			t.Errorf("%s: artifact holds %q (%v), want %q", n.Name, b, err, n.Inputs.Parameters[0].Value.String())
		}
	}
	if _, err := os.Stat("/tmp/kiln/outputs/value"); err == nil {
		t.Errorf("a node wrote to the host's /tmp/kiln instead of its private directory")
	}
}

func TestMemoization(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "count")
	doc := `
metadata: {generateName: memo-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: x, value: "1"}]}
  templates:
  - name: main
    memoize:
      key: "k-{{workflow.parameters.x}}"
      maxAge: "1h"
      cache: {configMap: {name: my-cache}}
    outputs:
      parameters: [{name: out, valueFrom: {path: /tmp/out}}]
      artifacts: [{name: file, path: /tmp/file}]
    container:
      image: alpine
      command: [sh, -c, "echo run >> ` + counter + `; echo v{{workflow.parameters.x}} > /tmp/out; echo art > /tmp/file"]
`
	e := New(Options{WorkDir: dir})
	first := runYAML(t, e, doc, nil)
	second := runYAML(t, e, doc, nil)
	third := runYAML(t, e, doc, map[string]string{"x": "2"})
	for i, st := range []*engine.RunStatus{first, second, third} {
		if st.Status.Phase != wfv1.WorkflowSucceeded {
			t.Fatalf("run %d: %s %s", i, st.Status.Phase, st.Status.Message)
		}
	}
	runs, _ := os.ReadFile(counter)
	if got := strings.Count(string(runs), "run"); got != 2 {
		t.Errorf("template ran %d times, want 2 (second run is a cache hit)", got)
	}
	root := second.Status.Nodes[second.Workflow]
	if root.MemoizationStatus == nil || !root.MemoizationStatus.Hit || root.MemoizationStatus.CacheName != "my-cache" {
		t.Errorf("second run memoization = %+v, want a hit in my-cache", root.MemoizationStatus)
	}
	if got := root.Outputs.Parameters[0].Value.String(); got != "v1" {
		t.Errorf("cached output = %q, want v1", got)
	}
	p, _ := ArtifactPath(root.Outputs.Artifacts[0])
	if b, err := os.ReadFile(p); err != nil || string(b) != "art\n" {
		t.Errorf("cached artifact = %q, %v", b, err)
	}
}

func TestRetryRerunsOnlyFailedNodes(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "ok")
	counter := filepath.Join(dir, "a-runs")
	doc := `
metadata: {name: retryrun}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: a}
      - {name: b, template: b, depends: a, arguments: {parameters: [{name: in, value: "{{tasks.a.outputs.result}}"}]}}
  - name: a
    container: {image: alpine, command: [sh, -c, "echo x >> ` + counter + `; echo from-a"]}
  - name: b
    inputs: {parameters: [{name: in}]}
    container: {image: alpine, command: [sh, -c, "test -f ` + flag + ` && echo {{inputs.parameters.in}}"]}
`
	e := New(Options{WorkDir: dir})
	st := runYAML(t, e, doc, nil)
	if st.Status.Phase != wfv1.WorkflowFailed {
		t.Fatalf("first attempt phase %s, want Failed", st.Status.Phase)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Retry(ctx, st.RunID); err != nil {
		t.Fatal(err)
	}
	st, err := e.Wait(ctx, st.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("retried phase %s: %s", st.Status.Phase, st.Status.Message)
	}
	if b, _ := os.ReadFile(counter); strings.Count(string(b), "x") != 1 {
		t.Errorf("task a ran %d times, want once (its success is kept)", strings.Count(string(b), "x"))
	}
	if got := *nodeByDisplay(t, st, "b").Outputs.Result; got != "from-a" {
		t.Errorf("b = %q, want from-a", got)
	}
}

func TestWatchStreamsTypedEvents(t *testing.T) {
	e := newTestEngine(t)
	wf, err := engine.ParseWorkflow([]byte(`
metadata: {name: watch}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: one, template: ok}
  - name: ok
    container: {image: alpine, command: [echo, hi]}
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id, err := e.Submit(ctx, wf, engine.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.Watch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var phases []wfv1.WorkflowPhase
	oneFinal := wfv1.NodePhase("")
	seq := 0
	for ev := range ch {
		if ev.Seq != seq+1 {
			t.Errorf("event seq %d after %d", ev.Seq, seq)
		}
		seq = ev.Seq
		switch ev.Type {
		case engine.EventRun:
			phases = append(phases, ev.Phase)
		case engine.EventNode:
			if ev.Node.DisplayName == "one" {
				oneFinal = ev.Node.Phase
			}
		}
	}
	want := []wfv1.WorkflowPhase{wfv1.WorkflowPending, wfv1.WorkflowRunning, wfv1.WorkflowSucceeded}
	if diff := cmp.Diff(want, phases); diff != "" {
		t.Errorf("run phases (-want +got):\n%s", diff)
	}
	if oneFinal != wfv1.NodeSucceeded {
		t.Errorf("last event for node one had phase %q", oneFinal)
	}
	// A second watcher after the end replays everything and terminates.
	ch2, _ := e.Watch(ctx, id)
	n := 0
	for range ch2 {
		n++
	}
	if n != seq {
		t.Errorf("replay delivered %d events, want %d", n, seq)
	}
	rc, err := e.Logs(ctx, id, "one", true)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hi\n" {
		t.Errorf("logs = %q, want hi", b)
	}
}

func TestParallelismLimits(t *testing.T) {
	tests := []struct {
		name, parallelism, where string
	}{
		{"workflow", "  parallelism: 2\n", "spec"},
		{"template", "    parallelism: 2\n", "template"},
		{"nested template", "    parallelism: 2\n", "outer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			specPar, tmplPar := "", ""
			outerPar := ""
			switch tc.where {
			case "spec":
				specPar = tc.parallelism
			case "template":
				tmplPar = tc.parallelism
			default:
				outerPar = tc.parallelism
			}
			doc := "metadata: {name: par}\nspec:\n  entrypoint: outer\n" + specPar + `  templates:
  - name: outer
` + outerPar + `    dag:
      tasks:
      - {name: inner, template: main}
  - name: main
` + tmplPar + `    steps:
    - - {name: s, template: work, withSequence: {count: "6"}}
  - name: work
    container: {image: alpine, command: [sh, -c, "mkdir ` + dir + `/lock.$$; test $(ls -d ` + dir + `/lock.* | wc -l) -le 2 || touch ` + dir + `/violated; sleep 0.2; rmdir ` + dir + `/lock.$$"]}
`
			st := runYAML(t, newTestEngine(t), doc, nil)
			if st.Status.Phase != wfv1.WorkflowSucceeded {
				t.Fatalf("phase %s: %s", st.Status.Phase, st.Status.Message)
			}
			if _, err := os.Stat(filepath.Join(dir, "violated")); err == nil {
				t.Errorf("more than 2 nodes ran at once")
			}
		})
	}
}

func TestRejectsUnsupportedWithFieldPaths(t *testing.T) {
	doc := `
metadata: {name: bad}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: res}
      - {name: b, template: ok, hooks: {running: {template: ok, expression: "true"}}}
  - name: res
    resource: {action: create, manifest: "kind: ConfigMap"}
  - name: ok
    container:
      image: alpine
      command: ["true"]
      env: [{name: S, valueFrom: {secretKeyRef: {name: s, key: k}}}]
`
	wf, err := engine.ParseWorkflow([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	_, err = newTestEngine(t).Submit(context.Background(), wf, engine.SubmitOptions{})
	if err == nil {
		t.Fatal("submit succeeded, want rejection")
	}
	for _, path := range []string{"spec.templates[1].resource", "spec.templates[0].steps[0][1].hooks[running]", "spec.templates[2].container.env[0].valueFrom"} {
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name %s", err, path)
		}
	}
	if _, err := engine.ParseWorkflow([]byte("spec: {entrypoint: x, templatez: []}")); err == nil || !strings.Contains(err.Error(), "templatez") {
		t.Errorf("strict parse: err = %v, want unknown field templatez", err)
	}
}

func TestTemplateDefaults(t *testing.T) {
	st := runYAML(t, newTestEngine(t), `
metadata: {name: defaults}
spec:
  entrypoint: main
  templateDefaults:
    container: {env: [{name: GREETING, value: hi}]}
  templates:
  - name: main
    steps:
    - - {name: greet, template: greet}
  - name: greet
    container: {image: alpine, command: [sh, -c, 'echo "$GREETING $OWN"'], env: [{name: OWN, value: mine}]}
`, nil)
	if st.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s", st.Status.Phase, st.Status.Message)
	}
	if got := *nodeByDisplay(t, st, "greet").Outputs.Result; got != "hi mine" {
		t.Errorf("result %q, want the default env merged with the template's own", got)
	}
}
