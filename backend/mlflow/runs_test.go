package mlflow_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRunLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *api) {
		exp := c.createExperiment("runs")
		created := c.ok("POST", "runs/create", obj{"experiment_id": exp, "user_id": "alice", "start_time": 1700000000000,
			"run_name": "first", "tags": []obj{{"key": "mlflow.source.type", "value": "LOCAL"}}})
		info := get(created, "run", "info").(obj)
		runID := info["run_id"].(string)
		if len(runID) != 32 || info["run_uuid"] != runID {
			t.Errorf("run_id %q, run_uuid %v", runID, info["run_uuid"])
		}
		wantInfo := obj{"run_id": runID, "run_uuid": runID, "run_name": "first", "experiment_id": exp, "user_id": "alice",
			"status": "RUNNING", "start_time": float64(1700000000000), "artifact_uri": "mlflow-artifacts:/" + exp + "/" + runID + "/artifacts",
			"lifecycle_stage": "active"}
		if d := cmp.Diff(wantInfo, info); d != "" {
			t.Errorf("runs/create info (-want +got):\n%s", d)
		}
		if d := cmp.Diff(map[string]any{"mlflow.runName": "first", "mlflow.source.type": "LOCAL"}, kv(get(created, "run", "data", "tags"))); d != "" {
			t.Errorf("runs/create tags (-want +got):\n%s", d)
		}
		c.fails("POST", "runs/create", obj{"experiment_id": "nope"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
		// A run without a name gets one, as MLflow does.
		anon := c.ok("POST", "runs/create", obj{"experiment_id": exp})
		if n, _ := get(anon, "run", "info", "run_name").(string); n == "" {
			t.Errorf("unnamed run got no name: %v", anon)
		}

		// runs/update
		upd := c.ok("POST", "runs/update", obj{"run_id": runID, "status": "FINISHED", "end_time": 1700000005000, "run_name": "renamed"})
		ri := upd["run_info"].(obj)
		if ri["status"] != "FINISHED" || ri["end_time"] != float64(1700000005000) || ri["run_name"] != "renamed" {
			t.Errorf("runs/update: %v", ri)
		}
		got := c.ok("GET", "runs/get", obj{"run_id": runID})
		if kv(get(got, "run", "data", "tags"))["mlflow.runName"] != "renamed" {
			t.Errorf("mlflow.runName tag not renamed: %v", get(got, "run", "data", "tags"))
		}
		c.fails("POST", "runs/update", obj{"run_id": runID, "status": "DONE"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.fails("POST", "runs/update", obj{"run_id": "0123456789abcdef0123456789abcdef", "status": "FINISHED"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
		c.fails("GET", "runs/get", obj{"run_id": "0123456789abcdef0123456789abcdef"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")

		// runs/delete and restore
		c.ok("POST", "runs/delete", obj{"run_id": runID})
		if s := get(c.ok("GET", "runs/get", obj{"run_id": runID}), "run", "info", "lifecycle_stage"); s != "deleted" {
			t.Errorf("deleted run: lifecycle_stage %v", s)
		}
		c.fails("POST", "runs/log-parameter", obj{"run_id": runID, "key": "a", "value": "1"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.ok("POST", "runs/restore", obj{"run_id": runID})
		c.ok("POST", "runs/log-parameter", obj{"run_id": runID, "key": "a", "value": "1"})
		c.fails("POST", "runs/delete", obj{"run_id": "0123456789abcdef0123456789abcdef"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	})
}

func TestLogging(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *api) {
		run := c.createRun(c.createExperiment("log"), nil)

		// log-metric: timestamps in ms, step defaults to 0, values may be NaN.
		c.ok("POST", "runs/log-metric", obj{"run_id": run, "key": "loss", "value": 0.5, "timestamp": 1700000000001, "step": 1})
		c.ok("POST", "runs/log-metric", obj{"run_id": run, "key": "loss", "value": 0.25, "timestamp": "1700000000002", "step": "2"})
		c.ok("POST", "runs/log-metric", obj{"run_uuid": run, "key": "nan", "value": "NaN", "timestamp": 1700000000003})
		c.fails("POST", "runs/log-metric", obj{"run_id": run, "key": "loss", "value": 1}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.fails("POST", "runs/log-metric", obj{"run_id": run, "key": "bad key!", "value": 1, "timestamp": 1}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.fails("POST", "runs/log-metric", obj{"run_id": "0123456789abcdef0123456789abcdef", "key": "x", "value": 1, "timestamp": 1}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")

		// metrics/get-history
		h := c.ok("GET", "metrics/get-history", obj{"run_id": run, "metric_key": "loss"})
		want := []any{
			obj{"key": "loss", "value": 0.5, "timestamp": float64(1700000000001), "step": float64(1)},
			obj{"key": "loss", "value": 0.25, "timestamp": float64(1700000000002), "step": float64(2)},
		}
		if d := cmp.Diff(want, h["metrics"]); d != "" {
			t.Errorf("get-history (-want +got):\n%s", d)
		}
		if v := get(c.ok("GET", "metrics/get-history", obj{"run_id": run, "metric_key": "nan"}), "metrics", 0, "value"); v != "NaN" {
			t.Errorf("NaN metric reads back as %v", v)
		}
		p1 := c.ok("GET", "metrics/get-history", obj{"run_id": run, "metric_key": "loss", "max_results": 1})
		if len(p1["metrics"].([]any)) != 1 || p1["next_page_token"] == nil {
			t.Fatalf("history page 1: %v", p1)
		}
		p2 := c.ok("GET", "metrics/get-history", obj{"run_id": run, "metric_key": "loss", "max_results": 1, "page_token": p1["next_page_token"]})
		if get(p2, "metrics", 0, "step") != float64(2) {
			t.Errorf("history page 2: %v", p2)
		}
		c.fails("GET", "metrics/get-history", obj{"run_id": run}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")

		// log-parameter: write-once.
		c.ok("POST", "runs/log-parameter", obj{"run_id": run, "key": "lr", "value": "0.1"})
		c.ok("POST", "runs/log-parameter", obj{"run_id": run, "key": "lr", "value": "0.1"})
		c.fails("POST", "runs/log-parameter", obj{"run_id": run, "key": "lr", "value": "0.2"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.fails("POST", "runs/log-parameter", obj{"run_id": run, "key": "big", "value": strings.Repeat("x", 6001)}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.fails("POST", "runs/log-parameter", obj{"run_id": run, "key": strings.Repeat("k", 251), "value": "1"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")

		// set-tag and delete-tag
		c.ok("POST", "runs/set-tag", obj{"run_id": run, "key": "phase", "value": "a"})
		c.ok("POST", "runs/set-tag", obj{"run_id": run, "key": "phase", "value": "b"})
		c.ok("POST", "runs/delete-tag", obj{"run_id": run, "key": "phase"})
		c.fails("POST", "runs/delete-tag", obj{"run_id": run, "key": "phase"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")

		// log-batch
		c.ok("POST", "runs/log-batch", obj{"run_id": run,
			"metrics": []obj{{"key": "acc", "value": 0.9, "timestamp": 1700000000010, "step": 0}, {"key": "acc", "value": 0.95, "timestamp": 1700000000011, "step": 1}},
			"params":  []obj{{"key": "opt", "value": "adam"}},
			"tags":    []obj{{"key": "t", "value": "1"}, {"key": "t", "value": "2"}}})
		c.fails("POST", "runs/log-batch", obj{"run_id": run, "params": []obj{{"key": "opt", "value": "sgd"}}}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		// Protobuf's JSON mapping may send int64 fields as strings, and NaN as a string.
		c.ok("POST", "runs/log-batch", obj{"run_id": run,
			"metrics": []obj{{"key": "proto", "value": "NaN", "timestamp": "1700000000020", "step": "7"}, {"key": "proto", "value": 2, "timestamp": "1700000000021", "step": "8"}}})
		if d := cmp.Diff([]any{
			obj{"key": "proto", "value": "NaN", "timestamp": float64(1700000000020), "step": float64(7)},
			obj{"key": "proto", "value": float64(2), "timestamp": float64(1700000000021), "step": float64(8)},
		}, c.ok("GET", "metrics/get-history", obj{"run_id": run, "metric_key": "proto"})["metrics"]); d != "" {
			t.Errorf("string-typed batch (-want +got):\n%s", d)
		}

		r := c.ok("GET", "runs/get", obj{"run_id": run})
		if d := cmp.Diff(map[string]any{"lr": "0.1", "opt": "adam"}, kv(get(r, "run", "data", "params"))); d != "" {
			t.Errorf("params (-want +got):\n%s", d)
		}
		if tags := kv(get(r, "run", "data", "tags")); tags["t"] != "2" || tags["phase"] != nil {
			t.Errorf("tags: %v", tags)
		}
		latest := map[string]any{}
		for _, m := range get(r, "run", "data", "metrics").([]any) {
			latest[m.(obj)["key"].(string)] = m.(obj)["value"]
		}
		if d := cmp.Diff(map[string]any{"loss": 0.25, "acc": 0.95, "nan": "NaN", "proto": float64(2)}, latest); d != "" {
			t.Errorf("latest metrics (-want +got):\n%s", d)
		}
	})
}

func TestLogBatchLimits(t *testing.T) {
	items := func(n int, kind string) []obj {
		out := make([]obj, n)
		for i := range out {
			out[i] = obj{"key": fmt.Sprintf("%s%d", kind, i), "value": "1", "timestamp": 1}
			if kind == "m" {
				out[i]["value"] = 1.0
			}
		}
		return out
	}
	forEachStore(t, func(t *testing.T, c *api) {
		run := c.createRun(c.createExperiment("limits"), nil)
		for _, tc := range []struct {
			name string
			req  obj
			ok   bool
		}{
			{"1000 metrics", obj{"metrics": items(1000, "m")}, true},
			{"1001 metrics", obj{"metrics": items(1001, "m")}, false},
			{"100 params", obj{"params": items(100, "p")}, true},
			{"101 params", obj{"params": items(101, "q")}, false},
			{"100 tags", obj{"tags": items(100, "t")}, true},
			{"101 tags", obj{"tags": items(101, "t")}, false},
			{"1001 in total", obj{"metrics": items(901, "m"), "params": items(100, "r")}, false},
			{"tag value too long", obj{"tags": []obj{{"key": "long", "value": strings.Repeat("v", 8001)}}}, false},
			{"duplicate param keys with different values", obj{"params": []obj{{"key": "d", "value": "1"}, {"key": "d", "value": "2"}}}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.req["run_id"] = run
				if tc.ok {
					c.ok("POST", "runs/log-batch", tc.req)
				} else {
					c.fails("POST", "runs/log-batch", tc.req, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
				}
			})
		}
		// Nothing of a rejected batch was written.
		if ps := get(c.ok("GET", "runs/get", obj{"run_id": run}), "run", "data", "params"); len(ps.([]any)) != 100 {
			t.Errorf("%d params stored, want the 100 of the accepted batch", len(ps.([]any)))
		}
	})
}

func TestLogInputs(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *api) {
		run := c.createRun(c.createExperiment("inputs"), nil)
		ds := obj{"tags": []obj{{"key": "mlflow.data.context", "value": "training"}},
			"dataset": obj{"name": "iris", "digest": "abc123", "source_type": "local", "source": "{\"uri\": \"/data/iris.csv\"}"}}
		c.ok("POST", "runs/log-inputs", obj{"run_id": run, "datasets": []obj{ds}})
		c.ok("POST", "runs/log-inputs", obj{"run_id": run, "datasets": []obj{ds}}) // recorded once
		got := c.ok("GET", "runs/get", obj{"run_id": run})
		want := []any{obj{"tags": []any{obj{"key": "mlflow.data.context", "value": "training"}},
			"dataset": obj{"name": "iris", "digest": "abc123", "source_type": "local", "source": "{\"uri\": \"/data/iris.csv\"}"}}}
		if d := cmp.Diff(want, get(got, "run", "inputs", "dataset_inputs")); d != "" {
			t.Errorf("inputs (-want +got):\n%s", d)
		}
		if tags := kv(get(got, "run", "data", "tags")); len(tags) != 1 {
			t.Errorf("internal tags are visible: %v", tags)
		}
		c.fails("POST", "runs/log-inputs", obj{"run_id": run, "datasets": []obj{{"dataset": obj{"name": "x"}}}}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.fails("POST", "runs/set-tag", obj{"run_id": run, "key": "kiln.mlflow/inputs", "value": "x"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.fails("POST", "runs/delete-tag", obj{"run_id": run, "key": "kiln.mlflow/inputs"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	})
}

func TestLogModel(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *api) {
		run := c.createRun(c.createExperiment("models"), nil)
		c.ok("POST", "runs/log-model", obj{"run_id": run, "model_json": `{"artifact_path": "model", "flavors": {}}`})
		c.ok("POST", "runs/log-model", obj{"run_id": run, "model_json": `{"artifact_path": "model2"}`})
		tags := kv(get(c.ok("GET", "runs/get", obj{"run_id": run}), "run", "data", "tags"))
		want := `[{"artifact_path":"model","flavors":{}},{"artifact_path":"model2"}]`
		if tags["mlflow.log-model.history"] != want {
			t.Errorf("mlflow.log-model.history = %v, want %s", tags["mlflow.log-model.history"], want)
		}
		c.fails("POST", "runs/log-model", obj{"run_id": run, "model_json": "not json"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	})
}
