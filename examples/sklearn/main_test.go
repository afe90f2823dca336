package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/kilntest"
)

func TestMain(m *testing.M) { kilntest.Main(m, pipeline) }

// python finds an interpreter that can import scikit-learn and pandas: python3 on PATH, else
// Debian's /usr/bin/python3 (a pyenv or venv python3 may lack them).
func python(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import sklearn, pandas").Run() == nil {
			return path
		}
	}
	msg := "no python3 with scikit-learn and pandas: apt-get install python3-sklearn python3-pandas"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func TestSklearn(t *testing.T) {
	py := python(t)
	scripts, _ := filepath.Abs("scripts")
	data, _ := filepath.Abs("../../datasets/breast-cancer/data.csv")
	run := kilntest.Run(t, pipeline, map[string]string{"python": py, "scripts": scripts, "data": data, "cs": "[0.01,1,100]"})
	if run.Phase != wfv1.WorkflowSucceeded {
		for name, n := range run.Nodes {
			if n.Phase != wfv1.NodeSucceeded {
				t.Logf("%s: %s %s", name, n.Phase, n.Message)
			}
		}
		t.Fatalf("run %s: %s", run.Phase, run.Message)
	}
	c, _ := run.Output("best", "c")
	acc, ok := run.Output("evaluate", "accuracy")
	a, err := strconv.ParseFloat(acc, 64)
	if !ok || err != nil {
		t.Fatalf("evaluate.accuracy = %q, %v", acc, err)
	}
	t.Logf("best C %s, test accuracy %.4f", c, a)
	// Scaled logistic regression scores about 0.97 on this data set's held-out 20%.
	if a < 0.93 {
		t.Errorf("test accuracy %.4f, want >= 0.93", a)
	}
}
