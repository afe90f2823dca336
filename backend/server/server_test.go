package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
)

// echoStore is a stand-in for backend/mlflow.NewHandler: it proves the mount receives the
// server's store.
func echoStore(st store.Store, _ *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, err := st.ListExperiments(r.Context(), store.ListOptions{Namespace: "default"}, true)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, "mlflow "+r.URL.Path)
	})
}

func TestEndpointsAndMounts(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.yaml")
	if err := os.WriteFile(tokens, []byte("users:\n- name: alice\n  tokens: [secret]\n  namespaces: {default: admin}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Config{DataDir: dir, SchedulerInterval: -1, TokensFile: tokens,
		Mounts: []server.Mount{server.MountFunc("/api/2.0/mlflow/", echoStore)}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		path, token string
		wantCode    int
		wantBody    string
	}{
		{"/healthz", "", 200, "ok"},
		{"/readyz", "", 200, "ok"},
		{"/api/v1/openapi.json", "secret", 200, `"openapi": "3.0.3"`},
		{"/api/v1/experiments", "", 401, "UNAUTHENTICATED"},
		{"/api/2.0/mlflow/experiments/search", "", 401, "UNAUTHENTICATED"},
		{"/api/2.0/mlflow/experiments/search", "secret", 200, "mlflow /api/2.0/mlflow/experiments/search"},
		{"/metrics", "", 200, `kiln_http_requests_total{code="401",method="GET",route="GET /api/v1/experiments"} 1`},
	}
	for _, tt := range tests {
		code, body := get(tt.path, tt.token)
		if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
			t.Errorf("GET %s: %d %.300q, want %d containing %q", tt.path, code, body, tt.wantCode, tt.wantBody)
		}
	}
	_, doc := get("/api/v1/openapi.json", "")
	var v map[string]any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Errorf("openapi.json is not JSON: %v", err)
	}
}
