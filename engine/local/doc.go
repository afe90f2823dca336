// Package local runs Argo Workflows on this machine, without Kubernetes. It
// implements engine.Engine and is Kiln's embedded default: what a user
// debugs locally is the same compiled document Argo runs on a cluster.
//
// # What runs
//
// DAG templates (depends expressions and legacy dependencies, targets,
// failFast, continueOn), steps templates (sequential groups of parallel
// steps), container and script templates (as host processes), suspend
// templates with a duration, loops (withItems, withParam, withSequence),
// when conditions, parameters and artifacts, retryStrategy, timeouts and
// deadlines, exit handlers (spec.onExit, hooks.exit, task/step onExit),
// templateDefaults and memoization. The semantics come from Argo's own packages wherever they are
// importable: common.ProcessArgs for inputs and {{…}} substitution,
// util/template for {{…}} and {{=…}} tags, common.GetTaskDependencies and
// argoexpr for depends, govaluate (as Argo's controller uses it) for when,
// util/expr/env for the expression function map, and validate.ValidateWorkflow
// at submission.
//
// Anything else (resource, http, data and plugin templates, daemons,
// sidecars, non-emptyDir volumes, secrets, S3/GCS/… artifacts, templateRef,
// non-exit lifecycle hooks, synchronization, metrics, …) is rejected by
// Submit before any node runs, with the field path of every offending
// field (see Engine.Validate).
//
// # Processes
//
// A container template runs command+args (args alone when the image's
// entrypoint is implied, as with busybox and alpine); a script template
// writes its source to a file and runs command plus that file. Each process
// gets the host environment plus the template's env, runs in its own process
// group (so Cancel and timeouts kill the whole group) and logs stdout and
// stderr to logs/<nodeID>.log under the run directory. outputs.result is the
// process's stdout, as in Argo.
//
// A template annotated with GoComponentAnnotation is a Kiln Go-function
// component: command[0] (the binary inside the image) is replaced by
// Options.PipelineBinary.
//
// # Private paths
//
// Templates name absolute paths (/tmp/message, /tmp/kiln/outputs/x) for
// their artifacts and output parameters, and parallel nodes would collide on
// the host. Each node therefore gets a private root, nodes/<nodeID>/fs, and
// every absolute path the template declares (input and output artifact paths,
// output parameter valueFrom.path, emptyDir mount paths) is moved under it;
// occurrences of those paths in command, args, script source, env values and
// working directory are rewritten to match (at path boundaries, longest path
// first). The process's working directory is the node root unless the
// template sets workingDir (which is then created under the root). Paths the
// template does not declare are left alone and refer to the host.
//
// # Artifacts
//
// Output artifacts are moved to artifacts/<nodeID>/<name> in the run
// directory (a file or a directory; archive settings are accepted and the
// artifact is stored unarchived) and recorded in the node's outputs with a
// file:// URL as their HTTP location; ArtifactPath turns that back into a
// path. Inputs are copied into place from such URLs, from raw data, over
// http(s) or through go-getter URLs (git, s3::, gcs::, …) when the machine can
// reach them.
//
// # Runs
//
// Each run has a directory under Options.WorkDir: workflow.json (the
// submitted workflow), logs/, nodes/, artifacts/ and status.json (the final
// status). Node IDs and names follow Argo (wf.NodeID, "wf.task(0:item)",
// "wf[0].step"), so the status maps onto wfv1.NodeStatus exactly.
//
// Tests and tools usually submit and wait:
//
//	e := local.New(local.Options{WorkDir: t.TempDir(), PipelineBinary: bin})
//	id, err := e.Submit(ctx, wf, engine.SubmitOptions{})
//	st, err := e.Wait(ctx, id) // st.Status.Phase, st.Status.Nodes
package local
