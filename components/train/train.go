// Package train holds the ready-made training component. Train fits one of the models of
// components/ml/model — logistic regression, softmax, linear (ridge) regression or
// gradient-boosted trees — on a dataset and writes a kiln.model/v1 artifact: a JSON document
// holding the model kind, its feature list, class names, the fitted preprocessing transform
// and the weights or trees (the format is documented in components/ml/model). The artifact is
// self-contained: serving needs nothing else to answer requests on raw feature values.
//
// Hyperparameters come as a model.TrainConfig, optionally overridden by a flat map of named
// parameters (Params) such as a sweep assignment; see Apply for the names.
package train

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/kilnml/kiln/components/data"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/ml/model/gbt"
	mlpre "github.com/kilnml/kiln/components/ml/preprocess"
	"github.com/kilnml/kiln/dsl"
)

// In is the input of Train.
type In struct {
	// Data is the training data (CSV or Parquet).
	Data dsl.Value[dsl.Dataset] `description:"training rows"`
	// Config is the training configuration; kind and target are required.
	Config dsl.Value[model.TrainConfig] `description:"model.TrainConfig as JSON: kind, target, preprocess, linear, gbt"`
	// Params override Config by name (see Apply); a sweep passes its assignment here.
	Params dsl.Value[map[string]string] `default:"{}" description:"hyperparameters overriding config, by name"`
}

// Out is the output of Train.
type Out struct {
	// Model is the kiln.model/v1 artifact.
	Model dsl.Value[dsl.Model] `description:"kiln.model/v1 JSON"`
	// Kind is the model family trained.
	Kind dsl.Value[string]
}

// Train fits a model and writes it as a kiln.model/v1 artifact.
var Train = dsl.Func("train-model", trainModel)

func trainModel(ctx context.Context, in In) (Out, error) {
	cfg, err := Apply(in.Config.Get(), in.Params.Get())
	if err != nil {
		return Out{}, err
	}
	t, err := data.Read(ctx, in.Data.Get())
	if err != nil {
		return Out{}, err
	}
	m, err := model.Train(t, cfg)
	if err != nil {
		return Out{}, err
	}
	path, err := Save(ctx, m)
	if err != nil {
		return Out{}, err
	}
	return Out{Model: dsl.Of(dsl.Model{Path: path, Metadata: map[string]any{"kind": string(m.Kind)}}), Kind: dsl.Of(string(m.Kind))}, nil
}

// Save writes m to model.json in a new temporary directory and returns the file's path.
func Save(ctx context.Context, m *model.Model) (string, error) {
	dir, err := os.MkdirTemp("", "kiln-model-")
	if err != nil {
		return "", fmt.Errorf("save model: %w", err)
	}
	path := filepath.Join(dir, "model.json")
	if err := m.SaveFile(ctx, path); err != nil {
		return "", fmt.Errorf("save model: %w", err)
	}
	return path, nil
}

// setter applies one named parameter to a configuration.
type setter func(c *model.TrainConfig, v string) error

func floatSetter(dst func(*model.TrainConfig) *float64) setter {
	return func(c *model.TrainConfig, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return err
		}
		*dst(c) = f
		return nil
	}
}

func intSetter(dst func(*model.TrainConfig) *int) setter {
	return func(c *model.TrainConfig, v string) error {
		// Sweeps print integers as floats without a fraction ("3"); accept "3.0" too.
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return err
		}
		if f != float64(int(f)) {
			return fmt.Errorf("%s is not an integer", v)
		}
		*dst(c) = int(f)
		return nil
	}
}

var setters = map[string]setter{
	"kind":    func(c *model.TrainConfig, v string) error { c.Kind = model.Kind(v); return nil },
	"scaling": func(c *model.TrainConfig, v string) error { c.Preprocess.Scaling = mlpre.Scaling(v); return nil },
	"impute":  func(c *model.TrainConfig, v string) error { c.Preprocess.Impute = mlpre.NumericImpute(v); return nil },
	"l2":      floatSetter(func(c *model.TrainConfig) *float64 { return &c.Linear.L2 }),
	"max_iterations": intSetter(func(c *model.TrainConfig) *int {
		return &c.Linear.MaxIterations
	}),
	"n_estimators":     intSetter(func(c *model.TrainConfig) *int { return &c.GBT.NEstimators }),
	"learning_rate":    floatSetter(func(c *model.TrainConfig) *float64 { return &c.GBT.LearningRate }),
	"max_depth":        intSetter(func(c *model.TrainConfig) *int { return &c.GBT.MaxDepth }),
	"min_samples_leaf": intSetter(func(c *model.TrainConfig) *int { return &c.GBT.MinSamplesLeaf }),
	"subsample":        floatSetter(func(c *model.TrainConfig) *float64 { return &c.GBT.Subsample }),
	"lambda":           floatSetter(func(c *model.TrainConfig) *float64 { return &c.GBT.Lambda }),
	"objective":        func(c *model.TrainConfig, v string) error { c.GBT.Objective = gbt.Objective(v); return nil },
}

// ParamNames lists the parameter names Apply understands, sorted.
func ParamNames() []string { return slices.Sorted(maps.Keys(setters)) }

// Apply returns base with the named parameters applied. Names: kind, scaling, impute (the
// preprocessing), l2, max_iterations (linear kinds), n_estimators, learning_rate, max_depth,
// min_samples_leaf, subsample, lambda, objective (gbt). An unknown name or a malformed value
// is an error naming the parameter.
func Apply(base model.TrainConfig, params map[string]string) (model.TrainConfig, error) {
	cfg := base
	cfg.Features = slices.Clone(base.Features)
	for _, name := range slices.Sorted(maps.Keys(params)) {
		set, ok := setters[name]
		if !ok {
			return model.TrainConfig{}, fmt.Errorf("train: unknown parameter %q (known: %v)", name, ParamNames())
		}
		if err := set(&cfg, params[name]); err != nil {
			return model.TrainConfig{}, fmt.Errorf("train: parameter %q: %w", name, err)
		}
	}
	return cfg, nil
}
