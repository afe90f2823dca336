package model

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/model/gbt"
	"github.com/kilnml/kiln/components/ml/model/linear"
	"github.com/kilnml/kiln/components/ml/preprocess"
)

// TrainConfig says what to train. Kind and Target are required.
type TrainConfig struct {
	// Kind is the model family.
	Kind Kind `json:"kind"`
	// Target is the label column: classes for the classifier kinds (any column kind, compared
	// as text) and a numeric column for linear_regression and a squared_error gbt.
	Target string `json:"target"`
	// Features lists the input columns; empty means every column except Target.
	Features []string `json:"features,omitempty"`
	// Preprocess configures the transform fitted on the training table and embedded in the
	// model. Its Columns and Exclude are ignored in favour of Features.
	Preprocess preprocess.Config `json:"preprocess"`
	// Linear configures the linear kinds.
	Linear linear.Config `json:"linear"`
	// GBT configures kind gbt. An empty Objective means binary_logistic when Target is a
	// string or bool column and squared_error otherwise.
	GBT gbt.Config `json:"gbt"`
}

// Train fits a model on t (normally the training split) and returns the complete artifact,
// including the fitted preprocessing transform. The artifact's metadata records the
// configuration ("train_config", as JSON), the number of training rows ("train_rows") and, for
// gbt, the boosting rounds fitted ("iterations").
func Train(t *dataset.Table, cfg TrainConfig) (*Model, error) {
	return TrainEach(t, cfg, nil)
}

// TrainEach is Train calling each during training with the model fitted so far and the
// number of training iterations done. Kind gbt calls it after every boosting round; the
// linear kinds, fitted in one optimiser run, do not call it. When each returns false,
// training stops and the model of the iterations done is returned (its metadata records
// "iterations"). each must not keep m past the call.
func TrainEach(t *dataset.Table, cfg TrainConfig, each func(iteration int, m *Model) bool) (*Model, error) {
	target, err := t.Column(cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("train: target: %w", err)
	}
	features := cfg.Features
	if len(features) == 0 {
		for _, n := range t.Names() {
			if n != cfg.Target {
				features = append(features, n)
			}
		}
	}
	if slices.Contains(features, cfg.Target) {
		return nil, fmt.Errorf("train: target %q is also a feature", cfg.Target)
	}
	pcfg := cfg.Preprocess
	pcfg.Columns, pcfg.Exclude = features, nil
	tr, err := preprocess.Fit(t, pcfg)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	x, err := tr.Apply(t)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	m := &Model{Format: FormatV1, Kind: cfg.Kind, Target: cfg.Target, Features: features, Preprocess: tr,
		Metadata: map[string]string{"train_config": string(cfgJSON), "train_rows": strconv.Itoa(t.NumRows())}}
	switch cfg.Kind {
	case LogisticRegression, Softmax:
		y, classes, err := encodeClasses(target)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if cfg.Kind == LogisticRegression && len(classes) != 2 {
			return nil, fmt.Errorf("train: logistic_regression needs 2 classes in %q, found %d (use softmax)", cfg.Target, len(classes))
		}
		m.Classes = classes
		if m.Linear, err = linear.FitLogistic(x, y, len(classes), cfg.Linear); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if cfg.Kind == Softmax && len(classes) == 2 {
			// Keep the documented softmax shape (one row per class): class 0's row is zero.
			d := len(m.Linear.Coef[0])
			m.Linear = &linear.Params{
				Coef:      [][]float64{make([]float64, d), m.Linear.Coef[0]},
				Intercept: []float64{0, m.Linear.Intercept[0]},
			}
		}
	case LinearRegression:
		y, err := numericTarget(target)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if m.Linear, err = linear.FitLeastSquares(x, y, cfg.Linear); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	case GBT:
		gcfg := cfg.GBT
		if gcfg.Objective == "" {
			gcfg.Objective = gbt.SquaredError
			if target.Kind == dataset.KindString || target.Kind == dataset.KindBool {
				gcfg.Objective = gbt.BinaryLogistic
			}
		}
		var y []float64
		if gcfg.Objective == gbt.BinaryLogistic {
			yc, classes, err := encodeClasses(target)
			if err != nil {
				return nil, fmt.Errorf("train: %w", err)
			}
			if len(classes) != 2 {
				return nil, fmt.Errorf("train: a binary_logistic gbt needs 2 classes in %q, found %d", cfg.Target, len(classes))
			}
			m.Classes = classes
			y = make([]float64, len(yc))
			for i, c := range yc {
				y[i] = float64(c)
			}
		} else if y, err = numericTarget(target); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		var round func(e *gbt.Ensemble) bool
		if each != nil {
			round = func(e *gbt.Ensemble) bool {
				m.GBT = e
				return each(len(e.Trees), m)
			}
		}
		if m.GBT, err = gbt.FitEach(x, y, gcfg, round); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		m.Metadata["iterations"] = strconv.Itoa(len(m.GBT.Trees))
	default:
		return nil, fmt.Errorf("train: unknown kind %q (want one of %v)", cfg.Kind, kinds)
	}
	return m, nil
}

// encodeClasses maps a label column to class numbers over its sorted distinct values.
func encodeClasses(c *dataset.Column) ([]int, []string, error) {
	labels := make([]string, c.Len())
	for i := range labels {
		if c.IsMissing(i) {
			return nil, nil, fmt.Errorf("target %q: row %d is missing", c.Name, i)
		}
		labels[i] = c.StringAt(i)
	}
	classes := slices.Compact(slices.Sorted(slices.Values(labels)))
	y := make([]int, len(labels))
	for i, l := range labels {
		y[i], _ = slices.BinarySearch(classes, l)
	}
	return y, classes, nil
}

func numericTarget(c *dataset.Column) ([]float64, error) {
	if !c.Kind.Numeric() {
		return nil, fmt.Errorf("target %q is %s, want a numeric column", c.Name, c.Kind)
	}
	for i := range c.Num {
		if c.IsMissing(i) {
			return nil, fmt.Errorf("target %q: row %d is missing", c.Name, i)
		}
	}
	return c.Num, nil
}
