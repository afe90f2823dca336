package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/server"
)

func TestErrorsCarryStatusAndFields(t *testing.T) {
	srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), SchedulerInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	c := client.New(ts.URL+"/", client.Options{Namespace: "team"})
	ctx := context.Background()
	_, err = c.CreatePipeline(ctx, api.CreatePipelineRequest{Name: "p", Spec: "kind: Workflow\nspec:\n  templates: []\n"})
	if client.StatusCode(err) != http.StatusBadRequest {
		t.Fatalf("err = %v, want 400", err)
	}
	ce := err.(*client.Error)
	if len(ce.Body.Details) == 0 || ce.Body.Details[0].Field != "spec.spec.templates" {
		t.Errorf("details = %+v", ce.Body.Details)
	}
	if client.StatusCode(fmt.Errorf("wrapped: %w", err)) != http.StatusBadRequest {
		t.Error("StatusCode does not see through wrapping")
	}
	e, err := c.CreateExperiment(ctx, api.CreateExperimentRequest{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Namespace != "team" {
		t.Errorf("namespace = %q, want the client's", e.Namespace)
	}
	if _, err := c.GetExperiment(ctx, "nope"); client.StatusCode(err) != http.StatusNotFound {
		t.Errorf("unknown experiment: %v", err)
	}
}
