package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOpenAPICoversRoutes checks that the OpenAPI document lists exactly the routes the handler
// registers, with a schema for every referenced type.
func TestOpenAPICoversRoutes(t *testing.T) {
	h := &Handler{}
	h.mux = newMuxForTest()
	h.registerRoutes()
	var documented []string
	doc := OpenAPI()
	for path, item := range doc["paths"].(map[string]map[string]any) {
		for method := range item {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	registered := h.Routes()
	slices.Sort(documented)
	slices.Sort(registered)
	if d := cmp.Diff(registered, documented); d != "" {
		t.Errorf("documented routes differ from registered ones (-registered +documented):\n%s", d)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"Run", "Node", "ErrorResponse", "LogBatchRequest", "CreatePipelineRequest"} {
		s, ok := schemas[name].(map[string]any)
		if !ok || len(s["properties"].(map[string]any)) == 0 {
			t.Errorf("schema %s missing or empty: %v", name, schemas[name])
		}
	}
}

func newMuxForTest() *http.ServeMux { return http.NewServeMux() }
