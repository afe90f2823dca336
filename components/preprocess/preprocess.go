// Package preprocess holds the ready-made preprocessing components: Split divides a dataset
// into seeded, optionally stratified train/validation/test parts, and FitTransform learns an
// imputation/scaling/one-hot transform on training data and saves it as a kiln.transform/v1
// artifact. The train component embeds the same transform in every model it writes, so
// serving applies exactly the preprocessing the model was trained with.
package preprocess

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kilnml/kiln/components/data"
	"github.com/kilnml/kiln/components/ml/dataset"
	mlpre "github.com/kilnml/kiln/components/ml/preprocess"
	"github.com/kilnml/kiln/dsl"
)

// SplitIn is the input of Split.
type SplitIn struct {
	// Data is a CSV or Parquet file.
	Data dsl.Value[dsl.Dataset] `description:"rows to split"`
	// Train, Validation and Test are fractions summing to 1.
	Train dsl.Value[float64] `default:"0.6" description:"fraction of rows for training"`
	// Validation: see Train.
	Validation dsl.Value[float64] `default:"0.2" description:"fraction of rows for validation"`
	// Test: see Train.
	Test dsl.Value[float64] `default:"0.2" description:"fraction of rows held out for the final test"`
	// Seed makes the shuffle reproducible.
	Seed dsl.Value[int] `default:"0" description:"shuffle seed"`
	// Stratify names a label column whose class proportions every part keeps; empty means none.
	Stratify dsl.Value[string] `default:"" description:"label column to stratify on (empty: no stratification)"`
}

// SplitOut is the output of Split. Each part is a CSV file with the input's columns.
type SplitOut struct {
	Train      dsl.Value[dsl.Dataset] `description:"training rows (CSV)"`
	Validation dsl.Value[dsl.Dataset] `description:"validation rows (CSV)"`
	Test       dsl.Value[dsl.Dataset] `description:"held-out test rows (CSV)"`
	// TrainRows, ValidationRows and TestRows are the sizes of the parts.
	TrainRows      dsl.Value[int]
	ValidationRows dsl.Value[int]
	TestRows       dsl.Value[int]
}

// Split divides a dataset into train, validation and test parts (see preprocess.Split).
var Split = dsl.Func("split-dataset", split)

func split(ctx context.Context, in SplitIn) (SplitOut, error) {
	t, err := data.Read(ctx, in.Data.Get())
	if err != nil {
		return SplitOut{}, err
	}
	if in.Seed.Get() < 0 {
		return SplitOut{}, fmt.Errorf("split: seed %d is negative", in.Seed.Get())
	}
	cfg := mlpre.SplitConfig{
		Train: in.Train.Get(), Validation: in.Validation.Get(), Test: in.Test.Get(),
		Seed: uint64(in.Seed.Get()), Stratify: in.Stratify.Get(),
	}
	tr, va, te, err := mlpre.Split(t, cfg)
	if err != nil {
		return SplitOut{}, err
	}
	dir, err := os.MkdirTemp("", "kiln-split-")
	if err != nil {
		return SplitOut{}, fmt.Errorf("split: %w", err)
	}
	var out SplitOut
	for _, p := range []struct {
		name string
		t    *dataset.Table
		data *dsl.Value[dsl.Dataset]
		rows *dsl.Value[int]
	}{
		{"train", tr, &out.Train, &out.TrainRows},
		{"validation", va, &out.Validation, &out.ValidationRows},
		{"test", te, &out.Test, &out.TestRows},
	} {
		path := filepath.Join(dir, p.name+".csv")
		if err := dataset.WriteCSVFile(ctx, path, p.t); err != nil {
			return SplitOut{}, fmt.Errorf("split: write %s: %w", p.name, err)
		}
		*p.data = dsl.Of(dsl.Dataset{Path: path, Metadata: map[string]any{"rows": p.t.NumRows()}})
		*p.rows = dsl.Of(p.t.NumRows())
	}
	return out, nil
}

// FitTransformIn is the input of FitTransform.
type FitTransformIn struct {
	// Data is the training data the statistics are learned from.
	Data dsl.Value[dsl.Dataset] `description:"training rows"`
	// Config says which columns to transform and how.
	Config dsl.Value[mlpre.Config] `default:"{}" description:"kiln preprocess config: columns, exclude, impute, scaling"`
}

// FitTransformOut is the output of FitTransform.
type FitTransformOut struct {
	// Transform is the fitted kiln.transform/v1 JSON.
	Transform dsl.Value[dsl.Artifact] `description:"fitted kiln.transform/v1 JSON"`
	// Outputs lists the names of the transformed features.
	Outputs dsl.Value[[]string] `description:"names of the transformed features"`
}

// FitTransform learns a preprocessing transform from training data (see preprocess.Fit).
var FitTransform = dsl.Func("fit-transform", fitTransform)

func fitTransform(ctx context.Context, in FitTransformIn) (FitTransformOut, error) {
	t, err := data.Read(ctx, in.Data.Get())
	if err != nil {
		return FitTransformOut{}, err
	}
	tr, err := mlpre.Fit(t, in.Config.Get())
	if err != nil {
		return FitTransformOut{}, err
	}
	dir, err := os.MkdirTemp("", "kiln-transform-")
	if err != nil {
		return FitTransformOut{}, fmt.Errorf("fit transform: %w", err)
	}
	path := filepath.Join(dir, "transform.json")
	f, err := os.Create(path)
	if err != nil {
		return FitTransformOut{}, fmt.Errorf("fit transform: %w", err)
	}
	if err := tr.Save(f); err != nil {
		f.Close()
		return FitTransformOut{}, fmt.Errorf("fit transform: save: %w", err)
	}
	if err := f.Close(); err != nil {
		return FitTransformOut{}, fmt.Errorf("fit transform: %w", err)
	}
	return FitTransformOut{Transform: dsl.Of(dsl.Artifact{Path: path}), Outputs: dsl.Of(tr.OutputNames())}, nil
}
