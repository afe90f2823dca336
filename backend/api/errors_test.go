package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kilnml/kiln/backend/api"
)

// TestBadRequests sends malformed, mistyped, unknown-field, oversized and invalid requests and
// checks the status code and the field named in the error details. None may answer 5xx.
func TestBadRequests(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := ctx(t)
		up, err := e.c.CreatePipeline(ctx, api.CreatePipelineRequest{Name: "echo", Spec: echoSpec})
		if err != nil {
			t.Fatal(err)
		}
		exp, err := e.c.CreateExperiment(ctx, api.CreateExperimentRequest{Name: "e"})
		if err != nil {
			t.Fatal(err)
		}
		badSpec := strings.Replace(echoSpec, "entrypoint: main", "entrypoint: nope", 1)
		dupSpec := strings.Replace(echoSpec, "- name: say\n    inputs", "- name: main\n    inputs", 1)
		argoBad := strings.Replace(echoSpec, "{{workflow.parameters.message}}", "{{workflow.parameters.missing}}", 1)
		huge := `{"name":"` + strings.Repeat("x", api.DefaultMaxBodyBytes+10) + `"}`
		runURL := "/api/v1/runs"
		tests := []struct {
			name, method, path, body string
			wantStatus               int
			wantField                string
		}{
			{"malformed JSON", "POST", "/api/v1/experiments", `{"name": `, 400, "body"},
			{"not an object", "POST", "/api/v1/experiments", `[1,2]`, 400, "body"},
			{"trailing data", "POST", "/api/v1/experiments", `{"name":"a"} {}`, 400, "body"},
			{"empty body", "POST", "/api/v1/experiments", ``, 400, "body"},
			{"unknown field", "POST", "/api/v1/experiments", `{"name":"a","colour":"red"}`, 400, "colour"},
			{"wrong type", "POST", "/api/v1/experiments", `{"name":42}`, 400, "name"},
			{"wrong nested type", "POST", "/api/v1/experiments", `{"name":"x","tags":{"a":1}}`, 400, "tags"},
			{"missing name", "POST", "/api/v1/experiments", `{}`, 400, "name"},
			{"duplicate name", "POST", "/api/v1/experiments", `{"name":"e"}`, 409, ""},
			{"huge payload", "POST", "/api/v1/experiments", huge, 413, ""},
			{"spec missing", "POST", "/api/v1/pipelines", `{"name":"p"}`, 400, "spec"},
			{"spec not YAML", "POST", "/api/v1/pipelines", `{"name":"p","spec":"::: ["}`, 400, "spec"},
			{"spec unknown field", "POST", "/api/v1/pipelines", jsonBody(map[string]any{"name": "p", "spec": echoSpec + "  bogus: 1\n"}), 400, "spec"},
			{"spec bad entrypoint", "POST", "/api/v1/pipelines", jsonBody(map[string]any{"name": "p", "spec": badSpec}), 400, "spec.spec.entrypoint"},
			{"spec duplicate template", "POST", "/api/v1/pipelines", jsonBody(map[string]any{"name": "p", "spec": dupSpec}), 400, "spec.spec.templates[1].name"},
			{"spec fails argo validation", "POST", "/api/v1/pipelines", jsonBody(map[string]any{"name": "p", "spec": argoBad}), 400, "spec.spec.templates[0]"},
			{"run unknown version", "POST", runURL, `{"pipelineVersionId":"nope"}`, 400, "pipelineVersionId"},
			{"run unknown experiment", "POST", runURL, `{"pipelineVersionId":"` + up.Version.ID + `","experimentId":"nope"}`, 400, "experimentId"},
			{"run param wrong type", "POST", runURL, `{"pipelineVersionId":"` + up.Version.ID + `","parameters":{"count":"many"}}`, 400, "parameters[count]"},
			{"run param undeclared", "POST", runURL, `{"pipelineVersionId":"` + up.Version.ID + `","parameters":{"colour":"red"}}`, 400, "parameters[colour]"},
			{"run param not a string", "POST", runURL, `{"pipelineVersionId":"` + up.Version.ID + `","parameters":{"count":3}}`, 400, "parameters"},
			{"bad filter", "GET", "/api/v1/runs?filter=metrics.loss+%2B+1+%3E+2", "", 400, "filter"},
			{"filter syntax", "GET", "/api/v1/runs?filter=((", "", 400, "filter"},
			{"bad page token", "GET", "/api/v1/runs?pageToken=garbage", "", 400, "pageToken"},
			{"bad order", "GET", "/api/v1/runs?orderBy=colour", "", 400, "orderBy"},
			{"bad page size", "GET", "/api/v1/runs?pageSize=-1", "", 400, "pageSize"},
			{"bad view", "GET", "/api/v1/runs?view=sideways", "", 400, "view"},
			{"search bad filter", "POST", "/api/v1/runs/search", `{"filter":"size(tags) > 1"}`, 400, "filter"},
			{"search unknown field", "POST", "/api/v1/runs/search", `{"filtre":"x"}`, 400, "filtre"},
			{"batch missing key", "POST", "/api/v1/runs/RUN/log-batch", `{"metrics":[{"value":1}]}`, 400, "metrics[0].key"},
			{"batch wrong type", "POST", "/api/v1/runs/RUN/log-batch", `{"metrics":[{"key":"a","value":"high"}]}`, 400, "metrics.value"},
			{"batch unknown run", "POST", "/api/v1/runs/nope/log-batch", `{"metrics":[{"key":"a","value":1}]}`, 404, ""},
			{"history bad maxPoints", "GET", "/api/v1/runs/RUN/metrics/loss/history?maxPoints=x", "", 400, "maxPoints"},
			{"recurring bad cron", "POST", "/api/v1/recurring-runs", `{"name":"r","pipelineVersionId":"` + up.Version.ID + `","cron":"61 * * * *"}`, 400, "cron"},
			{"recurring bad zone", "POST", "/api/v1/recurring-runs", `{"name":"r","pipelineVersionId":"` + up.Version.ID + `","cron":"@hourly","timeZone":"Mars/Base"}`, 400, "timeZone"},
			{"recurring bad interval", "POST", "/api/v1/recurring-runs", `{"name":"r","pipelineVersionId":"` + up.Version.ID + `","interval":"soon"}`, 400, "interval"},
			{"model version number", "GET", "/api/v1/models/m/versions/x", "", 400, "version"},
			{"unknown run", "GET", "/api/v1/runs/nope", "", 404, ""},
			{"unknown route", "GET", "/api/v1/nothing", "", 404, ""},
			{"wrong media type", "POST", "/api/v1/experiments", `name=a`, 415, ""},
		}
		run, err := e.c.CreateRun(ctx, api.CreateRunRequest{ExperimentID: exp.ID, Name: "tracking"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				path := strings.ReplaceAll(tt.path, "RUN", run.ID)
				req, err := http.NewRequest(tt.method, e.url+path, bytes.NewBufferString(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				if tt.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				if tt.name == "wrong media type" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, b)
				}
				var er api.ErrorResponse
				if err := json.Unmarshal(b, &er); err != nil || er.Error.Code == "" {
					t.Fatalf("error body %q is not an api.ErrorResponse: %v", b, err)
				}
				if tt.wantField == "" {
					return
				}
				var fields []string
				for _, d := range er.Error.Details {
					fields = append(fields, d.Field)
					if d.Field == tt.wantField {
						return
					}
				}
				t.Errorf("details name fields %q, want %q (message %q)", fields, tt.wantField, er.Error.Message)
			})
		}
	})
}

func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
