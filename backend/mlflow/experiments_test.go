package mlflow_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExperiments(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *api) {
		// experiments/create
		id := c.createExperiment("exp-a")
		if id == "" {
			t.Fatal("empty experiment_id")
		}
		c.fails("POST", "experiments/create", obj{"name": "exp-a"}, http.StatusBadRequest, "RESOURCE_ALREADY_EXISTS")
		c.fails("POST", "experiments/create", obj{}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		idB := c.ok("POST", "experiments/create", obj{"name": "exp-b", "artifact_location": "s3://bucket/b",
			"tags": []obj{{"key": "team", "value": "vision"}}})["experiment_id"].(string)

		// experiments/get
		e := c.ok("GET", "experiments/get", obj{"experiment_id": id})["experiment"]
		if get(e, "experiment_id") != id || get(e, "name") != "exp-a" || get(e, "lifecycle_stage") != "active" {
			t.Errorf("get: %v", e)
		}
		if _, ok := get(e, "creation_time").(float64); !ok {
			t.Errorf("creation_time is not a number: %v", e)
		}
		c.fails("GET", "experiments/get", obj{"experiment_id": "nope"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")

		// experiments/get-by-name
		b := c.ok("GET", "experiments/get-by-name", obj{"experiment_name": "exp-b"})["experiment"]
		want := obj{"experiment_id": idB, "name": "exp-b", "artifact_location": "s3://bucket/b", "lifecycle_stage": "active",
			"tags": []any{obj{"key": "team", "value": "vision"}}}
		delete(b.(obj), "creation_time")
		delete(b.(obj), "last_update_time")
		if d := cmp.Diff(want, b); d != "" {
			t.Errorf("get-by-name (-want +got):\n%s", d)
		}
		c.fails("GET", "experiments/get-by-name", obj{"experiment_name": "zzz"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")

		// experiments/update
		c.ok("POST", "experiments/update", obj{"experiment_id": id, "new_name": "exp-a2"})
		if n := get(c.ok("GET", "experiments/get", obj{"experiment_id": id}), "experiment", "name"); n != "exp-a2" {
			t.Errorf("renamed experiment is %v", n)
		}
		c.fails("POST", "experiments/update", obj{"experiment_id": id, "new_name": "exp-b"}, http.StatusBadRequest, "RESOURCE_ALREADY_EXISTS")

		// experiments/set-experiment-tag
		c.ok("POST", "experiments/set-experiment-tag", obj{"experiment_id": id, "key": "k", "value": "v"})

		// experiments/search
		names := func(req obj) []string {
			var out []string
			for _, e := range c.ok("POST", "experiments/search", req)["experiments"].([]any) {
				out = append(out, e.(obj)["name"].(string))
			}
			return out
		}
		if d := cmp.Diff([]string{"exp-a2", "exp-b"}, names(obj{"order_by": []string{"name ASC"}})); d != "" {
			t.Errorf("search (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{"exp-b"}, names(obj{"filter": "tags.team = 'vision'"})); d != "" {
			t.Errorf("search by tag (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{"exp-a2"}, names(obj{"filter": "name LIKE 'exp-a%'"})); d != "" {
			t.Errorf("search by name (-want +got):\n%s", d)
		}
		page := c.ok("POST", "experiments/search", obj{"max_results": 1, "order_by": []string{"name"}})
		if len(page["experiments"].([]any)) != 1 || page["next_page_token"] == nil {
			t.Fatalf("first page: %v", page)
		}
		page2 := c.ok("POST", "experiments/search", obj{"max_results": 1, "order_by": []string{"name"}, "page_token": page["next_page_token"]})
		if get(page2, "experiments", 0, "name") != "exp-b" || page2["next_page_token"] != nil {
			t.Errorf("second page: %v", page2)
		}
		c.fails("POST", "experiments/search", obj{"filter": "name ~ 'x'"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.fails("POST", "experiments/search", obj{"max_results": 50001}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")

		// experiments/delete and restore, with the experiment's runs
		run := c.createRun(id, nil)
		c.ok("POST", "experiments/delete", obj{"experiment_id": id})
		if s := get(c.ok("GET", "experiments/get", obj{"experiment_id": id}), "experiment", "lifecycle_stage"); s != "deleted" {
			t.Errorf("deleted experiment has lifecycle_stage %v", s)
		}
		if s := get(c.ok("GET", "runs/get", obj{"run_id": run}), "run", "info", "lifecycle_stage"); s != "deleted" {
			t.Errorf("run of deleted experiment has lifecycle_stage %v", s)
		}
		if d := cmp.Diff([]string{"exp-b"}, names(obj{})); d != "" {
			t.Errorf("active experiments (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{"exp-a2"}, names(obj{"view_type": "DELETED_ONLY"})); d != "" {
			t.Errorf("deleted experiments (-want +got):\n%s", d)
		}
		c.fails("POST", "runs/create", obj{"experiment_id": id}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.ok("POST", "experiments/restore", obj{"experiment_id": id})
		if s := get(c.ok("GET", "runs/get", obj{"run_id": run}), "run", "info", "lifecycle_stage"); s != "active" {
			t.Errorf("run of restored experiment has lifecycle_stage %v", s)
		}
		c.fails("POST", "experiments/delete", obj{"experiment_id": "missing"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	})
}

func TestDefaultExperimentAndAjaxPrefix(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *api) {
		// MLflow clients without an experiment log to experiment "0".
		run := c.ok("POST", "runs/create", obj{"experiment_id": "0"})
		expID := get(run, "run", "info", "experiment_id").(string)
		e := c.ok("GET", "experiments/get", obj{"experiment_id": "0"})
		if get(e, "experiment", "name") != "Default" || get(e, "experiment", "experiment_id") != expID {
			t.Errorf("default experiment: %v, run in %s", e, expID)
		}
		resp, err := http.Get(c.base + "/ajax-api/2.0/mlflow/experiments/get?experiment_id=" + expID)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("ajax-api: status %d", resp.StatusCode)
		}
		c.fails("POST", "no/such/endpoint", obj{}, http.StatusNotFound, "ENDPOINT_NOT_FOUND")
	})
}
