package mlflow_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/kilnml/kiln/backend/mlflow"
)

// authorizer grants bob write access to namespace team-a and read access to team-b.
type authorizer struct{}

func (authorizer) Authorize(r *http.Request, ns string, write bool) (string, error) {
	if r.Header.Get("Authorization") != "Bearer bob-token" {
		return "", errors.New("unknown token")
	}
	switch {
	case ns == "team-a", ns == "team-b" && !write:
		return "bob", nil
	}
	return "", mlflow.ErrPermissionDenied
}

func TestAuthorizer(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *api) {
		send := func(method, path, ns, token, body string) int {
			t.Helper()
			req, err := http.NewRequest(method, c.base+"/api/2.0/mlflow/"+path, stringReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if ns != "" {
				req.Header.Set(mlflow.NamespaceHeader, ns)
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for _, tc := range []struct {
			name, method, path, ns, token, body string
			want                                int
		}{
			{"no token", "POST", "experiments/create", "team-a", "", `{"name":"x"}`, http.StatusUnauthorized},
			{"writer creates", "POST", "experiments/create", "team-a", "bob-token", `{"name":"x"}`, http.StatusOK},
			{"reader cannot create", "POST", "experiments/create", "team-b", "bob-token", `{"name":"x"}`, http.StatusForbidden},
			{"reader searches (a POST that only reads)", "POST", "experiments/search", "team-b", "bob-token", `{}`, http.StatusOK},
			{"other namespace", "GET", "experiments/get-by-name?experiment_name=x", "team-c", "bob-token", "", http.StatusForbidden},
			{"namespaces are separate", "GET", "experiments/get-by-name?experiment_name=x", "team-b", "bob-token", "", http.StatusNotFound},
			{"same namespace", "GET", "experiments/get-by-name?experiment_name=x", "team-a", "bob-token", "", http.StatusOK},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := send(tc.method, tc.path, tc.ns, tc.token, tc.body); got != tc.want {
					t.Errorf("status %d, want %d", got, tc.want)
				}
			})
		}
		// The authorizer's user becomes the run's user_id, whatever the request says.
		req, _ := http.NewRequest("POST", c.base+"/api/2.0/mlflow/runs/create", stringReader(`{"experiment_id":"0","user_id":"mallory"}`))
		req.Header.Set(mlflow.NamespaceHeader, "team-a")
		req.Header.Set("Authorization", "Bearer bob-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out obj
		decodeBody(t, resp, &out)
		if u := get(out, "run", "info", "user_id"); u != "bob" {
			t.Errorf("user_id %v, want bob", u)
		}
	}, mlflow.WithAuthorizer(authorizer{}))
}

func TestAuthFunc(t *testing.T) {
	auth := mlflow.WithAuth(func(r *http.Request) (string, error) {
		if ns := r.URL.Query().Get("ns"); ns != "" {
			return ns, nil
		}
		return "", errors.New("who are you")
	})
	forEachStore(t, func(t *testing.T, c *api) {
		resp, err := http.Post(c.base+"/api/2.0/mlflow/experiments/create?ns=n1", "application/json", stringReader(`{"name":"e"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("create: %d", resp.StatusCode)
		}
		resp, err = http.Get(c.base + "/api/2.0/mlflow/experiments/get-by-name?experiment_name=e")
		if err != nil {
			t.Fatal(err)
		}
		var out obj
		decodeBody(t, resp, &out)
		if resp.StatusCode != http.StatusUnauthorized || out["error_code"] != "UNAUTHENTICATED" {
			t.Errorf("without namespace: %d %v", resp.StatusCode, out)
		}
		if _, err := c.st.GetExperimentByName(t.Context(), "n1", "e"); err != nil {
			t.Errorf("experiment not in namespace n1: %v", err)
		}
	}, auth)
}
