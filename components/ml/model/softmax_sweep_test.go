package model_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/ml/model/gbt"
	"github.com/kilnml/kiln/components/ml/model/linear"
	"github.com/kilnml/kiln/components/ml/preprocess"
	"github.com/kilnml/kiln/components/ml/sweep"
)

// blobs makes n points per class around the corners of an equilateral triangle with side 4
// (unit variance), plus a large noise feature. Each class boundary is 2 standard deviations
// from its centre, so the Bayes accuracy is about 1 - 2·P(Z > 2) ≈ 0.955.
func blobs(n int, seed uint64) *dataset.Table {
	rng := rand.New(rand.NewPCG(seed, 0))
	centres := [][2]float64{{0, 0}, {4, 0}, {2, 3.464}}
	names := []string{"setosa", "versicolor", "virginica"}
	var a, b, noise []float64
	var label []string
	for c, ctr := range centres {
		for range n {
			a = append(a, ctr[0]+rng.NormFloat64())
			b = append(b, ctr[1]+rng.NormFloat64())
			noise = append(noise, rng.NormFloat64()*100)
			label = append(label, names[c])
		}
	}
	t, err := dataset.NewTable(
		dataset.Column{Name: "a", Kind: dataset.KindFloat, Num: a},
		dataset.Column{Name: "b", Kind: dataset.KindFloat, Num: b},
		dataset.Column{Name: "noise", Kind: dataset.KindFloat, Num: noise},
		dataset.Column{Name: "species", Kind: dataset.KindString, Str: label},
	)
	if err != nil {
		panic(err)
	}
	return t
}

func TestSoftmaxThreeClasses(t *testing.T) {
	train, test := blobs(200, 1), blobs(200, 2)
	m, err := model.Train(train, model.TrainConfig{Kind: model.Softmax, Target: "species",
		Preprocess: preprocess.Config{Scaling: preprocess.ScaleStandard}, Linear: linear.Config{L2: 1e-3}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := model.Evaluate(m, test)
	if err != nil {
		t.Fatal(err)
	}
	c := ev.Classification
	t.Logf("accuracy %.4f macro F1 %.4f AUC %.4f log loss %.4f", c.Accuracy, c.MacroF1, *c.ROCAUC, *c.LogLoss)
	// A fit that ignored a class (at most 0.67) or leaned on the noise feature would fall
	// well below 0.92.
	if c.Accuracy < 0.92 || *c.ROCAUC < 0.97 {
		t.Errorf("accuracy %.4f, AUC %.4f; want >= 0.92 and >= 0.97", c.Accuracy, *c.ROCAUC)
	}
	if len(c.PerClass) != 3 || len(c.Confusion.Counts) != 3 {
		t.Errorf("report has %d classes", len(c.PerClass))
	}
}

// TestSweepGBTOnBreastCancer is the flagship HPO loop in miniature: every trial trains a gbt
// on the training split and reports validation log loss; the best trial must beat a
// deliberately poor configuration.
func TestSweepGBTOnBreastCancer(t *testing.T) {
	train, val, _ := breastCancerSplits(t)
	e := &sweep.Experiment{
		Space: sweep.Space{
			{Name: "learning_rate", Type: sweep.Double, Min: 0.01, Max: 0.5, Distribution: sweep.LogUniform},
			{Name: "max_depth", Type: sweep.Int, Min: 1, Max: 4},
			{Name: "subsample", Type: sweep.Discrete, Values: []float64{0.6, 0.8, 1}},
		},
		Objective:      sweep.Objective{Metric: "log_loss", Direction: sweep.Minimize},
		Algorithm:      sweep.Algorithm{Name: sweep.TPE, StartupTrials: 4},
		MaxTrials:      8,
		ParallelTrials: 2,
	}
	trial := func(_ context.Context, a sweep.Assignment, _ sweep.Reporter) (map[string]float64, error) {
		lr, err := a.Float("learning_rate")
		if err != nil {
			return nil, err
		}
		depth, err := a.Int("max_depth")
		if err != nil {
			return nil, err
		}
		sub, err := a.Float("subsample")
		if err != nil {
			return nil, err
		}
		m, err := model.Train(train, model.TrainConfig{Kind: model.GBT, Target: "diagnosis",
			GBT: gbt.Config{NEstimators: 40, LearningRate: lr, MaxDepth: depth, Subsample: sub, Seed: uint64(a.ID)}})
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		ev, err := model.Evaluate(m, val)
		if err != nil {
			return nil, err
		}
		return ev.Scalars(), nil
	}
	res, err := sweep.Run(context.Background(), e, trial, sweep.Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	poor, err := trial(context.Background(), sweep.Assignment{Values: map[string]sweep.Value{
		"learning_rate": sweep.Number(0.01), "max_depth": sweep.Number(1), "subsample": sweep.Number(1)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	best := res.Best.Metrics["log_loss"]
	t.Logf("best %v: log loss %.4f, accuracy %.4f (poor config: %.4f)", res.Best.Strings(), best, res.Best.Metrics["accuracy"], poor["log_loss"])
	if len(res.Trials) != 8 || best >= poor["log_loss"] || res.Best.Metrics["accuracy"] < 0.9 {
		t.Errorf("%d trials, best log loss %.4f (poor %.4f), accuracy %.4f", len(res.Trials), best, poor["log_loss"], res.Best.Metrics["accuracy"])
	}
}
