package mlflow_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnml/kiln/backend/mlflow"
	"github.com/kilnml/kiln/backend/store/sqlite"
)

// TestPythonClientScenario replays, request by request, what MLflow's Python client sends for
//
//	mlflow.set_experiment("churn")
//	with mlflow.start_run(run_name="baseline"):
//	    mlflow.log_param("C", 0.1); mlflow.log_metric("auc", 0.91, step=1)
//	    mlflow.log_metrics({...}); mlflow.set_tag("team", "growth")
//	    mlflow.log_artifact("model.pkl", "model")
//	mv = mlflow.register_model(f"runs:/{run_id}/model", "churn-model")
//	client.set_registered_model_alias("churn-model", "champion", mv.version)
//	mlflow.pyfunc.load_model("models:/churn-model@champion")  # resolves the alias, downloads
//
// with the int64 fields as strings, as protobuf's JSON mapping writes them.
func TestPythonClientScenario(t *testing.T) {
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "kiln.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(mlflow.NewHandler(st, nil, mlflow.WithArtifactDir(t.TempDir())))
	defer srv.Close()
	c := &api{t: t, base: srv.URL, st: st}

	// set_experiment: get-by-name, then create when it does not exist.
	c.fails("GET", "experiments/get-by-name", obj{"experiment_name": "churn"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	exp := c.ok("POST", "experiments/create", obj{"name": "churn"})["experiment_id"].(string)
	c.ok("GET", "experiments/get", obj{"experiment_id": exp})

	// start_run
	created := c.ok("POST", "runs/create", obj{"experiment_id": exp, "user_id": "ana", "start_time": "1700000000000",
		"run_name": "baseline", "tags": []obj{{"key": "mlflow.user", "value": "ana"}, {"key": "mlflow.source.name", "value": "train.py"},
			{"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "mlflow.runName", "value": "baseline"}}})
	run := get(created, "run", "info", "run_id").(string)
	uri := get(created, "run", "info", "artifact_uri").(string)

	// logging
	c.ok("POST", "runs/log-parameter", obj{"run_id": run, "run_uuid": run, "key": "C", "value": "0.1"})
	c.ok("POST", "runs/log-metric", obj{"run_id": run, "run_uuid": run, "key": "auc", "value": 0.91, "timestamp": "1700000001000", "step": "1"})
	c.ok("POST", "runs/log-batch", obj{"run_id": run, "metrics": []obj{
		{"key": "precision", "value": 0.8, "timestamp": "1700000002000", "step": "1"},
		{"key": "recall", "value": 0.7, "timestamp": "1700000002000", "step": "1"}}, "params": []obj{}, "tags": []obj{}})
	c.ok("POST", "runs/set-tag", obj{"run_id": run, "run_uuid": run, "key": "team", "value": "growth"})

	// log_artifact through the proxy the artifact_uri names
	artifactURL := srv.URL + "/api/2.0/mlflow-artifacts/artifacts/" + strings.TrimPrefix(uri, "mlflow-artifacts:/") + "/model/model.pkl"
	req, _ := http.NewRequest("PUT", artifactURL, strings.NewReader("pickled"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %v %v", resp, err)
	}
	resp.Body.Close()
	c.ok("POST", "runs/log-model", obj{"run_id": run, "model_json": `{"artifact_path": "model", "run_id": "` + run + `"}`})

	// end_run
	c.ok("POST", "runs/update", obj{"run_id": run, "run_uuid": run, "status": "FINISHED", "end_time": "1700000009000"})

	// register_model: create the model (it may exist), create a version, poll it until READY.
	c.ok("POST", "registered-models/create", obj{"name": "churn-model"})
	mv := c.ok("POST", "model-versions/create", obj{"name": "churn-model", "source": uri + "/model", "run_id": run})
	version := get(mv, "model_version", "version").(string)
	if s := get(c.ok("GET", "model-versions/get", obj{"name": "churn-model", "version": version}), "model_version", "status"); s != "READY" {
		t.Fatalf("version status %v", s)
	}
	c.ok("POST", "registered-models/alias", obj{"name": "churn-model", "alias": "champion", "version": version})

	// load_model("models:/churn-model@champion"): resolve, get the download URI, list, download.
	resolved := c.ok("GET", "registered-models/alias", obj{"name": "churn-model", "alias": "champion"})
	if got := get(resolved, "model_version", "run_id"); got != run {
		t.Fatalf("alias resolves to run %v", got)
	}
	dl := c.ok("GET", "model-versions/get-download-uri", obj{"name": "churn-model", "version": version})["artifact_uri"].(string)
	if dl != uri+"/model" {
		t.Fatalf("download uri %q", dl)
	}
	resp, err = http.Get(srv.URL + "/api/2.0/mlflow-artifacts/artifacts/" + strings.TrimPrefix(dl, "mlflow-artifacts:/") + "/model.pkl")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "pickled" {
		t.Errorf("downloaded %q", body)
	}

	// The run as the UI shows it.
	r := c.ok("GET", "runs/get", obj{"run_id": run})
	info := get(r, "run", "info").(obj)
	if info["status"] != "FINISHED" || info["end_time"] != float64(1700000009000) || info["run_name"] != "baseline" || info["user_id"] != "ana" {
		t.Errorf("run info %v", info)
	}
	if tags := kv(get(r, "run", "data", "tags")); tags["team"] != "growth" || tags["mlflow.source.name"] != "train.py" || tags["mlflow.log-model.history"] == nil {
		t.Errorf("run tags %v", tags)
	}
	found := c.ok("POST", "runs/search", obj{"experiment_ids": []string{exp}, "filter": "metrics.auc > 0.9 and params.C = '0.1' and tags.team = 'growth'",
		"run_view_type": "ACTIVE_ONLY", "max_results": 1000, "order_by": []string{"attributes.start_time DESC"}})
	if len(found["runs"].([]any)) != 1 {
		t.Errorf("search_runs found %v", found["runs"])
	}
}
