package model

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/components/ml/model/gbt"
	"github.com/kilnml/kiln/components/ml/model/linear"
	"github.com/kilnml/kiln/components/ml/preprocess"
)

// FormatV1 is the value of Model.Format for this version of the artifact.
const FormatV1 = "kiln.model/v1"

// Kind is a model family.
type Kind string

// Model kinds.
const (
	LogisticRegression Kind = "logistic_regression"
	Softmax            Kind = "softmax"
	LinearRegression   Kind = "linear_regression"
	GBT                Kind = "gbt"
)

var kinds = []string{string(LogisticRegression), string(Softmax), string(LinearRegression), string(GBT)}

// Model is a trained model artifact. See the package documentation for the format.
type Model struct {
	// Format is FormatV1.
	Format string `json:"format"`
	// Kind is the model family.
	Kind Kind `json:"kind"`
	// Target is the label column the model was trained on.
	Target string `json:"target,omitempty"`
	// Features are the input columns in the order Predict expects them.
	Features []string `json:"features"`
	// Classes are the class names of a classifier; a class number indexes this list.
	Classes []string `json:"classes,omitempty"`
	// Preprocess is the fitted transform applied to inputs before the model proper.
	Preprocess *preprocess.Transform `json:"preprocess,omitempty"`
	// Linear holds the weights of the linear kinds.
	Linear *linear.Params `json:"linear,omitempty"`
	// GBT holds the trees of kind gbt.
	GBT *gbt.Ensemble `json:"gbt,omitempty"`
	// Metadata is free-form information such as hyperparameters or a training run id.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// IsClassifier reports whether m predicts classes.
func (m *Model) IsClassifier() bool { return len(m.Classes) > 0 }

// numInputs is the width of the matrix the model proper sees.
func (m *Model) numInputs() int {
	if m.Preprocess != nil {
		return m.Preprocess.NumOutputs()
	}
	return len(m.Features)
}

// Validate checks m and returns every problem found, each with its JSON field path.
func (m *Model) Validate() field.ErrorList {
	var errs field.ErrorList
	if m.Format != FormatV1 {
		errs = append(errs, field.NotSupported(field.NewPath("format"), m.Format, []string{FormatV1}))
	}
	if !slices.Contains(kinds, string(m.Kind)) {
		errs = append(errs, field.NotSupported(field.NewPath("kind"), string(m.Kind), kinds))
	}
	fp := field.NewPath("features")
	if len(m.Features) == 0 {
		errs = append(errs, field.Required(fp, "at least one feature"))
	}
	seen := map[string]bool{}
	for i, f := range m.Features {
		if f == "" {
			errs = append(errs, field.Required(fp.Index(i), ""))
		} else if seen[f] {
			errs = append(errs, field.Duplicate(fp.Index(i), f))
		}
		seen[f] = true
	}
	cp := field.NewPath("classes")
	seenClass := map[string]bool{}
	for i, c := range m.Classes {
		if seenClass[c] {
			errs = append(errs, field.Duplicate(cp.Index(i), c))
		}
		seenClass[c] = true
	}
	if m.Preprocess != nil {
		pp := field.NewPath("preprocess")
		perrs := m.Preprocess.Validate(pp)
		errs = append(errs, perrs...)
		if len(perrs) == 0 && !slices.Equal(m.Preprocess.InputNames(), m.Features) {
			errs = append(errs, field.Invalid(pp.Child("columns"), m.Preprocess.InputNames(), "input columns must equal features"))
		}
	}
	switch m.Kind {
	case LogisticRegression, Softmax, LinearRegression:
		errs = append(errs, m.validateLinear()...)
	case GBT:
		errs = append(errs, m.validateGBT()...)
	}
	return errs
}

func (m *Model) validateLinear() field.ErrorList {
	var errs field.ErrorList
	cp := field.NewPath("classes")
	switch m.Kind {
	case LogisticRegression:
		if len(m.Classes) != 2 {
			errs = append(errs, field.Invalid(cp, m.Classes, "logistic_regression needs exactly 2 classes"))
		}
	case Softmax:
		if len(m.Classes) < 2 {
			errs = append(errs, field.Invalid(cp, m.Classes, "softmax needs at least 2 classes"))
		}
	case LinearRegression:
		if len(m.Classes) != 0 {
			errs = append(errs, field.Forbidden(cp, "linear_regression has no classes"))
		}
	}
	if m.GBT != nil {
		errs = append(errs, field.Forbidden(field.NewPath("gbt"), fmt.Sprintf("not allowed for kind %s", m.Kind)))
	}
	lp := field.NewPath("linear")
	if m.Linear == nil {
		return append(errs, field.Required(lp, fmt.Sprintf("kind %s needs weights", m.Kind)))
	}
	outs := 1
	if m.Kind == Softmax {
		outs = len(m.Classes)
	}
	if len(m.Linear.Coef) != outs {
		errs = append(errs, field.Invalid(lp.Child("coef"), len(m.Linear.Coef), fmt.Sprintf("want %d weight rows", outs)))
	}
	if len(m.Linear.Intercept) != outs {
		errs = append(errs, field.Invalid(lp.Child("intercept"), len(m.Linear.Intercept), fmt.Sprintf("want %d intercepts", outs)))
	}
	d := m.numInputs()
	for k, row := range m.Linear.Coef {
		if len(row) != d {
			errs = append(errs, field.Invalid(lp.Child("coef").Index(k), len(row), fmt.Sprintf("want %d weights (one per model input)", d)))
		}
	}
	return errs
}

func (m *Model) validateGBT() field.ErrorList {
	var errs field.ErrorList
	if m.Linear != nil {
		errs = append(errs, field.Forbidden(field.NewPath("linear"), "not allowed for kind gbt"))
	}
	gp := field.NewPath("gbt")
	if m.GBT == nil {
		return append(errs, field.Required(gp, "kind gbt needs trees"))
	}
	if err := m.GBT.Validate(); err != nil {
		errs = append(errs, field.Invalid(gp, "", err.Error()))
	}
	if m.GBT.NumFeatures != m.numInputs() {
		errs = append(errs, field.Invalid(gp.Child("num_features"), m.GBT.NumFeatures, fmt.Sprintf("want %d (one per model input)", m.numInputs())))
	}
	switch m.GBT.Objective {
	case gbt.BinaryLogistic:
		if len(m.Classes) != 2 {
			errs = append(errs, field.Invalid(field.NewPath("classes"), m.Classes, "a binary_logistic gbt needs exactly 2 classes"))
		}
	case gbt.SquaredError:
		if len(m.Classes) != 0 {
			errs = append(errs, field.Forbidden(field.NewPath("classes"), "a squared_error gbt has no classes"))
		}
	}
	return errs
}

// Save writes m as indented JSON after validating it.
func (m *Model) Save(w io.Writer) error {
	if errs := m.Validate(); len(errs) > 0 {
		return fmt.Errorf("save model: %w", errs.ToAggregate())
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// SaveFile writes m to path.
func (m *Model) SaveFile(ctx context.Context, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := m.Save(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save model %s: %w", path, err)
	}
	return nil
}

// Load reads a model written by Save and validates it. Unknown fields are an error, so a
// document of another format version fails loudly rather than being half read.
func Load(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	var head struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	if head.Format != FormatV1 {
		return nil, fmt.Errorf("load model: %w", field.NotSupported(field.NewPath("format"), head.Format, []string{FormatV1}))
	}
	var m Model
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	if errs := m.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("load model: %w", errs.ToAggregate())
	}
	return &m, nil
}

// LoadFile reads the model at path.
func LoadFile(ctx context.Context, path string) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
