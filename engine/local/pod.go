package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apiv1 "k8s.io/api/core/v1"

	"github.com/kilnml/kiln/internal/fscopy"
)

// GoComponentAnnotation marks a template as a Kiln Go-function component: its
// container.command[0] is the pipeline binary's path inside the image, which
// the local engine replaces with Options.PipelineBinary.
const GoComponentAnnotation = "kiln.dev/go-component"

// maxResult is how much stdout Argo keeps as outputs.result.
const maxResult = 256 * 1024

// killGrace is how long a stopped process group gets between SIGTERM and SIGKILL.
const killGrace = 2 * time.Second

// runPod executes a container or script template as a host process.
func (r *run) runPod(ctx context.Context, node *wfv1.NodeStatus, t *wfv1.Template) (wfv1.NodePhase, string, *wfv1.Outputs) {
	release, err := r.acquireSlots(ctx)
	if err != nil {
		return wfv1.NodeFailed, context.Cause(ctx).Error(), nil
	}
	defer release()
	r.update(node, func(n *wfv1.NodeStatus) {
		n.Phase = wfv1.NodeRunning
		n.HostNodeName = "localhost"
		n.PodIP = "127.0.0.1"
	})

	dir := r.nodeDir(node.ID)
	fsroot := filepath.Join(dir, "fs")
	if err := os.MkdirAll(fsroot, 0o755); err != nil {
		return wfv1.NodeError, fmt.Sprintf("create node directory: %v", err), nil
	}
	rm := newRemapper(fsroot, t)
	if err := rm.prepare(); err != nil {
		return wfv1.NodeError, err.Error(), nil
	}
	for _, a := range t.Inputs.Artifacts {
		if a.Path == "" {
			continue
		}
		if err := r.eng.loadArtifact(ctx, &a, rm.mapPath(a.Path)); err != nil {
			if a.Optional && errors.Is(err, errNoLocation) {
				continue
			}
			return wfv1.NodeError, fmt.Sprintf("inputs.artifacts.%s: %v", a.Name, err), nil
		}
	}

	argv, env, workDir, err := r.commandLine(t, rm, dir)
	if err != nil {
		return wfv1.NodeError, err.Error(), nil
	}
	logf, err := os.OpenFile(r.logPath(node.ID), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return wfv1.NodeError, fmt.Sprintf("open log: %v", err), nil
	}
	defer logf.Close()

	stdout := &tailBuffer{limit: maxResult}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = workDir
	cmd.Env = env
	cmd.Stdout = multiWriter{logf, stdout}
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A background child holding stdout open must not keep the node running.
	cmd.WaitDelay = 500 * time.Millisecond
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(logf, "kiln: start %s: %v\n", argv[0], err)
		return wfv1.NodeError, fmt.Sprintf("start %s: %v", argv[0], err), nil
	}
	stopKill := make(chan struct{})
	go killOnDone(ctx, cmd.Process.Pid, stopKill)
	waitErr := cmd.Wait()
	close(stopKill)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // reap what the main process left behind

	exit := -1
	if cmd.ProcessState != nil {
		exit = cmd.ProcessState.ExitCode()
	}
	out := &wfv1.Outputs{ExitCode: ptr(strconv.Itoa(exit))}
	res := strings.TrimSuffix(stdout.String(), "\n")
	out.Result = &res

	if ctx.Err() != nil {
		return wfv1.NodeFailed, context.Cause(ctx).Error(), out
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return wfv1.NodeError, fmt.Sprintf("wait: %v", waitErr), out
	}
	phase, msg := wfv1.NodeSucceeded, ""
	if exit != 0 {
		phase, msg = wfv1.NodeFailed, fmt.Sprintf("Error (exit code %d)", exit)
	}
	if err := r.collectOutputs(t, rm, node.ID, out); err != nil && phase == wfv1.NodeSucceeded {
		return wfv1.NodeError, err.Error(), out
	}
	return phase, msg, out
}

// acquireSlots waits for the workflow's parallelism and the engine's process
// limit.
func (r *run) acquireSlots(ctx context.Context) (func(), error) {
	var held []chan struct{}
	release := func() {
		for _, s := range held {
			<-s
		}
	}
	sems := append([]chan struct{}{r.podSem}, podLimits(ctx)...)
	for _, s := range append(sems, r.eng.procSem) {
		if s == nil {
			continue
		}
		select {
		case s <- struct{}{}:
			held = append(held, s)
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

type podLimitsKey struct{}

// withPodLimit records that the pods below this point count against a
// template's parallelism: Argo stops starting pods anywhere in a template's
// subtree while that many of them are active.
func withPodLimit(ctx context.Context, sem chan struct{}) context.Context {
	outer := podLimits(ctx)
	return context.WithValue(ctx, podLimitsKey{}, append(outer[:len(outer):len(outer)], sem))
}

// podLimits lists the enclosing templates' limits, outermost first (the
// fixed order keeps acquisition deadlock-free).
func podLimits(ctx context.Context) []chan struct{} {
	l, _ := ctx.Value(podLimitsKey{}).([]chan struct{})
	return l
}

// killOnDone stops the process group when ctx ends: SIGTERM, then SIGKILL.
func killOnDone(ctx context.Context, pid int, stop <-chan struct{}) {
	select {
	case <-stop:
		return
	case <-ctx.Done():
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-stop:
	case <-time.After(killGrace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// commandLine builds argv, environment and working directory for a template.
func (r *run) commandLine(t *wfv1.Template, rm *remapper, dir string) ([]string, []string, string, error) {
	var c *apiv1.Container
	var argv []string
	switch {
	case t.Script != nil:
		c = &t.Script.Container
		src := rm.mapText(t.Script.Source)
		path := filepath.Join(dir, "script")
		if err := os.WriteFile(path, []byte(src), 0o755); err != nil {
			return nil, nil, "", fmt.Errorf("write script: %w", err)
		}
		argv = append(append([]string{}, c.Command...), c.Args...)
		argv = append(argv, path)
		if len(c.Command) == 0 {
			argv = []string{"sh", path}
		}
	case t.Container != nil:
		c = t.Container
		argv = append(append([]string{}, c.Command...), c.Args...)
	default:
		return nil, nil, "", fmt.Errorf("template %q has no container or script", t.Name)
	}
	if len(argv) == 0 {
		return nil, nil, "", fmt.Errorf("template %q: container has neither command nor args", t.Name)
	}
	for i := range argv {
		if t.Script != nil && i == len(argv)-1 {
			break
		}
		argv[i] = rm.mapText(argv[i])
	}
	if _, ok := t.Metadata.Annotations[GoComponentAnnotation]; ok {
		if r.eng.opts.PipelineBinary == "" {
			return nil, nil, "", fmt.Errorf("template %q is a Go-function component and no pipeline binary is set", t.Name)
		}
		argv[0] = r.eng.opts.PipelineBinary
	}
	env := append(os.Environ(), r.eng.opts.Env...)
	for _, e := range c.Env {
		env = append(env, e.Name+"="+rm.mapText(e.Value))
	}
	workDir := rm.root
	if c.WorkingDir != "" {
		workDir = rm.mapPath(c.WorkingDir)
		if err := os.MkdirAll(workDir, 0o755); err != nil {
			return nil, nil, "", fmt.Errorf("create working directory: %w", err)
		}
	}
	return argv, env, workDir, nil
}

// collectOutputs reads output parameters and stores output artifacts.
func (r *run) collectOutputs(t *wfv1.Template, rm *remapper, nodeID string, out *wfv1.Outputs) error {
	var errs []string
	for _, p := range t.Outputs.Parameters {
		op := wfv1.Parameter{Name: p.Name, GlobalName: p.GlobalName}
		switch {
		case p.ValueFrom != nil && p.ValueFrom.Path != "":
			b, err := os.ReadFile(rm.mapPath(p.ValueFrom.Path))
			switch {
			case err == nil:
				op.Value = wfv1.AnyStringPtr(strings.TrimSuffix(string(b), "\n"))
			case p.ValueFrom.Default != nil:
				op.Value = wfv1.AnyStringPtr(strings.TrimSuffix(p.ValueFrom.Default.String(), "\n"))
			default:
				errs = append(errs, fmt.Sprintf("outputs.parameters.%s: %v", p.Name, err))
				continue
			}
		case p.Value != nil:
			op.Value = p.Value
		case p.ValueFrom != nil && p.ValueFrom.Default != nil:
			op.Value = p.ValueFrom.Default
		default:
			errs = append(errs, fmt.Sprintf("outputs.parameters.%s: no value", p.Name))
			continue
		}
		out.Parameters = append(out.Parameters, op)
	}
	for _, a := range t.Outputs.Artifacts {
		src := rm.mapPath(a.Path)
		if _, err := os.Stat(src); err != nil {
			if a.Optional {
				continue
			}
			errs = append(errs, fmt.Sprintf("outputs.artifacts.%s: %v", a.Name, err))
			continue
		}
		dst := filepath.Join(r.dir, "artifacts", nodeID, a.Name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			errs = append(errs, fmt.Sprintf("outputs.artifacts.%s: %v", a.Name, err))
			continue
		}
		if err := os.Rename(src, dst); err != nil {
			if err := fscopy.Copy(src, dst); err != nil {
				errs = append(errs, fmt.Sprintf("outputs.artifacts.%s: %v", a.Name, err))
				continue
			}
		}
		out.Artifacts = append(out.Artifacts, localArtifact(a, dst))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// localArtifact describes a stored artifact: its location is a file:// URL
// under the run directory.
func localArtifact(a wfv1.Artifact, path string) wfv1.Artifact {
	return wfv1.Artifact{
		Name:       a.Name,
		Path:       a.Path,
		GlobalName: a.GlobalName,
		Archive:    a.Archive,
		ArtifactLocation: wfv1.ArtifactLocation{
			HTTP: &wfv1.HTTPArtifact{URL: "file://" + path},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// tailBuffer keeps the last limit bytes written.
type tailBuffer struct {
	limit int
	buf   bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf.Write(p)
	if over := b.buf.Len() - b.limit; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return b.buf.String() }

type multiWriter [2]interface{ Write([]byte) (int, error) }

func (m multiWriter) Write(p []byte) (int, error) {
	for _, w := range m {
		if _, err := w.Write(p); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
