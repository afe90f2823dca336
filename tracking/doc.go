// Package tracking is the Go client component code uses to record what a run did: params,
// metrics, tags and artifacts.
//
// Inside a pipeline the run manager injects the run's coordinates into every component's
// environment, so a component needs no configuration:
//
//	tr, err := tracking.FromEnv()
//	if err != nil {
//		return err
//	}
//	defer tr.Close(ctx)
//	tr.LogParam(ctx, "optimizer", "adam")
//	for step := range epochs {
//		tr.LogMetric(ctx, "loss", loss, int64(step))
//	}
//	tr.LogArtifact(ctx, "model", "out/model.bin")
//
// # Environment
//
// FromEnv reads EnvAPIURL (the server's base URL, such as http://127.0.0.1:8080), EnvRunID,
// EnvToken (a bearer token, optional on a single-user server) and EnvNamespace (optional;
// "default" when unset).
//
// # Protocol
//
// The client speaks the MLflow tracking REST API 2.0 that every Kiln server serves under
// /api/2.0/mlflow/ (package backend/mlflow), so it also works against an MLflow tracking
// server. Params, metrics and tags are buffered and sent with runs/log-batch, split into
// requests within MLflow's limits (1000 metrics, 100 params, 100 tags, 1000 items). The buffer
// is sent when it holds a full request (by a background goroutine, so logging does not wait
// for the network), every FlushInterval, on Flush and on Close. Requests that fail transiently
// (network errors, 429, 500, 502, 503, 504) are retried with exponential backoff; a metric
// point whose request is retried after the server had stored it may be stored twice, as with
// MLflow's own client. Params are write-once: logging a key again with another value fails
// at once, without a request.
//
// LogArtifact uploads a file or directory to the server's MLflow artifact proxy when the run's
// artifact URI points there (mlflow-artifacts:, served by a Kiln server configured with an
// artifact directory) and Options.NoUpload is not set, as MLflow's log_artifact does. Either
// way it records a reference — URI, size and SHA-256 digest — in Kiln's artifact registry
// (POST /api/v1/artifacts), linked to the run. Against a server without that registry (an
// MLflow server) it records the reference as the run tag "kiln.artifact.<name>".
package tracking
