package train

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/ml/model/gbt"
	"github.com/kilnml/kiln/components/ml/model/linear"
	mlpre "github.com/kilnml/kiln/components/ml/preprocess"
	"github.com/kilnml/kiln/dsl"
)

func TestApply(t *testing.T) {
	base := model.TrainConfig{Kind: model.LogisticRegression, Target: "y"}
	tests := []struct {
		name    string
		params  map[string]string
		want    model.TrainConfig
		wantErr string
	}{
		{"none", nil, base, ""},
		{"linear", map[string]string{"l2": "0.5", "max_iterations": "100", "scaling": "standard"},
			model.TrainConfig{Kind: model.LogisticRegression, Target: "y", Linear: linear.Config{L2: 0.5, MaxIterations: 100},
				Preprocess: mlpre.Config{Scaling: mlpre.ScaleStandard}}, ""},
		{"gbt", map[string]string{"kind": "gbt", "n_estimators": "40", "learning_rate": "0.2", "max_depth": "3", "subsample": "0.8"},
			model.TrainConfig{Kind: model.GBT, Target: "y", GBT: gbt.Config{NEstimators: 40, LearningRate: 0.2, MaxDepth: 3, Subsample: 0.8}}, ""},
		{"unknown", map[string]string{"dropout": "0.1"}, model.TrainConfig{}, `train: unknown parameter "dropout"`},
		{"not an integer", map[string]string{"max_depth": "2.5"}, model.TrainConfig{}, `train: parameter "max_depth": 2.5 is not an integer`},
		{"not a number", map[string]string{"l2": "big"}, model.TrainConfig{}, `train: parameter "l2"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Apply(base, tc.params)
			if tc.wantErr != "" {
				if err == nil || len(err.Error()) < len(tc.wantErr) || err.Error()[:len(tc.wantErr)] != tc.wantErr {
					t.Fatalf("err = %v, want prefix %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrain(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.csv")
	// y is "hi" exactly when x > 5.
	if err := os.WriteFile(p, []byte("x,y\n1,lo\n2,lo\n3,lo\n4,lo\n6,hi\n7,hi\n8,hi\n9,hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"logistic_regression", "gbt"} {
		t.Run(kind, func(t *testing.T) {
			out, err := trainModel(context.Background(), In{
				Data:   dsl.Of(dsl.Dataset{Path: p}),
				Config: dsl.Of(model.TrainConfig{Kind: model.LogisticRegression, Target: "y", Linear: linear.Config{L2: 0.01}}),
				Params: dsl.Of(map[string]string{"kind": kind, "min_samples_leaf": "1", "n_estimators": "20"}),
			})
			if err != nil {
				t.Fatal(err)
			}
			if out.Kind.Get() != kind {
				t.Errorf("kind %q, want %q", out.Kind.Get(), kind)
			}
			m, err := model.LoadFile(context.Background(), out.Model.Get().Path)
			if err != nil {
				t.Fatal(err)
			}
			pred, err := m.Predict([][]float64{{0}, {10}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"lo", "hi"}, pred.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}
