package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/engine"
)

// argoExamplesDir finds Argo's examples/ folder in the module cache.
func argoExamplesDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/argoproj/argo-workflows/v3").Output()
	if err != nil {
		t.Fatalf("locate argo-workflows module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "examples")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("argo examples: %v", err)
	}
	return dir
}

// exampleOutcome is what happened to one example.
type exampleOutcome struct {
	file   string
	phase  wfv1.WorkflowPhase // empty when not submitted
	reason string
}

// runExample parses and runs one example file with a time limit.
func runExample(e *Engine, path string, limit time.Duration) exampleOutcome {
	name := filepath.Base(path)
	data, err := os.ReadFile(path)
	if err != nil {
		return exampleOutcome{file: name, reason: err.Error()}
	}
	wf, err := engine.ParseWorkflow(data)
	if err != nil {
		return exampleOutcome{file: name, reason: firstLine(err.Error())}
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	id, err := e.Submit(ctx, wf, engine.SubmitOptions{})
	if err != nil {
		return exampleOutcome{file: name, reason: firstLine(err.Error())}
	}
	st, err := e.Wait(ctx, id)
	if err != nil {
		_ = e.Cancel(context.Background(), id)
		st, _ = e.Wait(context.Background(), id)
		return exampleOutcome{file: name, phase: st.Status.Phase, reason: "timed out after " + limit.String()}
	}
	reason := st.Status.Message
	for _, n := range st.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && n.Phase.FailedOrError() && strings.HasPrefix(n.Message, "start ") {
			reason = n.Message
		}
	}
	return exampleOutcome{file: name, phase: st.Status.Phase, reason: firstLine(reason)}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// TestArgoExamples runs a curated set of Argo's own examples whose containers
// only need POSIX shell tools and checks the phase Argo documents for each.
func TestArgoExamples(t *testing.T) {
	dir := argoExamplesDir(t)
	cases := []struct {
		file string
		want wfv1.WorkflowPhase
	}{
		{"dag-diamond.yaml", wfv1.WorkflowSucceeded},
		{"dag-diamond-steps.yaml", wfv1.WorkflowSucceeded},
		{"dag-multiroot.yaml", wfv1.WorkflowSucceeded},
		{"dag-nested.yaml", wfv1.WorkflowSucceeded},
		{"dag-targets.yaml", wfv1.WorkflowSucceeded},
		{"dag-enhanced-depends.yaml", wfv1.WorkflowSucceeded},
		{"dag-conditional-parameters.yaml", wfv1.WorkflowSucceeded},
		{"dag-conditional-artifacts.yaml", wfv1.WorkflowSucceeded},
		{"conditional-parameters.yaml", wfv1.WorkflowSucceeded},
		{"conditional-artifacts.yaml", wfv1.WorkflowSucceeded},
		{"conditionals-complex.yaml", wfv1.WorkflowSucceeded},
		{"steps.yaml", wfv1.WorkflowSucceeded},
		{"loops.yaml", wfv1.WorkflowSucceeded},
		{"loops-maps.yaml", wfv1.WorkflowSucceeded},
		{"loops-dag.yaml", wfv1.WorkflowSucceeded},
		{"loops-sequence.yaml", wfv1.WorkflowSucceeded},
		{"loops-param-argument.yaml", wfv1.WorkflowSucceeded},
		{"parameter-aggregation.yaml", wfv1.WorkflowSucceeded},
		{"parameter-aggregation-dag.yaml", wfv1.WorkflowSucceeded},
		{"parameter-aggregation-script.yaml", wfv1.WorkflowSucceeded},
		{"arguments-parameters.yaml", wfv1.WorkflowSucceeded},
		{"global-parameters.yaml", wfv1.WorkflowSucceeded},
		{"global-outputs.yaml", wfv1.WorkflowSucceeded},
		{"output-parameter.yaml", wfv1.WorkflowSucceeded},
		{"artifact-passing.yaml", wfv1.WorkflowSucceeded},
		{"artifact-passing-subpath.yaml", wfv1.WorkflowSucceeded},
		{"artifact-path-placeholders.yaml", wfv1.WorkflowSucceeded},
		{"input-artifact-raw.yaml", wfv1.WorkflowSucceeded},
		{"exit-handler-dag-level.yaml", wfv1.WorkflowSucceeded},
		{"exit-handler-step-level.yaml", wfv1.WorkflowSucceeded},
		{"exit-handler-with-artifacts.yaml", wfv1.WorkflowSucceeded},
		{"exit-handler-with-param.yaml", wfv1.WorkflowSucceeded},
		{"template-on-exit.yaml", wfv1.WorkflowSucceeded},
		{"status-reference.yaml", wfv1.WorkflowSucceeded},
		{"retry-container.yaml", wfv1.WorkflowSucceeded},
		{"retry-script.yaml", wfv1.WorkflowSucceeded},
		{"retry-with-steps.yaml", wfv1.WorkflowSucceeded},
		{"retry-backoff.yaml", wfv1.WorkflowSucceeded},
		{"continue-on-fail.yaml", wfv1.WorkflowSucceeded},
		{"recursive-for-loop.yaml", wfv1.WorkflowSucceeded},
		{"withsequence-nested-result.yaml", wfv1.WorkflowSucceeded},
		{"memoize-simple.yaml", wfv1.WorkflowSucceeded},
		{"nested-workflow.yaml", wfv1.WorkflowSucceeded},
		{"handle-large-output-results.yaml", wfv1.WorkflowSucceeded},
		{"fibonacci-seq-conditional-param.yaml", wfv1.WorkflowSucceeded},
		{"expression-destructure-json.yaml", wfv1.WorkflowSucceeded},
		{"expression-destructure-json-complex.yaml", wfv1.WorkflowSucceeded},
		{"expression-reusing-verbose-snippets.yaml", wfv1.WorkflowSucceeded},
		{"scripts-bash.yaml", wfv1.WorkflowSucceeded},
		{"exit-code-output-variable.yaml", wfv1.WorkflowSucceeded},
		{"hello-world.yaml", wfv1.WorkflowSucceeded},
		{"coinflip.yaml", wfv1.WorkflowSucceeded},
		{"coinflip-recursive.yaml", wfv1.WorkflowSucceeded},
		{"exit-handlers.yaml", wfv1.WorkflowFailed},
		{"dag-continue-on-fail.yaml", wfv1.WorkflowFailed},
		{"loops-arbitrary-sequential-steps.yaml", wfv1.WorkflowFailed},
		{"timeouts-step.yaml", wfv1.WorkflowFailed},
		{"step-level-timeout.yaml", wfv1.WorkflowFailed},
		{"dag-task-level-timeout.yaml", wfv1.WorkflowFailed},
	}
	e := New(Options{WorkDir: t.TempDir()})
	// Run every example at once (the table is I/O- and sleep-bound), then
	// check each in its own subtest.
	outcomes := make([]exampleOutcome, len(cases))
	var wg sync.WaitGroup
	for i, tc := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i] = runExample(e, filepath.Join(dir, tc.file), 60*time.Second)
		}()
	}
	wg.Wait()
	for i, tc := range cases {
		t.Run(strings.TrimSuffix(tc.file, ".yaml"), func(t *testing.T) {
			requireCommands(t, filepath.Join(dir, tc.file))
			if got := outcomes[i]; got.phase != tc.want {
				t.Errorf("%s: phase %q (%s), want %q", tc.file, got.phase, got.reason, tc.want)
			}
		})
	}
}

// requireCommands skips (or fails, with CI=true) when an example needs a
// program this machine does not have, such as python3 for script examples.
func requireCommands(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := engine.ParseWorkflow(data)
	if err != nil {
		return
	}
	for _, tmpl := range wf.Spec.Templates {
		var cmd []string
		switch {
		case tmpl.Script != nil:
			cmd = tmpl.Script.Command
		case tmpl.Container != nil:
			cmd = append(tmpl.Container.Command, tmpl.Container.Args...)
		}
		if len(cmd) == 0 {
			continue
		}
		if _, err := exec.LookPath(cmd[0]); err != nil {
			msg := fmt.Sprintf("%s needs %q on PATH (install it, e.g. apt-get install python3 / bash)", filepath.Base(path), cmd[0])
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// TestArgoExamplesSurvey runs every example and prints a table of outcomes
// (used to maintain docs/local-engine.md). Set KILN_ARGO_SURVEY=1 to run it.
func TestArgoExamplesSurvey(t *testing.T) {
	if os.Getenv("KILN_ARGO_SURVEY") == "" {
		t.Skip("set KILN_ARGO_SURVEY=1 to survey all Argo examples")
	}
	dir := argoExamplesDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if only := os.Getenv("KILN_ARGO_ONLY"); only != "" {
		files = nil
		for _, f := range strings.Split(only, ",") {
			files = append(files, filepath.Join(dir, f+".yaml"))
		}
	}
	e := New(Options{WorkDir: t.TempDir()})
	var (
		mu  sync.Mutex
		out []exampleOutcome
		wg  sync.WaitGroup
		sem = make(chan struct{}, 24)
	)
	for _, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o := runExample(e, f, 90*time.Second)
			mu.Lock()
			out = append(out, o)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].file < out[j].file })
	counts := map[string]int{}
	for _, o := range out {
		k := string(o.phase)
		if k == "" {
			k = "Rejected"
		}
		counts[k]++
		fmt.Printf("| %s | %s | %s |\n", o.file, k, strings.ReplaceAll(o.reason, "|", "\\|"))
	}
	fmt.Printf("total %d: %v\n", len(out), counts)
	if os.Getenv("KILN_ARGO_ONLY") != "" {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, r := range e.runs {
			st := r.statusCopy()
			for _, n := range st.Status.Nodes {
				b, _ := os.ReadFile(r.logPath(n.ID))
				fmt.Printf("%s %s %s %q out=%v log=%q\n", n.Name, n.Type, n.Phase, n.Message, n.Outputs, firstLine(string(b)))
			}
		}
	}
}
