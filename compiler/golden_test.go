package compiler_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kilnml/kiln/compiler"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden compiles every shape, checks the output with Argo's validation, that compiling
// twice gives the same bytes, that the YAML parses back strictly into the typed object, and
// compares it with the golden file.
func TestGolden(t *testing.T) {
	if len(shapes) < 20 {
		t.Fatalf("only %d golden shapes; the compiler promises at least 20", len(shapes))
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			opts := compiler.Options{Kind: sh.kind, Params: sh.params}
			res, err := compiler.Compile(sh.build(), opts)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if err := compiler.ValidateArgo(context.Background(), res); err != nil {
				t.Fatalf("%v", err)
			}
			got, err := res.YAML()
			if err != nil {
				t.Fatal(err)
			}
			again, err := compiler.Compile(sh.build(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := again.YAML(); !bytes.Equal(got, b) {
				t.Errorf("compiling twice gave different YAML")
			}
			checkRoundTrip(t, res, got)
			path := filepath.Join("testdata", "golden", sh.name+".yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./compiler -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
}

// checkRoundTrip parses the YAML strictly into a new typed object and compares it with the
// compiled one.
func checkRoundTrip(t *testing.T, res *compiler.Result, data []byte) {
	t.Helper()
	back := &compiler.Result{}
	var err error
	switch {
	case res.Template != nil:
		back.Template = &wfv1.WorkflowTemplate{}
		err = yaml.UnmarshalStrict(data, back.Template)
	case res.Cron != nil:
		back.Cron = &wfv1.CronWorkflow{}
		err = yaml.UnmarshalStrict(data, back.Cron)
	default:
		back.Workflow = &wfv1.Workflow{}
		err = yaml.UnmarshalStrict(data, back.Workflow)
	}
	if err != nil {
		t.Fatalf("re-parse: %v", err)
	}
	want, _ := res.JSON()
	got, _ := back.JSON()
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("round trip changed the object (-want +got):\n%s", diff)
	}
}
