package model

import (
	"fmt"
	"math"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/metrics"
	"github.com/kilnml/kiln/components/ml/model/linear"
)

// Predictions holds a model's output for a batch of rows. A classifier fills Classes, Labels
// and Probabilities; a regressor fills Values.
type Predictions struct {
	// Classes are the predicted class numbers (index into Model.Classes).
	Classes []int `json:"classes,omitempty"`
	// Labels are the predicted class names.
	Labels []string `json:"labels,omitempty"`
	// Probabilities has one row per input with one probability per class.
	Probabilities [][]float64 `json:"probabilities,omitempty"`
	// Values are a regressor's predictions.
	Values []float64 `json:"values,omitempty"`
}

// Predict predicts rows of raw feature values given in m.Features order (NaN for missing).
// The embedded transform, if any, is applied first; it must have no categorical columns — use
// PredictRecords for those.
func (m *Model) Predict(rows [][]float64) (*Predictions, error) {
	x := rows
	if m.Preprocess != nil {
		x = make([][]float64, len(rows))
		for i, r := range rows {
			var err error
			if x[i], err = m.Preprocess.ApplyRow(r); err != nil {
				return nil, fmt.Errorf("predict: row %d: %w", i, err)
			}
		}
	} else {
		for i, r := range rows {
			if len(r) != len(m.Features) {
				return nil, fmt.Errorf("predict: row %d has %d values, want %d (%v)", i, len(r), len(m.Features), m.Features)
			}
		}
	}
	return m.predictMatrix(x)
}

// PredictRecords predicts records of named raw feature values, as a serving request carries
// them (see preprocess.Transform.ApplyRecord for the accepted value types).
func (m *Model) PredictRecords(recs []map[string]any) (*Predictions, error) {
	x := make([][]float64, len(recs))
	for i, rec := range recs {
		if m.Preprocess != nil {
			var err error
			if x[i], err = m.Preprocess.ApplyRecord(rec); err != nil {
				return nil, fmt.Errorf("predict: record %d: %w", i, err)
			}
			continue
		}
		x[i] = make([]float64, len(m.Features))
		for j, f := range m.Features {
			v, ok := rec[f].(float64)
			if !ok {
				return nil, fmt.Errorf("predict: record %d: feature %q: want a number, got %T", i, f, rec[f])
			}
			x[i][j] = v
		}
	}
	return m.predictMatrix(x)
}

// PredictTable predicts every row of t, which must hold the m.Features columns.
func (m *Model) PredictTable(t *dataset.Table) (*Predictions, error) {
	var x [][]float64
	var err error
	if m.Preprocess != nil {
		x, err = m.Preprocess.Apply(t)
	} else {
		x, err = t.Matrix(m.Features)
	}
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	return m.predictMatrix(x)
}

// predictMatrix runs the model proper on already-transformed inputs.
func (m *Model) predictMatrix(x [][]float64) (*Predictions, error) {
	d := m.numInputs()
	for i, r := range x {
		if len(r) != d {
			return nil, fmt.Errorf("predict: row %d has %d model inputs, want %d", i, len(r), d)
		}
		if m.Kind != GBT {
			for j, v := range r {
				if math.IsNaN(v) {
					return nil, fmt.Errorf("predict: row %d: input %d is missing and kind %s needs every value (impute in preprocess)", i, j, m.Kind)
				}
			}
		}
	}
	p := &Predictions{}
	for _, r := range x {
		var raw []float64
		switch m.Kind {
		case GBT:
			raw = []float64{m.GBT.Raw(r)}
		default:
			raw = m.Linear.Decision(r)
		}
		if !m.IsClassifier() {
			p.Values = append(p.Values, raw[0])
			continue
		}
		prob := linear.Probabilities(raw)
		best := 0
		for k, v := range prob {
			if v > prob[best] {
				best = k
			}
		}
		p.Classes = append(p.Classes, best)
		p.Labels = append(p.Labels, m.Classes[best])
		p.Probabilities = append(p.Probabilities, prob)
	}
	return p, nil
}

// Evaluation is the metrics artifact of an evaluate step: exactly one of Classification and
// Regression is set.
type Evaluation struct {
	// Classification is set for classifiers.
	Classification *metrics.Classification `json:"classification,omitempty"`
	// Regression is set for regressors.
	Regression *metrics.Regression `json:"regression,omitempty"`
}

// Scalars flattens the evaluation into metric names and values.
func (e *Evaluation) Scalars() map[string]float64 {
	if e.Classification != nil {
		return e.Classification.Scalars()
	}
	return e.Regression.Scalars()
}

// Evaluate predicts t and scores the predictions against its m.Target column. A label not
// among m.Classes is an error.
func Evaluate(m *Model, t *dataset.Table) (*Evaluation, error) {
	pred, err := m.PredictTable(t)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if !m.IsClassifier() {
		y, err := t.Floats(m.Target)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		r, err := metrics.Regress(y, pred.Values)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		return &Evaluation{Regression: &r}, nil
	}
	labels, err := t.Strings(m.Target)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	index := map[string]int{}
	for k, c := range m.Classes {
		index[c] = k
	}
	y := make([]int, len(labels))
	for i, l := range labels {
		k, ok := index[l]
		if !ok {
			return nil, fmt.Errorf("evaluate: row %d: label %q is not one of the model's classes %v", i, l, m.Classes)
		}
		y[i] = k
	}
	r, err := metrics.Classify(y, pred.Classes, pred.Probabilities, m.Classes)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	return &Evaluation{Classification: &r}, nil
}
