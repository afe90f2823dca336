package model_test

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/ml/model/gbt"
	"github.com/kilnml/kiln/components/ml/model/linear"
	"github.com/kilnml/kiln/components/ml/preprocess"
)

// breastCancerPath locates datasets/breast-cancer/data.csv from this file.
func breastCancerPath(tb testing.TB) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "datasets", "breast-cancer", "data.csv")
}

func breastCancerSplits(tb testing.TB) (train, val, test *dataset.Table) {
	tb.Helper()
	t, err := dataset.ReadCSVFile(context.Background(), breastCancerPath(tb), dataset.CSVOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	train, val, test, err = preprocess.Split(t, preprocess.SplitConfig{Train: 0.7, Validation: 0.15, Test: 0.15, Seed: 42, Stratify: "diagnosis"})
	if err != nil {
		tb.Fatal(err)
	}
	return train, val, test
}

func TestBreastCancer(t *testing.T) {
	train, val, test := breastCancerSplits(t)
	if got := train.NumRows() + val.NumRows() + test.NumRows(); got != 569 {
		t.Fatalf("split sizes sum to %d, want 569", got)
	}
	std := preprocess.Config{Scaling: preprocess.ScaleStandard}
	tests := []struct {
		name string
		cfg  model.TrainConfig
		// minAccuracy and minAUC are thresholds on the held-out test split that the data
		// supports with margin (measured values are in the test log).
		minAccuracy, minAUC float64
	}{
		{"logistic", model.TrainConfig{Kind: model.LogisticRegression, Target: "diagnosis", Preprocess: std, Linear: linear.Config{L2: 1e-2}}, 0.95, 0.98},
		{"softmax", model.TrainConfig{Kind: model.Softmax, Target: "diagnosis", Preprocess: std, Linear: linear.Config{L2: 1e-2}}, 0.95, 0.98},
		{"gbt", model.TrainConfig{Kind: model.GBT, Target: "diagnosis", GBT: gbt.Config{NEstimators: 100, MaxDepth: 3, LearningRate: 0.1, Subsample: 0.8, Seed: 1}}, 0.92, 0.97},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := model.Train(train, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := m.Save(&buf); err != nil {
				t.Fatal(err)
			}
			loaded, err := model.Load(&buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []struct {
				name  string
				split *dataset.Table
			}{{"validation", val}, {"test", test}} {
				name, split := s.name, s.split
				ev, err := model.Evaluate(loaded, split)
				if err != nil {
					t.Fatal(err)
				}
				c := ev.Classification
				t.Logf("%s %s: accuracy=%.4f f1=%.4f auc=%.4f logloss=%.4f", tt.name, name, c.Accuracy, c.F1, *c.ROCAUC, *c.LogLoss)
				if name != "test" {
					continue
				}
				if c.Accuracy < tt.minAccuracy {
					t.Errorf("test accuracy %.4f < %.2f", c.Accuracy, tt.minAccuracy)
				}
				if *c.ROCAUC < tt.minAUC {
					t.Errorf("test ROC AUC %.4f < %.2f", *c.ROCAUC, tt.minAUC)
				}
			}
		})
	}
}

// TestBreastCancerLogisticOverSeeds guards against a lucky split: over 20 seeds the measured
// test accuracy of standardised logistic regression (L2 0.01) averaged 0.976 with a minimum
// of 0.929, so the mean over 10 seeds must stay at or above 0.95.
func TestBreastCancerLogisticOverSeeds(t *testing.T) {
	tab, err := dataset.ReadCSVFile(context.Background(), breastCancerPath(t), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const seeds = 10
	var mean float64
	for seed := range uint64(seeds) {
		train, _, test, err := preprocess.Split(tab, preprocess.SplitConfig{Train: 0.7, Validation: 0.15, Test: 0.15, Seed: seed, Stratify: "diagnosis"})
		if err != nil {
			t.Fatal(err)
		}
		m, err := model.Train(train, model.TrainConfig{Kind: model.LogisticRegression, Target: "diagnosis",
			Preprocess: preprocess.Config{Scaling: preprocess.ScaleStandard}, Linear: linear.Config{L2: 1e-2}})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := model.Evaluate(m, test)
		if err != nil {
			t.Fatal(err)
		}
		mean += ev.Classification.Accuracy / seeds
	}
	t.Logf("mean test accuracy over %d seeds: %.4f", seeds, mean)
	if mean < 0.95 {
		t.Errorf("mean test accuracy %.4f < 0.95", mean)
	}
}

func BenchmarkTrainBreastCancer(b *testing.B) {
	train, _, _ := breastCancerSplits(b)
	std := preprocess.Config{Scaling: preprocess.ScaleStandard}
	cfgs := []struct {
		name string
		cfg  model.TrainConfig
	}{
		{"logistic", model.TrainConfig{Kind: model.LogisticRegression, Target: "diagnosis", Preprocess: std, Linear: linear.Config{L2: 1e-2}}},
		{"softmax", model.TrainConfig{Kind: model.Softmax, Target: "diagnosis", Preprocess: std, Linear: linear.Config{L2: 1e-2}}},
		{"gbt100", model.TrainConfig{Kind: model.GBT, Target: "diagnosis", GBT: gbt.Config{NEstimators: 100, MaxDepth: 3, Subsample: 0.8, Seed: 1}}},
	}
	for _, c := range cfgs {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := model.Train(train, c.cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPredictBreastCancer(b *testing.B) {
	train, _, test := breastCancerSplits(b)
	m, err := model.Train(train, model.TrainConfig{Kind: model.GBT, Target: "diagnosis", GBT: gbt.Config{NEstimators: 100, Seed: 1}})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := m.PredictTable(test); err != nil {
			b.Fatal(err)
		}
	}
}
