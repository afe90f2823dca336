package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/sqlite"
)

// Example shows the calls the API makes for a tracked run: create it, log a batch, and find it
// with a CEL filter.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "kiln-example-")
	defer os.RemoveAll(dir)
	s, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(dir, "kiln.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	exp := &store.Experiment{Namespace: "team", Name: "mnist"}
	_ = s.CreateExperiment(ctx, exp)
	run := &store.Run{Namespace: "team", ExperimentID: exp.ID, Name: "baseline", Phase: store.PhaseRunning}
	_ = s.CreateRun(ctx, run)
	_ = s.LogBatch(ctx, run.ID,
		[]store.Param{{Key: "lr", Value: "0.01"}},
		[]store.Metric{{Key: "accuracy", Value: 0.97, Step: 10, Timestamp: time.Now()}},
		[]store.Tag{{Key: "mlflow.user", Value: "ada"}})

	f, err := filter.Parse(`metrics.accuracy > 0.9 && double(params.lr) < 0.1`)
	if err != nil {
		fmt.Println(err)
		return
	}
	runs, next, err := s.ListRuns(ctx, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "team", Filter: f}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range runs {
		fmt.Println(r.Name, r.Phase.MLflowStatus())
	}
	fmt.Printf("more pages: %v\n", next != "")
	// Output:
	// baseline RUNNING
	// more pages: false
}
