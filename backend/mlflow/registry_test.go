package mlflow_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRegistry(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *api) {
		run := c.createRun(c.createExperiment("train"), nil)

		// registered-models/create
		m := c.ok("POST", "registered-models/create", obj{"name": "clf", "description": "classifier",
			"tags": []obj{{"key": "task", "value": "vision"}}})["registered_model"].(obj)
		if m["name"] != "clf" || m["description"] != "classifier" || kv(m["tags"])["task"] != "vision" {
			t.Errorf("create: %v", m)
		}
		if _, ok := m["creation_timestamp"].(float64); !ok {
			t.Errorf("creation_timestamp missing: %v", m)
		}
		c.fails("POST", "registered-models/create", obj{"name": "clf"}, http.StatusBadRequest, "RESOURCE_ALREADY_EXISTS")
		c.fails("POST", "registered-models/create", obj{}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.ok("POST", "registered-models/create", obj{"name": "reg"})

		// model-versions/create
		v1 := c.ok("POST", "model-versions/create", obj{"name": "clf", "source": "runs:/" + run + "/model", "run_id": run})["model_version"].(obj)
		want := obj{"name": "clf", "version": "1", "current_stage": "None", "source": "runs:/" + run + "/model", "run_id": run, "status": "READY"}
		for _, k := range []string{"creation_timestamp", "last_updated_timestamp"} {
			if _, ok := v1[k].(float64); !ok {
				t.Errorf("model version %s missing: %v", k, v1)
			}
			delete(v1, k)
		}
		if d := cmp.Diff(want, v1); d != "" {
			t.Errorf("model-versions/create (-want +got):\n%s", d)
		}
		v2 := c.ok("POST", "model-versions/create", obj{"name": "clf", "source": "s3://b/m2", "tags": []obj{{"key": "k", "value": "v"}}})
		if get(v2, "model_version", "version") != "2" {
			t.Errorf("second version: %v", v2)
		}
		c.fails("POST", "model-versions/create", obj{"name": "nope", "source": "s3://x"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
		c.fails("POST", "model-versions/create", obj{"name": "clf", "source": "s3://x", "run_id": "0123456789abcdef0123456789abcdef"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")

		// model-versions/get, update, tags, download uri
		if got := get(c.ok("GET", "model-versions/get", obj{"name": "clf", "version": "2"}), "model_version", "source"); got != "s3://b/m2" {
			t.Errorf("get version source %v", got)
		}
		c.fails("GET", "model-versions/get", obj{"name": "clf", "version": "9"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
		c.fails("GET", "model-versions/get", obj{"name": "clf", "version": "x"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		upd := c.ok("PATCH", "model-versions/update", obj{"name": "clf", "version": "2", "description": "better"})
		if get(upd, "model_version", "description") != "better" {
			t.Errorf("update version: %v", upd)
		}
		c.ok("POST", "model-versions/set-tag", obj{"name": "clf", "version": "1", "key": "stage", "value": "qa"})
		c.ok("DELETE", "model-versions/delete-tag", obj{"name": "clf", "version": "1", "key": "stage"})
		c.fails("DELETE", "model-versions/delete-tag", obj{"name": "clf", "version": "1", "key": "stage"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
		if u := c.ok("GET", "model-versions/get-download-uri", obj{"name": "clf", "version": "2"})["artifact_uri"]; u != "s3://b/m2" {
			t.Errorf("download uri %v", u)
		}

		// aliases
		c.ok("POST", "registered-models/alias", obj{"name": "clf", "alias": "champion", "version": "1"})
		c.ok("POST", "registered-models/alias", obj{"name": "clf", "alias": "champion", "version": "2"}) // moves
		c.ok("POST", "registered-models/alias", obj{"name": "clf", "alias": "backup", "version": "1"})
		c.fails("POST", "registered-models/alias", obj{"name": "clf", "alias": "latest", "version": "1"}, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		c.fails("POST", "registered-models/alias", obj{"name": "clf", "alias": "x", "version": "7"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
		byAlias := c.ok("GET", "registered-models/alias", obj{"name": "clf", "alias": "champion"})
		if get(byAlias, "model_version", "version") != "2" || get(byAlias, "model_version", "aliases", 0) != "champion" {
			t.Errorf("get by alias: %v", byAlias)
		}
		got := c.ok("GET", "registered-models/get", obj{"name": "clf"})["registered_model"].(obj)
		if d := cmp.Diff([]any{obj{"alias": "backup", "version": "1"}, obj{"alias": "champion", "version": "2"}}, got["aliases"]); d != "" {
			t.Errorf("model aliases (-want +got):\n%s", d)
		}
		if get(got, "latest_versions", 0, "version") != "2" {
			t.Errorf("latest_versions: %v", got["latest_versions"])
		}
		c.ok("DELETE", "registered-models/alias", obj{"name": "clf", "alias": "backup"})
		c.fails("GET", "registered-models/alias", obj{"name": "clf", "alias": "backup"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
		c.fails("DELETE", "registered-models/alias", obj{"name": "clf", "alias": "backup"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")

		// registered-models/update, tags, get-latest-versions
		if d := get(c.ok("PATCH", "registered-models/update", obj{"name": "clf", "description": "v2"}), "registered_model", "description"); d != "v2" {
			t.Errorf("update model description %v", d)
		}
		c.ok("POST", "registered-models/set-tag", obj{"name": "clf", "key": "owner", "value": "ml"})
		c.ok("DELETE", "registered-models/delete-tag", obj{"name": "clf", "key": "task"})
		if tags := kv(get(c.ok("GET", "registered-models/get", obj{"name": "clf"}), "registered_model", "tags")); !cmp.Equal(tags, map[string]any{"owner": "ml"}) {
			t.Errorf("model tags %v", tags)
		}
		if lv := c.ok("POST", "registered-models/get-latest-versions", obj{"name": "clf"}); get(lv, "model_versions", 0, "version") != "2" {
			t.Errorf("get-latest-versions: %v", lv)
		}

		// searches
		ms := c.ok("GET", "registered-models/search", obj{"filter": "name LIKE 'c%'"})
		if len(ms["registered_models"].([]any)) != 1 || get(ms, "registered_models", 0, "name") != "clf" {
			t.Errorf("registered-models/search: %v", ms)
		}
		all := c.ok("GET", "registered-models/search", obj{"max_results": 1})
		if len(all["registered_models"].([]any)) != 1 || all["next_page_token"] == nil {
			t.Errorf("registered-models/search page: %v", all)
		}
		vs := c.ok("GET", "model-versions/search", obj{"filter": "name = 'clf'"})
		if len(vs["model_versions"].([]any)) != 2 {
			t.Errorf("model-versions/search by name: %v", vs)
		}
		vs = c.ok("GET", "model-versions/search", obj{"filter": "run_id = '" + run + "'"})
		if len(vs["model_versions"].([]any)) != 1 || get(vs, "model_versions", 0, "version") != "1" {
			t.Errorf("model-versions/search by run: %v", vs)
		}

		// deletes
		c.ok("DELETE", "model-versions/delete", obj{"name": "clf", "version": "2"})
		c.fails("GET", "registered-models/alias", obj{"name": "clf", "alias": "champion"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
		c.ok("DELETE", "registered-models/delete", obj{"name": "clf"})
		c.fails("GET", "registered-models/get", obj{"name": "clf"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
		c.fails("DELETE", "registered-models/delete", obj{"name": "clf"}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	})
}
