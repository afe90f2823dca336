package register

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/components/internal/testserver"
)

// TestAPIRegistry runs the alias decisions against a real embedded Kiln server.
func TestAPIRegistry(t *testing.T) {
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), SchedulerInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	reg := APIRegistry{URL: hs.URL}
	art := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(art, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Alias(ctx, "cancer", "production"); err == nil {
		t.Fatal("alias of a missing model found")
	}
	for i, st := range []struct {
		acc      float64
		promoted bool
		alias    int
	}{{0.9, true, 1}, {0.8, false, 1}, {0.95, true, 3}} {
		d, err := RegisterAndPromote(ctx, reg, "cancer", art, map[string]float64{"accuracy": st.acc}, map[string]string{"kind": "gbt"}, "production", "accuracy", "maximize")
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if d.Version.Version != i+1 || d.Promoted != st.promoted {
			t.Errorf("step %d: version %d promoted %v (%s)", i, d.Version.Version, d.Promoted, d.Reason)
		}
		v, err := reg.Alias(ctx, "cancer", "production")
		if err != nil {
			t.Fatal(err)
		}
		if v.Version != st.alias || v.URI != art || v.Metadata["kind"] != "gbt" {
			t.Errorf("step %d: production %+v, want version %d", i, v, st.alias)
		}
	}
}

// SetEndpoint tags a version with its serving URL through the server's registry API.
func TestAPIRegistryEndpointTag(t *testing.T) {
	ctx := context.Background()
	srv := testserver.Start(t)
	reg := APIRegistry{URL: srv.URL}
	v, err := reg.Register(ctx, "iris", "/models/iris.json", map[string]float64{"accuracy": 0.9}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.SetEndpoint(ctx, "iris", v.Version, "http://127.0.0.1:8081"); err != nil {
		t.Fatal(err)
	}
	got, err := reg.Version(ctx, "iris", v.Version)
	if err != nil {
		t.Fatal(err)
	}
	if got.Metadata[api.EndpointTag] != "http://127.0.0.1:8081" {
		t.Errorf("tags %v, want %s = http://127.0.0.1:8081", got.Metadata, api.EndpointTag)
	}
	if err := reg.SetEndpoint(ctx, "iris", 99, "http://x"); err == nil {
		t.Error("tagged a missing version")
	}
}
