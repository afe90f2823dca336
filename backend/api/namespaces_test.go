package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
)

func TestListNamespaces(t *testing.T) {
	t.Run("auth disabled", func(t *testing.T) {
		st := sqliteStore(t)
		if err := st.SetMember(ctx(t), store.Member{Namespace: "team-a", User: api.LocalUser, Role: store.RoleViewer}); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, st, server.Config{})
		var got api.ListNamespacesResponse
		if code := call(t, "GET", e.url+"/api/v1/namespaces", nil, &got); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		want := []api.NamespaceAccess{{Name: "default", Role: "admin"}, {Name: "team-a", Role: "admin"}}
		if d := cmp.Diff(want, got.Namespaces); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
	t.Run("tokens", func(t *testing.T) {
		tokens := filepath.Join(t.TempDir(), "tokens.yaml")
		if err := os.WriteFile(tokens, []byte("users:\n- name: alice\n  tokens: [alice-secret]\n  namespaces: {team-b: viewer, team-a: editor}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, sqliteStore(t), server.Config{TokensFile: tokens})
		get := func(token string) (int, api.ListNamespacesResponse) {
			var out api.ListNamespacesResponse
			req, _ := http.NewRequest("GET", e.url+"/api/v1/namespaces", nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode == http.StatusOK {
				if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
					t.Fatal(err)
				}
			}
			return res.StatusCode, out
		}
		code, got := get("alice-secret")
		want := []api.NamespaceAccess{{Name: "team-a", Role: "editor"}, {Name: "team-b", Role: "viewer"}}
		if d := cmp.Diff(want, got.Namespaces); code != http.StatusOK || d != "" {
			t.Errorf("status %d (-want +got):\n%s", code, d)
		}
		if code, _ := get(""); code != http.StatusUnauthorized {
			t.Errorf("without a token: %d, want 401", code)
		}
	})
}
