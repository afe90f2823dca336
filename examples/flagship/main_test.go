package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/components/ml/dataset"
	mlpre "github.com/kilnml/kiln/components/ml/preprocess"
	"github.com/kilnml/kiln/components/register"
	"github.com/kilnml/kiln/kilntest"
	"github.com/kilnml/kiln/serving"
)

func TestMain(m *testing.M) { kilntest.Main(m, Pipeline) }

// The flagship compiles to a Workflow Argo accepts, with the trials as loops: the number of
// templates does not depend on the number of trials.
func TestCompile(t *testing.T) {
	small, err := compiler.Compile(Pipeline, compiler.Options{Image: "example/flagship:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := compiler.ValidateArgo(context.Background(), small); err != nil {
		t.Fatal(err)
	}
	big, err := compiler.Compile(Pipeline, compiler.Options{Image: "example/flagship:1", Params: map[string]string{
		"experiment": `{"space":[{"name":"l2","type":"double","min":0.001,"max":1}],"objective":{"metric":"accuracy","direction":"maximize"},"algorithm":{"name":"random"},"max_trials":1000,"parallel_trials":20}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := len(small.Workflow.Spec.Templates), len(big.Workflow.Spec.Templates); a != b {
		t.Errorf("16 trials: %d templates, 1000 trials: %d", a, b)
	}
}

func TestFlagship(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole pipeline")
	}
	dataPath, err := filepath.Abs("../../datasets/breast-cancer/data.csv")
	if err != nil {
		t.Fatal(err)
	}
	reg := t.TempDir()
	run := kilntest.Run(t, Pipeline, map[string]string{"data": dataPath, "registry": reg})
	if run.Phase != wfv1.WorkflowSucceeded {
		for name, n := range run.Nodes {
			if n.Phase != wfv1.NodeSucceeded {
				t.Logf("%s: %s %s", name, n.Phase, n.Message)
			}
		}
		dumpLogs(t, run)
		t.Fatalf("run %s: %s", run.Phase, run.Message)
	}
	out := func(node, name string) string {
		t.Helper()
		v, ok := run.Output(node, name)
		if !ok {
			t.Fatalf("no output %s.%s", node, name)
		}
		return v
	}
	ok, _ := strconv.Atoi(out("best", "succeeded"))
	failed, _ := strconv.Atoi(out("best", "failed"))
	if ok+failed != 16 || ok < 14 {
		t.Errorf("%d trials succeeded and %d failed, want 16 with at most 2 failures", ok, failed)
	}
	var metrics map[string]float64
	if err := json.Unmarshal([]byte(out("evaluate", "values")), &metrics); err != nil {
		t.Fatal(err)
	}
	t.Logf("best params %s (trial %s, validation log loss %s); test metrics %v", out("best", "params"), out("best", "trial_id"), out("best", "score"), metrics)
	// Linear and boosted models reach 0.95-0.98 on this data set's held-out 20%.
	if acc := metrics["accuracy"]; acc < 0.93 {
		t.Errorf("test accuracy %.4f, want >= 0.93", acc)
	}
	if got := out("register", "promoted"); got != "true" {
		t.Errorf("promoted = %s, want true on an empty registry", got)
	}
	if got, want := out("deploy", "url"), "http://breast-cancer.default.svc.cluster.local/v2/models/breast-cancer/infer"; got != want {
		t.Errorf("deploy url %q, want %q", got, want)
	}
	ctx := context.Background()
	v, err := register.FileRegistry{Dir: reg}.Alias(ctx, "breast-cancer", "production")
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != 1 || v.Metrics["accuracy"] != metrics["accuracy"] {
		t.Errorf("production = version %d with accuracy %v, want version 1 with %v", v.Version, v.Metrics["accuracy"], metrics["accuracy"])
	}

	// Serve the production version and ask it about test rows.
	m, err := serving.LoadFile(ctx, "breast-cancer", strconv.Itoa(v.Version), v.URI)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serving.New(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()
	// The split is seeded: recompute it to get the held-out test rows the pipeline scored.
	full, err := dataset.ReadFile(ctx, dataPath, "", dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, test, err := mlpre.Split(full, mlpre.SplitConfig{Train: 0.6, Validation: 0.2, Test: 0.2, Seed: 7, Stratify: "diagnosis"})
	if err != nil {
		t.Fatal(err)
	}
	x, err := test.Matrix(m.Model.Features)
	if err != nil {
		t.Fatal(err)
	}
	var flat []any
	for _, row := range x {
		for _, v := range row {
			flat = append(flat, v)
		}
	}
	req := serving.InferRequest{ID: "t1", Inputs: []serving.Tensor{
		{Name: "input-0", Shape: []int{len(x), len(m.Model.Features)}, Datatype: "FP64", Data: flat},
	}}
	body, _ := json.Marshal(req)
	resp, err := http.Post("http://"+ln.Addr().String()+"/v2/models/breast-cancer/infer", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("infer: %s", resp.Status)
	}
	var ir serving.InferResponse
	if err := json.NewDecoder(resp.Body).Decode(&ir); err != nil {
		t.Fatal(err)
	}
	if len(ir.Outputs) == 0 || ir.Outputs[0].Name != "label" || len(ir.Outputs[0].Data) != len(x) {
		t.Fatalf("infer outputs %+v, want %d labels first", ir.Outputs, len(x))
	}
	labels, err := test.Strings("diagnosis")
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, l := range ir.Outputs[0].Data {
		if l == labels[i] {
			correct++
		}
	}
	// The served model is the registered one and applies its own preprocessing, so it scores
	// exactly as the evaluate step did.
	if got := float64(correct) / float64(len(labels)); got != metrics["accuracy"] {
		t.Errorf("served accuracy on the test split %.4f, evaluate step %.4f", got, metrics["accuracy"])
	}
}

// dumpLogs logs the output of the run's failed pods.
func dumpLogs(t *testing.T, run *kilntest.Result) {
	t.Helper()
	for name, n := range run.Nodes {
		if n.Type != wfv1.NodeTypePod || n.Phase == wfv1.NodeSucceeded {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(run.Dir, "*", n.ID+"*"))
		for _, m := range matches {
			b, _ := os.ReadFile(m)
			t.Logf("%s (%s):\n%s", name, m, b)
		}
	}
}
