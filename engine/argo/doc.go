// Package argo is Kiln's Kubernetes engine: it runs compiled workflows by
// creating Argo Workflow objects with client-go and lets Argo's
// workflow-controller execute them. Kiln never schedules pods itself.
//
// Submit creates the Workflow with strict server-side field validation (a
// field the installed CRD does not know is an error, not a silent drop),
// labelled with Kiln's run id. Status comes from a shared informer on the
// Workflows the engine created: every change of the run's phase and of each
// node's phase, message, timings, progress and outputs becomes an
// engine.Event. Events are computed by comparing each observed Workflow with
// what was already reported, so watch errors, relists and API-server restarts
// neither lose a node's final state nor report a transition twice.
//
// Logs are read from the node's pod (following while it runs) and, once the
// pod has been garbage-collected, from the node's archived log artifact in
// the artifact repository. Cancel asks Argo to stop the workflow (exit
// handlers run), Terminate stops it at once, Retry re-runs failed nodes, and
// Delete removes the Workflow and, through owner references, its pods.
// Pipeline versions are published as WorkflowTemplates and recurring runs as
// CronWorkflows.
package argo
