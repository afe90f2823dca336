// Package engine defines how Kiln executes a compiled Argo Workflow,
// independently of where it runs.
//
// An [Engine] accepts a typed *wfv1.Workflow (the compiler's output, or any
// Argo Workflow parsed with [ParseWorkflow]), validates that it can execute
// every field faithfully, and runs it. Progress is a typed stream of [Event]s
// (node status changes and run phase changes) rather than log lines, so the
// backend, the CLI's progress renderer and tests all consume the same thing.
//
// Status uses Argo's own shapes: a run's [RunStatus] wraps
// wfv1.WorkflowStatus, and every node is a wfv1.NodeStatus whose ID, name,
// type, phase, children, inputs and outputs follow the Argo controller's
// conventions (node IDs are derived from node names with
// wfv1.Workflow.NodeID, names look like "wf.task(0:item)" or "wf[0].step").
// An engine backed by a real Argo installation can therefore report the
// controller's status unchanged.
//
// Implementations:
//   - engine/local runs the workflow on this machine: containers and scripts
//     become host processes, Kiln Go-function components run through the
//     pipeline binary, artifacts are files under the run's directory.
//
// Typical use:
//
//	wf, err := engine.ParseWorkflow(data)
//	eng := local.New(local.Options{WorkDir: dir})
//	id, err := eng.Submit(ctx, wf, engine.SubmitOptions{Parameters: map[string]string{"message": "hi"}})
//	events, err := eng.Watch(ctx, id)
//	for ev := range events {
//		// render ev.Node / ev.Phase
//	}
//	st, err := eng.Status(ctx, id) // st.Status.Phase == wfv1.WorkflowSucceeded
package engine
