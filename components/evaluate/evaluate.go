// Package evaluate holds the ready-made evaluation component. Evaluate scores a kiln.model/v1
// model on a labelled dataset: classifier metrics (accuracy, precision, recall, F1, ROC AUC,
// log loss, confusion matrix) or regressor metrics (RMSE, MSE, MAE, R²). The scalar metrics
// are the typed Metrics output; the full report, with the confusion matrix and per-class
// figures, is a JSON artifact. With a Kiln server configured (KILN_API_URL, KILN_RUN_ID) the
// scalars are also logged to the run's tracking.
package evaluate

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/kilnml/kiln/components/data"
	"github.com/kilnml/kiln/components/internal/track"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/dsl"
)

// In is the input of Evaluate.
type In struct {
	// Model is a kiln.model/v1 artifact.
	Model dsl.Value[dsl.Model] `description:"kiln.model/v1 JSON"`
	// Data holds labelled rows with the model's target column.
	Data dsl.Value[dsl.Dataset] `description:"labelled rows to score"`
	// Metric names the scalar returned as Score; empty means accuracy for a classifier and r2
	// for a regressor.
	Metric dsl.Value[string] `default:"" description:"metric returned as score (empty: accuracy or r2)"`
	// Prefix is prepended, with a dot, to the metric names logged to tracking ("test" gives
	// "test.accuracy"); empty logs the bare names.
	Prefix dsl.Value[string] `default:"" description:"prefix of the metric names logged to tracking"`
}

// Out is the output of Evaluate.
type Out struct {
	// Metrics holds every scalar metric.
	Metrics dsl.Value[dsl.Metrics] `description:"scalar metrics as a JSON object"`
	// Report is the full model.Evaluation as JSON.
	Report dsl.Value[dsl.Artifact] `description:"full evaluation report (JSON)"`
	// Score is the value of the chosen metric.
	Score dsl.Value[float64] `description:"value of the chosen metric"`
	// Values is every scalar metric as a parameter, for conditions and downstream steps.
	Values dsl.Value[map[string]float64] `description:"every scalar metric"`
}

// Evaluate scores a model on a labelled dataset.
var Evaluate = dsl.Func("evaluate-model", evaluate)

func evaluate(ctx context.Context, in In) (Out, error) {
	m, err := model.LoadFile(ctx, in.Model.Get().Path)
	if err != nil {
		return Out{}, fmt.Errorf("evaluate: %w", err)
	}
	t, err := data.Read(ctx, in.Data.Get())
	if err != nil {
		return Out{}, err
	}
	ev, err := model.Evaluate(m, t)
	if err != nil {
		return Out{}, err
	}
	scalars := ev.Scalars()
	score, err := Score(m, scalars, in.Metric.Get())
	if err != nil {
		return Out{}, err
	}
	track.Metrics(ctx, track.Logger(), in.Prefix.Get(), scalars, nil)
	path, err := data.WriteJSON("kiln-eval-", "evaluation.json", ev)
	if err != nil {
		return Out{}, fmt.Errorf("evaluate: %w", err)
	}
	return Out{
		Metrics: dsl.Of(dsl.Metrics{Values: scalars}),
		Report:  dsl.Of(dsl.Artifact{Path: path}),
		Score:   dsl.Of(score),
		Values:  dsl.Of(scalars),
	}, nil
}

// Score picks metric out of scalars; an empty metric means accuracy for a classifier and r2
// for a regressor.
func Score(m *model.Model, scalars map[string]float64, metric string) (float64, error) {
	if metric == "" {
		metric = "r2"
		if m.IsClassifier() {
			metric = "accuracy"
		}
	}
	v, ok := scalars[metric]
	if !ok {
		return 0, fmt.Errorf("evaluate: no metric %q (have %v)", metric, slices.Sorted(maps.Keys(scalars)))
	}
	return v, nil
}
