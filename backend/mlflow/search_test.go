package mlflow_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSearchRuns(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *api) {
		exp := c.createExperiment("search")
		other := c.createExperiment("other")
		// Five runs: name r<i>, start time i, acc 0.80 + i/100, optimizer adam for even i, and
		// status FINISHED for i < 3.
		for i := range 5 {
			run := c.createRun(exp, obj{"run_name": fmt.Sprintf("r%d", i), "start_time": 1700000000000 + i*1000,
				"tags": []obj{{"key": "team", "value": fmt.Sprintf("t%d", i%2)}}})
			opt := "sgd"
			if i%2 == 0 {
				opt = "adam"
			}
			c.ok("POST", "runs/log-batch", obj{"run_id": run,
				"metrics": []obj{{"key": "acc", "value": 0.80 + float64(i)/100, "timestamp": 1, "step": 0}},
				"params":  []obj{{"key": "optimizer", "value": opt}}})
			if i < 3 {
				c.ok("POST", "runs/update", obj{"run_id": run, "status": "FINISHED", "end_time": 1700000100000})
			}
		}
		c.createRun(other, obj{"run_name": "elsewhere"})

		names := func(req obj) []string {
			t.Helper()
			if _, ok := req["experiment_ids"]; !ok {
				req["experiment_ids"] = []string{exp}
			}
			var out []string
			for _, r := range c.ok("POST", "runs/search", req)["runs"].([]any) {
				out = append(out, get(r, "info", "run_name").(string))
			}
			return out
		}
		for _, tc := range []struct {
			name string
			req  obj
			want []string
		}{
			{"default order is start_time DESC", obj{}, []string{"r4", "r3", "r2", "r1", "r0"}},
			{"metric comparison", obj{"filter": "metrics.acc > 0.815"}, []string{"r4", "r3", "r2"}},
			{"param equality", obj{"filter": "params.optimizer = 'adam'"}, []string{"r4", "r2", "r0"}},
			{"tag and status", obj{"filter": "tags.team = 't0' and attributes.status = 'FINISHED'"}, []string{"r2", "r0"}},
			{"status not running", obj{"filter": "attributes.status != 'RUNNING'"}, []string{"r2", "r1", "r0"}},
			{"three clauses", obj{"filter": "metrics.acc >= 0.81 AND params.optimizer = \"adam\" AND attributes.status = 'FINISHED'"}, []string{"r2"}},
			{"run name LIKE", obj{"filter": "attributes.run_name LIKE 'r%'", "max_results": 2}, []string{"r4", "r3"}},
			{"param IN", obj{"filter": "params.optimizer IN ('sgd', 'momentum')"}, []string{"r3", "r1"}},
			{"start_time", obj{"filter": "attributes.start_time >= 1700000003000"}, []string{"r4", "r3"}},
			{"order by metric ASC", obj{"order_by": []string{"metrics.acc ASC"}}, []string{"r0", "r1", "r2", "r3", "r4"}},
			{"order by run_name", obj{"order_by": []string{"attributes.run_name DESC"}}, []string{"r4", "r3", "r2", "r1", "r0"}},
			{"backticked key", obj{"filter": "metrics.`acc` < 0.805"}, []string{"r0"}},
			{"missing key matches nothing", obj{"filter": "params.nope = 'x'"}, nil},
			{"two experiments", obj{"experiment_ids": []string{exp, other}, "filter": "attributes.run_name = 'elsewhere'"}, []string{"elsewhere"}},
			{"no experiments", obj{"experiment_ids": []string{}}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if d := cmp.Diff(tc.want, names(tc.req)); d != "" {
					t.Errorf("runs/search %v (-want +got):\n%s", tc.req, d)
				}
			})
		}

		// Paging with page_token walks every run once.
		var all []string
		token := ""
		for {
			req := obj{"experiment_ids": []string{exp}, "max_results": 2}
			if token != "" {
				req["page_token"] = token
			}
			resp := c.ok("POST", "runs/search", req)
			for _, r := range resp["runs"].([]any) {
				all = append(all, get(r, "info", "run_name").(string))
			}
			token, _ = resp["next_page_token"].(string)
			if token == "" {
				break
			}
		}
		if d := cmp.Diff([]string{"r4", "r3", "r2", "r1", "r0"}, all); d != "" {
			t.Errorf("paged search (-want +got):\n%s", d)
		}

		// Runs in a search carry their data.
		r := c.ok("POST", "runs/search", obj{"experiment_ids": []string{exp}, "filter": "attributes.run_name = 'r1'"})
		if kv(get(r, "runs", 0, "data", "params"))["optimizer"] != "sgd" || get(r, "runs", 0, "data", "metrics", 0, "key") != "acc" {
			t.Errorf("search result data: %v", get(r, "runs", 0, "data"))
		}

		// Deleted runs.
		id := get(r, "runs", 0, "info", "run_id").(string)
		c.ok("POST", "runs/delete", obj{"run_id": id})
		if d := cmp.Diff([]string{"r1"}, names(obj{"run_view_type": "DELETED_ONLY"})); d != "" {
			t.Errorf("deleted runs (-want +got):\n%s", d)
		}
		if got := names(obj{"run_view_type": "ALL"}); len(got) != 5 {
			t.Errorf("ALL view: %v", got)
		}

		for _, bad := range []obj{
			{"filter": "metrics.acc > 'high'"},
			{"filter": "params.optimizer > 1"},
			{"filter": "metrics.acc > 0.8 OR metrics.acc < 0.1"},
			{"filter": "attributes.status = 'DONE'"},
			{"filter": "foo.bar = 'x'"},
			{"filter": "params.x ILIKE 'a%'"},
			{"order_by": []string{"params.optimizer"}},
			{"max_results": 50001},
			{"page_token": "garbage"},
		} {
			bad["experiment_ids"] = []string{exp}
			c.fails("POST", "runs/search", bad, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
		}
		c.fails("POST", "runs/search", obj{"experiment_ids": []string{"missing"}}, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	})
}
