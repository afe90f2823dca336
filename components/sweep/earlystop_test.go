package sweep_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/components/data"
	"github.com/kilnml/kiln/components/internal/testserver"
	"github.com/kilnml/kiln/components/internal/track"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/ml/model/gbt"
	mlsweep "github.com/kilnml/kiln/components/ml/sweep"
	"github.com/kilnml/kiln/components/preprocess"
	"github.com/kilnml/kiln/components/sweep"
	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/kilntest"
)

func TestMain(m *testing.M) { kilntest.Main(m, sweepPipeline) }

type sweepParams struct {
	Data       dsl.Value[string]
	Experiment dsl.Value[mlsweep.Experiment]
}

// sweepPipeline sweeps the boosting learning rate of a 60-round gbt on the breast-cancer data
// in two rounds, so that the three good rates (listed first) complete before the bad ones run.
var sweepPipeline = dsl.NewPipeline("sweep-early-stopping", func(s dsl.Scope, in sweepParams) {
	imp := data.Import.Task(s, data.ImportIn{Source: in.Data}, dsl.Name("import"))
	sp := preprocess.Split.Task(s, preprocess.SplitIn{Data: imp.Out.Data, Stratify: dsl.Of("diagnosis"), Seed: dsl.Of(7)}, dsl.Name("split"))
	sweep.Tasks(s, sweep.Inputs{
		Experiment: in.Experiment, Train: sp.Out.Train, Validation: sp.Out.Validation, Seed: dsl.Of(1),
		Config: dsl.Of(model.TrainConfig{Kind: model.GBT, Target: "diagnosis", GBT: gbt.Config{NEstimators: 60}}),
	}, sweep.Options{FirstRound: 3})
})

// TestEarlyStoppingOnServer runs the same sweep twice through a real embedded server, with and
// without the median rule. Three good learning rates finish first; the three tiny ones barely
// move the log loss, so with early stopping they end after their first report (10 rounds)
// as EarlyStopped child runs, and the sweep trains fewer rounds in total.
func TestEarlyStoppingOnServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two pipelines on an embedded server")
	}
	dataPath, err := filepath.Abs("../../datasets/breast-cancer/data.csv")
	if err != nil {
		t.Fatal(err)
	}
	srv := testserver.Start(t)
	exp := mlsweep.Experiment{
		Space: mlsweep.Space{{Name: "learning_rate", Type: mlsweep.Discrete,
			Values: []float64{0.3, 0.2, 0.15, 0.0005, 0.0002, 0.0001}}},
		Objective: mlsweep.Objective{Metric: "log_loss", Direction: mlsweep.Minimize},
		Algorithm: mlsweep.Algorithm{Name: mlsweep.Grid}, MaxTrials: 6,
	}
	type outcome struct {
		iterations int
		status     map[string]string // trial name → status tag
		best       *api.Run
	}
	run := func(e mlsweep.Experiment) outcome {
		t.Helper()
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		r := srv.Run(t, sweepPipeline, map[string]string{"data": dataPath, "experiment": string(b)}, 5*time.Minute)
		if r.Phase != "Succeeded" {
			t.Fatalf("run %s: %s %s", r.ID, r.Phase, r.Message)
		}
		children, err := srv.Client.ListRuns(t.Context(), client.ListRunsOptions{
			Filter: fmt.Sprintf("tags[%q] == %q", track.ParentRunTag, r.ID), IncludeData: true})
		if err != nil {
			t.Fatal(err)
		}
		o := outcome{status: map[string]string{}, best: r}
		for _, c := range children.Runs {
			tags := map[string]string{}
			for _, tg := range c.Data.Tags {
				tags[tg.Key] = tg.Value
			}
			o.status[c.Name] = tags[sweep.TagStatus]
			for _, m := range c.Data.Metrics {
				if m.Key == sweep.MetricIterations {
					o.iterations += int(m.Value)
				}
			}
			if c.Phase != "Succeeded" {
				t.Errorf("child run %s is %s, want Succeeded (an early stop is not a failure)", c.Name, c.Phase)
			}
		}
		if len(o.status) != 6 {
			t.Fatalf("%d child runs, want 6: %v", len(o.status), o.status)
		}
		return o
	}

	without := run(exp)
	with := exp
	with.EarlyStopping = &mlsweep.MedianStop{MinTrials: 3, ReportEvery: 10}
	stopped := run(with)
	t.Logf("without early stopping: %d rounds, trials %v", without.iterations, without.status)
	t.Logf("with early stopping: %d rounds, trials %v", stopped.iterations, stopped.status)

	if without.iterations != 6*60 {
		t.Errorf("without early stopping %d rounds, want 360", without.iterations)
	}
	n := 0
	for name, st := range stopped.status {
		if st == string(mlsweep.EarlyStopped) {
			n++
			if id, _ := strconv.Atoi(name[len(name)-4:]); id < 3 {
				t.Errorf("%s (a good learning rate) was stopped", name)
			}
		}
	}
	if n < 1 {
		t.Errorf("no trial early stopped: %v", stopped.status)
	}
	if stopped.iterations >= without.iterations {
		t.Errorf("early stopping trained %d rounds, without it %d", stopped.iterations, without.iterations)
	}
	for name, st := range without.status {
		if st != string(mlsweep.Succeeded) {
			t.Errorf("without early stopping %s is %s", name, st)
		}
	}
	// Best neither fails on nor picks the stopped trials.
	data, err := srv.Client.RunData(t.Context(), stopped.best.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range data.Metrics {
		got[m.Key] = m.Value
	}
	if got["sweep.best.trials_early_stopped"] != float64(n) || got["sweep.best.trials_failed"] != 0 || got["sweep.best.trials_succeeded"] != float64(6-n) {
		t.Errorf("sweep.best metrics %v, want %d early stopped, 0 failed", got, n)
	}
}
