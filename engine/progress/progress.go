// Package progress renders a run's engine events in a terminal: a node tree
// redrawn in place on a TTY, or one line per node phase change otherwise.
package progress

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/engine"
)

// Renderer consumes engine events and writes progress to w. It is safe for
// concurrent use; call Close after the last event.
type Renderer struct {
	w        io.Writer
	tty      bool
	maxLines int
	now      func() time.Time

	mu        sync.Mutex
	nodes     map[string]*wfv1.NodeStatus
	lastPhase map[string]wfv1.NodePhase
	phase     wfv1.WorkflowPhase
	message   string
	drawn     int // lines drawn by the last TTY frame
	dirty     bool
	stop      chan struct{}
	stopped   chan struct{}
}

// Options configure a Renderer.
type Options struct {
	// TTY selects in-place redrawing with ANSI escapes.
	TTY bool
	// MaxLines bounds the TTY frame height (default 40).
	MaxLines int
	// Interval between TTY frames (default 100ms).
	Interval time.Duration
}

// New returns a renderer writing to w.
func New(w io.Writer, opts Options) *Renderer {
	if opts.MaxLines <= 0 {
		opts.MaxLines = 40
	}
	if opts.Interval <= 0 {
		opts.Interval = 100 * time.Millisecond
	}
	r := &Renderer{
		w: w, tty: opts.TTY, maxLines: opts.MaxLines, now: time.Now,
		nodes: map[string]*wfv1.NodeStatus{}, lastPhase: map[string]wfv1.NodePhase{},
		stop: make(chan struct{}), stopped: make(chan struct{}),
	}
	if r.tty {
		go r.loop(opts.Interval)
	} else {
		close(r.stopped)
	}
	return r
}

func (r *Renderer) loop(every time.Duration) {
	defer close(r.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.mu.Lock()
			if r.dirty {
				r.drawLocked()
			}
			r.mu.Unlock()
		case <-r.stop:
			return
		}
	}
}

// Handle records one event (and prints it in plain mode).
func (r *Renderer) Handle(ev engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev.Type {
	case engine.EventNode:
		if ev.Node == nil {
			return
		}
		r.nodes[ev.Node.ID] = ev.Node
		if !r.tty && r.lastPhase[ev.Node.ID] != ev.Node.Phase && showInPlain(ev.Node) {
			r.lastPhase[ev.Node.ID] = ev.Node.Phase
			fmt.Fprintf(r.w, "%s %-9s %s%s\n", ev.Time.Format("15:04:05"), ev.Node.Phase, ev.Node.Name, r.suffix(ev.Node))
		}
	case engine.EventRun:
		r.phase, r.message = ev.Phase, ev.Message
	}
	r.dirty = true
}

// showInPlain hides bookkeeping nodes and transient phases from plain output.
func showInPlain(n *wfv1.NodeStatus) bool {
	if n.Type == wfv1.NodeTypeStepGroup || n.Type == wfv1.NodeTypeTaskGroup {
		return false
	}
	return n.Phase != wfv1.NodePending || n.Type == wfv1.NodeTypePod
}

// Close draws the final frame and stops redrawing.
func (r *Renderer) Close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.stopped
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tty {
		r.drawLocked()
	}
}

func (r *Renderer) suffix(n *wfv1.NodeStatus) string {
	var parts []string
	if d := r.duration(n); d >= time.Second {
		parts = append(parts, d.Round(100*time.Millisecond).String())
	} else if d > 0 {
		parts = append(parts, d.Round(time.Millisecond).String())
	}
	if n.Type == wfv1.NodeTypeRetry && len(n.Children) > 1 {
		parts = append(parts, fmt.Sprintf("retries: %d", len(n.Children)-1))
	}
	if n.MemoizationStatus != nil && n.MemoizationStatus.Hit {
		parts = append(parts, "cached")
	}
	if n.Message != "" && (n.Phase.FailedOrError() || n.Phase == wfv1.NodeSkipped || n.Phase == wfv1.NodeOmitted) {
		parts = append(parts, n.Message)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func (r *Renderer) duration(n *wfv1.NodeStatus) time.Duration {
	if n.StartedAt.IsZero() {
		return 0
	}
	end := r.now()
	if !n.FinishedAt.IsZero() {
		end = n.FinishedAt.Time
	}
	return end.Sub(n.StartedAt.Time)
}

// Lines returns the current node tree, one entry per line.
func (r *Renderer) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.linesLocked()
}

func (r *Renderer) linesLocked() []string {
	// Argo links a task under the tasks it depends on and a step group under
	// the previous group's steps; for display, nodes hang under their
	// DAG/steps boundary instead, except inside retries, loops, step groups
	// and exit hooks.
	parents := map[string][]string{}
	for id, n := range r.nodes {
		for _, c := range n.Children {
			parents[c] = append(parents[c], id)
		}
	}
	kids := map[string][]string{}
	var roots []*wfv1.NodeStatus
	for id, n := range r.nodes {
		if p := r.displayParent(n, parents[id]); p != "" {
			kids[p] = append(kids[p], id)
			continue
		}
		roots = append(roots, n)
	}
	byStart := func(ids []string) {
		sort.Slice(ids, func(i, j int) bool {
			a, b := r.nodes[ids[i]], r.nodes[ids[j]]
			if !a.StartedAt.Equal(&b.StartedAt) {
				return a.StartedAt.Before(&b.StartedAt)
			}
			return a.Name < b.Name
		})
	}
	rootIDs := make([]string, len(roots))
	for i, n := range roots {
		rootIDs[i] = n.ID
	}
	byStart(rootIDs)
	var lines []string
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		n := r.nodes[id]
		lines = append(lines, fmt.Sprintf("%s%s %s%s", strings.Repeat("  ", depth), symbol(n.Phase), n.DisplayName, r.suffix(n)))
		ks := kids[id]
		byStart(ks)
		for _, k := range ks {
			walk(k, depth+1)
		}
	}
	for _, id := range rootIDs {
		walk(id, 0)
	}
	return lines
}

// displayParent picks the node a node is shown under.
func (r *Renderer) displayParent(n *wfv1.NodeStatus, linked []string) string {
	sort.Strings(linked)
	for _, p := range linked {
		switch r.nodes[p].Type {
		case wfv1.NodeTypeRetry, wfv1.NodeTypeTaskGroup, wfv1.NodeTypeStepGroup:
			return p
		}
	}
	if strings.HasSuffix(n.Name, ".onExit") && len(linked) > 0 {
		return linked[0]
	}
	if _, ok := r.nodes[n.BoundaryID]; ok && n.BoundaryID != n.ID {
		return n.BoundaryID
	}
	if len(linked) > 0 {
		return linked[0]
	}
	return ""
}

func symbol(p wfv1.NodePhase) string {
	switch p {
	case wfv1.NodeSucceeded:
		return "✔"
	case wfv1.NodeFailed, wfv1.NodeError:
		return "✖"
	case wfv1.NodeSkipped, wfv1.NodeOmitted:
		return "○"
	case wfv1.NodeRunning:
		return "●"
	default:
		return "◌"
	}
}

// drawLocked redraws the TTY frame in place.
func (r *Renderer) drawLocked() {
	r.dirty = false
	lines := r.linesLocked()
	if len(lines) > r.maxLines {
		// Keep the head of the tree and what is still moving.
		hidden := len(lines) - r.maxLines + 1
		lines = append(lines[:r.maxLines-1], fmt.Sprintf("… %d more nodes", hidden))
	}
	status := fmt.Sprintf("Workflow %s", r.phase)
	if r.message != "" {
		status += ": " + r.message
	}
	lines = append(lines, status)
	var b strings.Builder
	if r.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", r.drawn)
	}
	for _, l := range lines {
		b.WriteString("\r\x1b[2K")
		b.WriteString(l)
		b.WriteString("\n")
	}
	for i := len(lines); i < r.drawn; i++ {
		b.WriteString("\r\x1b[2K\n")
	}
	if extra := r.drawn - len(lines); extra > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", extra)
	}
	r.drawn = len(lines)
	_, _ = io.WriteString(r.w, b.String())
}
