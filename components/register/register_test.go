package register

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestRegisterAndPromote(t *testing.T) {
	ctx := context.Background()
	reg := FileRegistry{Dir: t.TempDir()}
	art := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(art, []byte(`{"format":"kiln.model/v1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		acc       float64
		direction string
		promoted  bool
		alias     int
	}{
		{"first version takes the alias", 0.90, "maximize", true, 1},
		{"worse does not", 0.85, "maximize", false, 1},
		{"equal does not", 0.90, "maximize", false, 1},
		{"better does", 0.95, "maximize", true, 4},
		{"minimize: lower wins", 0.10, "minimize", true, 5},
	}
	for i, st := range steps {
		d, err := RegisterAndPromote(ctx, reg, "cancer", art, map[string]float64{"accuracy": st.acc}, map[string]string{"step": st.name}, "production", "accuracy", st.direction)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if d.Version.Version != i+1 || d.Promoted != st.promoted {
			t.Errorf("%s: version %d promoted %v (%s), want %d %v", st.name, d.Version.Version, d.Promoted, d.Reason, i+1, st.promoted)
		}
		v, err := reg.Alias(ctx, "cancer", "production")
		if err != nil {
			t.Fatal(err)
		}
		if v.Version != st.alias {
			t.Errorf("%s: production is version %d, want %d", st.name, v.Version, st.alias)
		}
		if b, err := os.ReadFile(v.URI); err != nil || string(b) != `{"format":"kiln.model/v1"}` {
			t.Errorf("%s: artifact %q, %v", st.name, b, err)
		}
	}
	for _, bad := range []struct{ name, metric, direction string }{
		{"Bad_Name", "accuracy", "maximize"}, {"cancer", "f1", "maximize"}, {"cancer", "accuracy", "up"},
	} {
		if _, err := RegisterAndPromote(ctx, reg, bad.name, art, map[string]float64{"accuracy": 1}, nil, "production", bad.metric, bad.direction); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := reg.Alias(ctx, "cancer", "staging"); err == nil {
		t.Error("unset alias found")
	}
}
