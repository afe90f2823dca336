package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// operation documents one route of the API.
type operation struct {
	pattern  string // "GET /api/v1/runs/{id}"
	summary  string
	request  any // zero value of the JSON request body type, or nil
	response any // zero value of the JSON response type, or nil for 204/text
	text     bool
}

// operations lists every route with its documentation; TestOpenAPICoversRoutes checks that it
// matches the routes the handler registers, so the document cannot drift.
var operations = []operation{
	{pattern: "POST /api/v1/pipelines", summary: "Upload a compiled pipeline (JSON or multipart/form-data) with its first version", request: CreatePipelineRequest{}, response: CreatePipelineResponse{}},
	{pattern: "GET /api/v1/pipelines", summary: "List pipelines", response: ListPipelinesResponse{}},
	{pattern: "GET /api/v1/pipelines/{id}", summary: "Get a pipeline by ID or name", response: Pipeline{}},
	{pattern: "DELETE /api/v1/pipelines/{id}", summary: "Delete a pipeline and its versions"},
	{pattern: "POST /api/v1/pipelines/{id}/versions", summary: "Upload a new immutable version", request: CreatePipelineRequest{}, response: PipelineVersion{}},
	{pattern: "GET /api/v1/pipelines/{id}/versions", summary: "List a pipeline's versions", response: ListPipelineVersionsResponse{}},
	{pattern: "GET /api/v1/pipeline-versions/{id}", summary: "Get a version with its spec", response: PipelineVersion{}},
	{pattern: "DELETE /api/v1/pipeline-versions/{id}", summary: "Delete a version"},

	{pattern: "POST /api/v1/experiments", summary: "Create an experiment", request: CreateExperimentRequest{}, response: Experiment{}},
	{pattern: "GET /api/v1/experiments", summary: "List experiments", response: ListExperimentsResponse{}},
	{pattern: "GET /api/v1/experiments/{id}", summary: "Get an experiment", response: Experiment{}},
	{pattern: "DELETE /api/v1/experiments/{id}", summary: "Delete an experiment without runs"},
	{pattern: "POST /api/v1/experiments/{id}/archive", summary: "Archive an experiment", response: Experiment{}},
	{pattern: "POST /api/v1/experiments/{id}/unarchive", summary: "Restore an archived experiment", response: Experiment{}},

	{pattern: "POST /api/v1/runs", summary: "Create a run from a pipeline version (parameters type-checked) or a tracking-only run", request: CreateRunRequest{}, response: Run{}},
	{pattern: "GET /api/v1/runs", summary: "List runs (filter: CEL, orderBy, pageSize, pageToken, experimentId, view, includeData)", response: ListRunsResponse{}},
	{pattern: "POST /api/v1/runs/search", summary: "Search runs across experiments", request: SearchRunsRequest{}, response: ListRunsResponse{}},
	{pattern: "GET /api/v1/runs/{id}", summary: "Get a run with its node graph", response: Run{}},
	{pattern: "DELETE /api/v1/runs/{id}", summary: "Delete a finished run"},
	{pattern: "POST /api/v1/runs/{id}/cancel", summary: "Cancel an active run", response: Run{}},
	{pattern: "POST /api/v1/runs/{id}/retry", summary: "Retry a failed run: only failed and skipped nodes run again", response: Run{}},
	{pattern: "POST /api/v1/runs/{id}/archive", summary: "Archive a run", response: Run{}},
	{pattern: "POST /api/v1/runs/{id}/unarchive", summary: "Restore an archived run", response: Run{}},
	{pattern: "GET /api/v1/runs/{id}/nodes/{node}/logs", summary: "A node's log as text; follow=true streams while it runs", text: true},
	{pattern: "GET /api/v1/runs/{id}/nodes/{node}/artifacts/{name}", summary: "A node's output artifact (node by ID, name or display name): maxBytes cuts it (X-Kiln-Truncated: true), entry picks a file of a directory or archive, raw=true sends a .tgz as stored; several files answer an ArtifactListing (JSON)", text: true},
	{pattern: "POST /api/v1/runs/{id}/status", summary: "Set the phase of a tracking-only run", request: SetRunStatusRequest{}, response: Run{}},
	{pattern: "POST /api/v1/runs/{id}/log-batch", summary: "Log params (write-once), metrics and tags in one transaction", request: LogBatchRequest{}},
	{pattern: "GET /api/v1/runs/{id}/data", summary: "A run's params, latest metrics and tags", response: RunData{}},
	{pattern: "GET /api/v1/runs/{id}/metrics/{key}/history", summary: "Metric history, paged (pageSize, pageToken) or downsampled (maxPoints)", response: MetricHistoryResponse{}},
	{pattern: "DELETE /api/v1/runs/{id}/tags/{key}", summary: "Delete a tag"},
	{pattern: "GET /api/v1/runs/{id}/lineage", summary: "Artifacts a run produced and consumed", response: LineageResponse{}},
	{pattern: "GET /api/v1/runs/{id}/events", summary: "Server-sent events (text/event-stream) of a run: snapshot, node, run, then end or deleted; Last-Event-ID resumes", text: true},
	{pattern: "GET /api/v1/runs/events", summary: "Server-sent events (text/event-stream) of the namespace's runs summary (RunsSummary): active and failed counts, newest runs", text: true},
	{pattern: "GET /api/v1/namespaces", summary: "The caller's namespaces and roles", response: ListNamespacesResponse{}},

	{pattern: "POST /api/v1/recurring-runs", summary: "Create a recurring run (cron or interval)", request: RecurringRun{}, response: RecurringRun{}},
	{pattern: "GET /api/v1/recurring-runs", summary: "List recurring runs", response: ListRecurringRunsResponse{}},
	{pattern: "GET /api/v1/recurring-runs/{id}", summary: "Get a recurring run", response: RecurringRun{}},
	{pattern: "DELETE /api/v1/recurring-runs/{id}", summary: "Delete a recurring run"},
	{pattern: "POST /api/v1/recurring-runs/{id}/enable", summary: "Enable a recurring run", response: RecurringRun{}},
	{pattern: "POST /api/v1/recurring-runs/{id}/disable", summary: "Disable a recurring run", response: RecurringRun{}},

	{pattern: "POST /api/v1/artifacts", summary: "Register an artifact", request: Artifact{}, response: Artifact{}},
	{pattern: "GET /api/v1/artifacts", summary: "List artifacts (runId)", response: ListArtifactsResponse{}},
	{pattern: "GET /api/v1/artifacts/{id}", summary: "Get an artifact", response: Artifact{}},
	{pattern: "GET /api/v1/artifacts/{id}/content", summary: "A tracked or registered artifact's content from its URI (file, s3, gs): maxBytes cuts it (X-Kiln-Truncated: true), entry picks a file of a directory or archive, raw=true sends a .tgz as stored; several files answer an ArtifactListing (JSON)", text: true},
	{pattern: "GET /api/v1/artifacts/{id}/lineage", summary: "Who produced and consumed an artifact", response: LineageResponse{}},

	{pattern: "POST /api/v1/models", summary: "Register a model", request: RegisteredModel{}, response: RegisteredModel{}},
	{pattern: "GET /api/v1/models", summary: "List registered models", response: ListModelsResponse{}},
	{pattern: "GET /api/v1/models/{name}", summary: "Get a registered model", response: RegisteredModel{}},
	{pattern: "DELETE /api/v1/models/{name}", summary: "Delete a model with its versions and aliases"},
	{pattern: "POST /api/v1/models/{name}/versions", summary: "Create a model version", request: ModelVersion{}, response: ModelVersion{}},
	{pattern: "GET /api/v1/models/{name}/versions", summary: "List a model's versions", response: ListModelVersionsResponse{}},
	{pattern: "GET /api/v1/models/{name}/versions/{version}", summary: "Get a model version", response: ModelVersion{}},
	{pattern: "PUT /api/v1/models/{name}/aliases/{alias}", summary: "Point an alias at a version", request: SetAliasRequest{}, response: ModelVersion{}},
	{pattern: "GET /api/v1/models/{name}/aliases/{alias}", summary: "Resolve an alias", response: ModelVersion{}},
	{pattern: "DELETE /api/v1/models/{name}/aliases/{alias}", summary: "Delete an alias"},
	{pattern: "GET /api/v1/models/{name}/endpoints", summary: "Serving status of versions tagged kiln.dev/endpoint, probed by the server", response: ListModelEndpointsResponse{}},

	{pattern: "GET /api/v1/openapi.json", summary: "This document"},
}

func (h *Handler) registerRoutes() {
	h.registerPipelineRoutes()
	h.registerExperimentRoutes()
	h.registerRunRoutes()
	h.registerTrackingRoutes()
	h.registerRecurringRoutes()
	h.registerRegistryRoutes()
	h.registerArtifactContentRoutes()
	h.registerLiveRoutes()
	doc, err := json.MarshalIndent(OpenAPI(), "", "  ")
	if err != nil {
		panic(err) // the document is built from static Go values
	}
	h.handle("GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
		return nil
	})
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z]+)\}`)

// OpenAPI returns the OpenAPI 3.0 document of the API.
func OpenAPI() map[string]any {
	schemas := map[string]any{}
	gen := &schemaGen{defs: schemas}
	paths := map[string]map[string]any{}
	for _, op := range operations {
		method, path, _ := strings.Cut(op.pattern, " ")
		item := paths[path]
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		params := []any{map[string]any{"name": "namespace", "in": "query", "schema": map[string]any{"type": "string", "default": DefaultNamespace}}}
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		o := map[string]any{
			"summary":    op.summary,
			"parameters": params,
			"responses": map[string]any{
				"4XX": map[string]any{"description": "Client error", "content": jsonContent(gen.ref(reflect.TypeOf(ErrorResponse{})))},
			},
		}
		resp := o["responses"].(map[string]any)
		switch {
		case op.text:
			resp["200"] = map[string]any{"description": "OK", "content": map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}}
		case op.response != nil:
			code := "200"
			if method == http.MethodPost && op.request != nil && !strings.HasSuffix(path, "/search") {
				code = "201"
			}
			resp[code] = map[string]any{"description": "OK", "content": jsonContent(gen.ref(reflect.TypeOf(op.response)))}
		case strings.HasSuffix(path, "openapi.json"):
			resp["200"] = map[string]any{"description": "The OpenAPI document", "content": jsonContent(map[string]any{"type": "object"})}
		default:
			resp["204"] = map[string]any{"description": "Done"}
		}
		if op.request != nil {
			o["requestBody"] = map[string]any{"required": true, "content": jsonContent(gen.ref(reflect.TypeOf(op.request)))}
		}
		item[strings.ToLower(method)] = o
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "Kiln API", "version": "v1"},
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
	}
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

// schemaGen derives JSON schemas from the API's Go types.
type schemaGen struct{ defs map[string]any }

var timeType = reflect.TypeOf(time.Time{})
var rawType = reflect.TypeOf(json.RawMessage{})

func (g *schemaGen) ref(t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct && t != timeType {
		if _, ok := g.defs[t.Name()]; !ok {
			g.defs[t.Name()] = map[string]any{} // break cycles
			g.defs[t.Name()] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + t.Name()}
	}
	return g.schema(t)
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{"type": "object"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.ref(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.ref(t.Elem())}
	case reflect.Pointer:
		return g.schema(t.Elem())
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		props[name] = g.ref(f.Type)
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}
