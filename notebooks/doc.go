// Package notebooks runs Jupyter servers for Kiln's users: on the laptop as local processes
// (notebooks/local, the embedded default) and on a cluster as StatefulSets (notebooks/kube).
//
// A Notebook has a name and namespace, an owner, a Spec (image, CPU/memory/GPU requests, a
// workspace volume kept across stop and start, data volumes, environment, idle timeout), a desired
// state (Stopped) and an observed Status (phase, URL, last activity, events, message).
//
// The pieces:
//
//   - Manager keeps records in a Repository (the backend implements it on its store;
//     FileRepository is a JSON-file implementation for the embedded default), drives a Spawner,
//     and serves the REST API and the proxy (Handler, Register).
//   - Spawner starts, stops, deletes and observes servers and tells the proxy where a server is
//     and which token it wants (Endpoint). Spawners that accept only part of Spec implement
//     SpecValidator so users see those problems with field paths at create time.
//   - Manager.Run reconciles at start-up (desired-running notebooks are started afresh, stopped
//     ones made sure to be stopped, leftovers of a previous process life killed by the local
//     spawner) and then culls: every CullInterval it reads each server's /api/status and
//     /api/kernels (with no_track_activity, so reading is not activity), records the latest
//     activity (a busy kernel counts as now) and stops notebooks idle longer than their timeout
//     (Spec.IdleTimeout, else Options.DefaultIdleTimeout; zero never). Start after a cull resets
//     the activity clock, so a culled notebook is not culled again for its old idleness.
//   - The proxy serves /notebook/{namespace}/{name}/… for HTTP and WebSocket (kernels). It checks
//     the Authorizer the backend supplies, adds the Jupyter token as an Authorization header so
//     the token never appears in a browser URL, strips Kiln credentials before they reach the
//     server, and refuses cross-origin state-changing requests and WebSocket upgrades.
//
// Notebooks get KILN_API_URL, KILN_NAMESPACE, KILN_NOTEBOOK and KILN_USER in their environment
// (plus what Options.Credentials returns, e.g. a token), so the tracking client and pipeline
// submission reach the same backend without configuration.
//
// Mounting in the backend:
//
//	mgr, err := notebooks.NewManager(notebooks.Options{Repository: repo, Spawner: spawner, APIURL: publicURL})
//	mgr.Register(mux, authorizer) // /api/v1/notebooks/... and /notebook/...
//	go mgr.Run(ctx)               // reconcile, cull; closes the spawner when ctx ends
//
// Errors map to HTTP status codes in one place, StatusCode; validation errors carry every problem
// with its field path (ValidationError) and are answered as 400 with a fields list.
package notebooks
