// Package runcli implements `kiln run`: execute an Argo Workflow on this
// machine with the local engine, showing live progress, and the same
// experience for a pipeline program's own `run` subcommand (RunWorkflow).
package runcli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/engine/local"
	"github.com/kilnml/kiln/engine/progress"
)

// ErrNotSucceeded is returned when a run finished in a phase other than
// Succeeded; the caller exits non-zero without printing it again.
var ErrNotSucceeded = errors.New("runcli: workflow did not succeed")

// RunOptions configure RunWorkflow.
type RunOptions struct {
	// Parameters override the workflow's spec.arguments.parameters.
	Parameters map[string]string
	// WorkDir holds the run directory (default: $TMPDIR/kiln-runs).
	WorkDir string
	// CacheDir holds memoized outputs (default: WorkDir/.cache).
	CacheDir string
	// PipelineBinary runs Kiln Go-function components (default: none).
	PipelineBinary string
	// Output is "text" (progress + summary) or "json" (final status on stdout).
	Output string
	// TTY forces in-place progress on or off; nil detects stderr.
	TTY *bool
	// Logger receives engine diagnostics (default: discard).
	Logger *slog.Logger
}

// Command returns the `kiln run` command.
func Command() *cobra.Command {
	var (
		params []string
		opts   RunOptions
	)
	cmd := &cobra.Command{
		Use:   "run FILE.yaml",
		Short: "Run an Argo Workflow on this machine",
		Long: `Run executes an Argo Workflow (the YAML that kiln compile writes, or any Argo
Workflow) on this machine without Kubernetes: containers and scripts run as
host processes, artifacts are files under the run directory. The exit status
is 0 only if the workflow Succeeded.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := parseParams(params)
			if err != nil {
				return err
			}
			opts.Parameters = p
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read workflow: %w", err)
			}
			wf, err := engine.ParseWorkflow(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cmd.SilenceUsage = true
			phase, err := RunWorkflow(ctx, wf, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if phase != wfv1.WorkflowSucceeded {
				cmd.SilenceErrors = true
				return ErrNotSucceeded
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&params, "parameter", "p", nil, "workflow parameter as name=value (repeatable)")
	f.StringVar(&opts.WorkDir, "workdir", "", "directory for run files (default $TMPDIR/kiln-runs)")
	f.StringVar(&opts.CacheDir, "cache-dir", "", "directory for memoized outputs (default WORKDIR/.cache)")
	f.StringVar(&opts.PipelineBinary, "binary", "", "pipeline binary that runs Go-function components")
	f.StringVarP(&opts.Output, "output", "o", "text", "output format: text or json")
	return cmd
}

func parseParams(in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("parameter %q: want name=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

// RunWorkflow runs wf locally to completion with live progress on stderr and
// returns its final phase. Cancelling ctx (Ctrl-C) stops the run cleanly:
// processes are killed and exit handlers still run. An error means the run
// could not start (or its status could not be read).
func RunWorkflow(ctx context.Context, wf *wfv1.Workflow, opts RunOptions, stdout, stderr io.Writer) (wfv1.WorkflowPhase, error) {
	if opts.Output == "" {
		opts.Output = "text"
	}
	if opts.Output != "text" && opts.Output != "json" {
		return "", fmt.Errorf("output %q: want text or json", opts.Output)
	}
	workDir := opts.WorkDir
	if workDir != "" {
		abs, err := filepath.Abs(workDir)
		if err != nil {
			return "", fmt.Errorf("workdir: %w", err)
		}
		workDir = abs
	}
	eng := local.New(local.Options{WorkDir: workDir, CacheDir: opts.CacheDir, PipelineBinary: opts.PipelineBinary, Logger: opts.Logger})
	id, err := eng.Submit(context.WithoutCancel(ctx), wf, engine.SubmitOptions{Parameters: opts.Parameters})
	if err != nil {
		return "", err
	}
	events, err := eng.Watch(context.WithoutCancel(ctx), id)
	if err != nil {
		return "", err
	}
	tty := isTerminal(stderr)
	if opts.TTY != nil {
		tty = *opts.TTY
	}
	r := progress.New(stderr, progress.Options{TTY: tty})
	cancelled := false
	for done := false; !done; {
		select {
		case ev, ok := <-events:
			if !ok {
				done = true
				break
			}
			r.Handle(ev)
		case <-ctx.Done():
			if !cancelled {
				cancelled = true
				fmt.Fprintln(stderr, "kiln: stopping run (exit handlers still run; interrupt again to kill them)")
				_ = eng.Cancel(context.Background(), id)
				ctx = context.Background()
				go func() {
					sig := make(chan os.Signal, 1)
					signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
					defer signal.Stop(sig)
					<-sig
					_ = eng.Cancel(context.Background(), id)
				}()
			}
		}
	}
	r.Close()
	st, err := eng.Status(context.Background(), id)
	if err != nil {
		return "", err
	}
	showFailedLogs(eng, st, stderr)
	if opts.Output == "json" {
		if err := json.NewEncoder(stdout).Encode(summarize(st)); err != nil {
			return "", fmt.Errorf("encode status: %w", err)
		}
	} else {
		dur := st.Status.FinishedAt.Sub(st.Status.StartedAt.Time).Round(10 * time.Millisecond)
		fmt.Fprintf(stdout, "Workflow %s %s in %s", st.Workflow, st.Status.Phase, dur)
		if st.Status.Message != "" {
			fmt.Fprintf(stdout, ": %s", st.Status.Message)
		}
		fmt.Fprintf(stdout, "\nRun directory: %s\n", st.Dir)
	}
	return st.Status.Phase, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// showFailedLogs prints the tail of each failed pod node's log.
func showFailedLogs(eng *local.Engine, st *engine.RunStatus, w io.Writer) {
	var failed []wfv1.NodeStatus
	for _, n := range st.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && n.Phase.FailedOrError() {
			failed = append(failed, n)
		}
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].Name < failed[j].Name })
	for _, n := range failed {
		rc, err := eng.Logs(context.Background(), st.RunID, n.ID, false)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		text := strings.TrimRight(string(b), "\n")
		if text == "" {
			fmt.Fprintf(w, "--- failed node %s (%s): no output ---\n", n.Name, n.Message)
			continue
		}
		lines := strings.Split(text, "\n")
		if len(lines) > 20 {
			lines = lines[len(lines)-20:]
		}
		fmt.Fprintf(w, "--- logs of failed node %s (%s) ---\n", n.Name, n.Message)
		for _, l := range lines {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
}

// Summary is the `-o json` output.
type Summary struct {
	Workflow   string                 `json:"workflow"`
	Phase      wfv1.WorkflowPhase     `json:"phase"`
	Message    string                 `json:"message,omitempty"`
	StartedAt  time.Time              `json:"startedAt"`
	FinishedAt time.Time              `json:"finishedAt"`
	Dir        string                 `json:"dir"`
	Outputs    *wfv1.Outputs          `json:"outputs,omitempty"`
	Nodes      map[string]NodeSummary `json:"nodes"`
}

// NodeSummary is one node of the `-o json` output, keyed by node name.
type NodeSummary struct {
	ID         string         `json:"id"`
	Type       wfv1.NodeType  `json:"type"`
	Phase      wfv1.NodePhase `json:"phase"`
	Message    string         `json:"message,omitempty"`
	StartedAt  time.Time      `json:"startedAt"`
	FinishedAt time.Time      `json:"finishedAt,omitzero"`
	Outputs    *wfv1.Outputs  `json:"outputs,omitempty"`
}

func summarize(st *engine.RunStatus) Summary {
	s := Summary{
		Workflow: st.Workflow, Phase: st.Status.Phase, Message: st.Status.Message,
		StartedAt: st.Status.StartedAt.Time, FinishedAt: st.Status.FinishedAt.Time,
		Dir: st.Dir, Outputs: st.Status.Outputs, Nodes: map[string]NodeSummary{},
	}
	for _, n := range st.Status.Nodes {
		s.Nodes[n.Name] = NodeSummary{
			ID: n.ID, Type: n.Type, Phase: n.Phase, Message: n.Message,
			StartedAt: n.StartedAt.Time, FinishedAt: n.FinishedAt.Time, Outputs: n.Outputs,
		}
	}
	return s
}
