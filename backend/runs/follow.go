package runs

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/engine"
)

// maxCoalesce bounds how many engine events one store write gathers.
const maxCoalesce = 256

// follow starts (once per run) a goroutine that applies the run's engine events to the store.
// It does nothing while an elected manager is not the leader: the leader follows the run.
func (m *Manager) follow(namespace, id string) {
	m.mu.Lock()
	ctx, wg := m.followCtx, m.followWG
	if ctx == nil || m.watching[id] {
		m.mu.Unlock()
		return
	}
	m.watching[id] = true
	m.wg.Add(1)
	wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		defer wg.Done()
		defer func() {
			m.mu.Lock()
			delete(m.watching, id)
			m.mu.Unlock()
		}()
		if err := m.followRun(ctx, namespace, id); err != nil && ctx.Err() == nil {
			m.log.Error("follow run", "run", id, "err", err)
		}
	}()
}

// followRun consumes the engine's event stream, coalescing bursts into one UpsertNodes and one
// UpdateRun, until the run's final event.
func (m *Manager) followRun(ctx context.Context, namespace, id string) error {
	ch, err := m.eng.Watch(ctx, id)
	if err != nil {
		return err
	}
	m.mu.Lock()
	seen := m.lastSeq[id]
	m.mu.Unlock()
	// The engine replays a run's events from its first one; node records the store already
	// holds (written by this replica earlier or by a previous leader) are not written again.
	stored, err := m.st.ListNodes(ctx, id)
	if err != nil {
		return err
	}
	written := make(map[string]store.Node, len(stored))
	for _, n := range stored {
		written[n.ID] = n
	}
	for {
		var ev engine.Event
		var ok bool
		select {
		case ev, ok = <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			return nil
		}
		batch := []engine.Event{ev}
	drain:
		for len(batch) < maxCoalesce {
			select {
			case e, more := <-ch:
				if !more {
					break drain
				}
				batch = append(batch, e)
			default:
				break drain
			}
		}
		var fresh []engine.Event
		for _, e := range batch {
			if e.Seq > seen {
				fresh = append(fresh, e)
				seen = e.Seq
			}
		}
		if len(fresh) == 0 {
			continue
		}
		done, err := m.apply(ctx, namespace, id, fresh, written)
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.lastSeq[id] = seen
		m.mu.Unlock()
		if done {
			return nil
		}
	}
}

// apply writes a batch of events; done reports the run's final event. Node records equal to
// those in written (the store's, as far as this follower knows) are skipped, and written is
// updated with those it writes.
func (m *Manager) apply(ctx context.Context, namespace, id string, evs []engine.Event, written map[string]store.Node) (done bool, err error) {
	nodes := map[string]store.Node{}
	var order []string
	var runEv *engine.Event
	var started time.Time
	for i := range evs {
		e := &evs[i]
		switch e.Type {
		case engine.EventNode:
			if e.Node == nil {
				continue
			}
			if _, dup := nodes[e.Node.ID]; !dup {
				order = append(order, e.Node.ID)
			}
			nodes[e.Node.ID] = toNode(id, e.Node)
		case engine.EventRun:
			runEv = e
			if e.Phase == wfv1.WorkflowRunning && started.IsZero() {
				started = e.Time
			}
			if e.Finished() {
				done = true
			}
		}
	}
	if len(order) > 0 {
		list := make([]store.Node, 0, len(order))
		for _, k := range order {
			if old, ok := written[k]; !ok || !sameNode(old, nodes[k]) {
				list = append(list, nodes[k])
			}
		}
		if len(list) > 0 {
			if err := m.st.UpsertNodes(ctx, id, list); err != nil {
				return false, err
			}
			for _, n := range list {
				written[n.ID] = n
			}
		}
	}
	if runEv == nil {
		return done, nil
	}
	u := store.RunUpdate{Phase: toPhase(string(runEv.Phase))}
	if runEv.Message != "" {
		msg := runEv.Message
		u.Message = &msg
	}
	u.StartedAt = started
	if done && started.IsZero() {
		// A run that finished within one batch: take its start from the engine's status.
		if st, err := m.eng.Status(ctx, id); err == nil {
			u.StartedAt = st.Status.StartedAt.Time
		}
	}
	requested := false
	if m.elected && (done || u.Message != nil) {
		// A cancel asked for through another replica is recorded in the run's message; keep
		// it until the run ends.
		if r, err := m.st.GetRun(ctx, namespace, id); err == nil && strings.HasPrefix(r.Message, CancelRequestedMessage) {
			requested = true
			if !done {
				u.Message = nil
			}
		}
	}
	if done {
		u.FinishedAt = runEv.Time
		m.mu.Lock()
		cancelled := m.cancelled[id] || requested
		closing := m.closing
		delete(m.cancelled, id)
		m.mu.Unlock()
		if closing && !m.elected && !cancelled && u.Phase != store.PhaseSucceeded {
			u.Phase = store.PhaseError
			msg := StopMessage
			u.Message = &msg
		} else if cancelled && u.Phase != store.PhaseSucceeded {
			u.Phase = store.PhaseCancelled
			msg := "cancelled by user"
			if runEv.Message != "" {
				msg += ": " + runEv.Message
			}
			u.Message = &msg
		}
	}
	if u.Phase == "" {
		u.Phase = store.PhasePending
	}
	if done && u.FinishedAt.IsZero() {
		u.FinishedAt = m.now()
	}
	if _, err := m.st.UpdateRun(ctx, namespace, id, u); err != nil {
		return false, err
	}
	return done, nil
}

// sameNode reports whether two records of a node say the same; JSON documents compare by
// value, since a store may re-encode them.
func sameNode(a, b store.Node) bool {
	return a.ID == b.ID && a.Name == b.Name && a.DisplayName == b.DisplayName && a.Type == b.Type &&
		a.Template == b.Template && a.Phase == b.Phase && a.Message == b.Message &&
		a.StartedAt.Equal(b.StartedAt) && a.FinishedAt.Equal(b.FinishedAt) &&
		slices.Equal(a.Children, b.Children) && sameJSON(a.Inputs, b.Inputs) && sameJSON(a.Outputs, b.Outputs)
}

func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func toPhase(p string) store.Phase {
	switch p {
	case "":
		return store.PhasePending
	case string(wfv1.NodeSkipped):
		return store.PhaseSkipped
	}
	ph := store.Phase(p)
	if !ph.Valid() {
		return store.PhaseError
	}
	return ph
}

// toNode converts an Argo node status to the store's node.
func toNode(runID string, n *wfv1.NodeStatus) store.Node {
	return store.Node{
		RunID:       runID,
		ID:          n.ID,
		Name:        n.Name,
		DisplayName: n.DisplayName,
		Type:        string(n.Type),
		Template:    n.TemplateName,
		Phase:       toPhase(string(n.Phase)),
		Message:     n.Message,
		Inputs:      nodeJSON(n.Inputs, n.Inputs == nil),
		Outputs:     nodeJSON(n.Outputs, n.Outputs == nil),
		Children:    n.Children,
		StartedAt:   n.StartedAt.Time,
		FinishedAt:  n.FinishedAt.Time,
	}
}
