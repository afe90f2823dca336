package api_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store/sqlite"
)

func TestAuthNamespaces(t *testing.T) {
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "kiln.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(tokens, []byte(`users:
- name: alice
  tokens: [alice-secret]
  namespaces: {team-a: editor, team-b: viewer}
- name: bob
  tokens: ["sha256:`+api.HashToken("bob-secret")+`"]
  namespaces: {team-b: editor}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, st, server.Config{TokensFile: tokens})
	ctx := ctx(t)
	as := func(token, ns string) *client.Client {
		return client.New(e.url, client.Options{Token: token, Namespace: ns})
	}
	tests := []struct {
		name    string
		c       *client.Client
		write   bool
		wantErr int
	}{
		{"no token", as("", "team-a"), false, http.StatusUnauthorized},
		{"unknown token", as("guess", "team-a"), false, http.StatusUnauthorized},
		{"editor reads", as("alice-secret", "team-a"), false, 0},
		{"editor writes", as("alice-secret", "team-a"), true, 0},
		{"viewer reads", as("alice-secret", "team-b"), false, 0},
		{"viewer cannot write", as("alice-secret", "team-b"), true, http.StatusForbidden},
		{"no membership", as("bob-secret", "team-a"), false, http.StatusForbidden},
		{"hashed token in file", as("bob-secret", "team-b"), true, 0},
		{"default namespace not granted", as("alice-secret", ""), false, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.write {
				_, err = tt.c.CreateExperiment(ctx, api.CreateExperimentRequest{Name: tt.name})
			} else {
				_, err = tt.c.ListExperiments(ctx, client.PageOptions{}, false)
			}
			if got := client.StatusCode(err); got != tt.wantErr {
				t.Errorf("status of error %v = %d, want %d", err, got, tt.wantErr)
			}
		})
	}
	// Namespaces isolate resources: team-b cannot see team-a's experiment by ID.
	exp, err := as("alice-secret", "team-a").CreateExperiment(ctx, api.CreateExperimentRequest{Name: "private"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as("bob-secret", "team-b").GetExperiment(ctx, exp.ID); client.StatusCode(err) != http.StatusNotFound {
		t.Errorf("other namespace's experiment: %v, want 404", err)
	}
}

func TestNoTokensRequiresLoopback(t *testing.T) {
	_, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), Addr: "0.0.0.0:8080", SchedulerInterval: -1})
	if err == nil {
		t.Fatal("single-user server accepted a non-loopback address")
	}
}
