package preprocess

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/components/ml/dataset"
)

// FormatV1 is the value of Transform.Format for this version of the transform artifact.
const FormatV1 = "kiln.transform/v1"

// NumericImpute says how missing numeric values are filled.
type NumericImpute string

// Numeric imputation strategies. The zero value is ImputeMean.
const (
	ImputeMean   NumericImpute = "mean"
	ImputeMedian NumericImpute = "median"
	ImputeZero   NumericImpute = "zero"
	// ImputeNone leaves missing values as NaN (for models that handle them, such as gbt).
	ImputeNone NumericImpute = "none"
)

// Scaling says how numeric columns are rescaled after imputation.
type Scaling string

// Scalings. The zero value is ScaleNone.
const (
	ScaleNone Scaling = "none"
	// ScaleStandard subtracts the training mean and divides by the training standard deviation
	// (population, n), leaving constant columns unscaled.
	ScaleStandard Scaling = "standard"
	// ScaleMinMax maps the training range to [0, 1].
	ScaleMinMax Scaling = "minmax"
)

// Config says which columns to transform and how. The zero value uses every column, fills
// missing numbers with the mean and missing categories with the most frequent one, does not
// scale, one-hot encodes string columns and encodes unknown categories as all zeros.
type Config struct {
	// Columns lists the input columns in order; empty means every column not in Exclude.
	Columns []string `json:"columns,omitempty"`
	// Exclude lists columns to leave out when Columns is empty, such as the label.
	Exclude []string `json:"exclude,omitempty"`
	// Impute is the strategy for numeric columns.
	Impute NumericImpute `json:"impute,omitempty"`
	// Scaling is applied to numeric columns.
	Scaling Scaling `json:"scaling,omitempty"`
	// ErrorOnUnknown makes applying the transform fail on a category not seen in training.
	ErrorOnUnknown bool `json:"error_on_unknown,omitempty"`
}

// ColumnKind is how a Transform treats one input column.
type ColumnKind string

// Column kinds of a Transform.
const (
	Numeric     ColumnKind = "numeric"
	Categorical ColumnKind = "categorical"
)

// ColumnTransform is the fitted transform of one input column. A numeric column yields one
// output (v - Center) / Scale, with a missing v replaced by Fill first when Fill is set. A
// categorical column yields one 0/1 output per category, a missing value being replaced by
// FillCategory.
type ColumnTransform struct {
	// Name is the input column.
	Name string `json:"name"`
	// Kind is numeric or categorical.
	Kind ColumnKind `json:"kind"`
	// Fill replaces a missing numeric value; nil leaves it NaN.
	Fill *float64 `json:"fill,omitempty"`
	// Center is subtracted from a numeric value.
	Center float64 `json:"center,omitempty"`
	// Scale divides a numeric value after centring; never 0 for a numeric column.
	Scale float64 `json:"scale,omitempty"`
	// Categories lists a categorical column's known values, sorted.
	Categories []string `json:"categories,omitempty"`
	// FillCategory replaces a missing categorical value.
	FillCategory string `json:"fill_category,omitempty"`
	// ErrorOnUnknown makes an unknown category an error instead of all-zero outputs.
	ErrorOnUnknown bool `json:"error_on_unknown,omitempty"`
}

// Transform is a fitted preprocessing transform, the artifact that travels with a model.
type Transform struct {
	// Format is FormatV1.
	Format string `json:"format"`
	// Columns are the per-column transforms in input order.
	Columns []ColumnTransform `json:"columns"`
}

// Fit learns a Transform from t: numeric columns (int, float, bool) get imputation and scaling
// statistics, string columns get their sorted category list and most frequent value.
func Fit(t *dataset.Table, cfg Config) (*Transform, error) {
	names := cfg.Columns
	if len(names) == 0 {
		for _, n := range t.Names() {
			if !slices.Contains(cfg.Exclude, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("fit transform: no input columns")
	}
	tr := &Transform{Format: FormatV1}
	for _, n := range names {
		c, err := t.Column(n)
		if err != nil {
			return nil, fmt.Errorf("fit transform: %w", err)
		}
		var ct ColumnTransform
		if c.Kind.Numeric() {
			ct, err = fitNumeric(c, cfg)
		} else {
			ct, err = fitCategorical(c, cfg)
		}
		if err != nil {
			return nil, fmt.Errorf("fit transform: column %q: %w", n, err)
		}
		tr.Columns = append(tr.Columns, ct)
	}
	return tr, nil
}

func fitNumeric(c *dataset.Column, cfg Config) (ColumnTransform, error) {
	ct := ColumnTransform{Name: c.Name, Kind: Numeric, Scale: 1}
	var vals []float64
	for _, v := range c.Num {
		if !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return ct, fmt.Errorf("no non-missing values")
	}
	var mean float64
	for _, v := range vals {
		mean += v / float64(len(vals))
	}
	switch cfg.Impute {
	case "", ImputeMean:
		ct.Fill = &mean
	case ImputeMedian:
		m := median(vals)
		ct.Fill = &m
	case ImputeZero:
		z := 0.0
		ct.Fill = &z
	case ImputeNone:
	default:
		return ct, fmt.Errorf("unknown imputation %q (want mean, median, zero or none)", cfg.Impute)
	}
	switch cfg.Scaling {
	case "", ScaleNone:
	case ScaleStandard:
		var ss float64
		for _, v := range vals {
			ss += (v - mean) * (v - mean)
		}
		ct.Center = mean
		if sd := math.Sqrt(ss / float64(len(vals))); sd > 0 {
			ct.Scale = sd
		}
	case ScaleMinMax:
		lo, hi := slices.Min(vals), slices.Max(vals)
		ct.Center = lo
		if hi > lo {
			ct.Scale = hi - lo
		}
	default:
		return ct, fmt.Errorf("unknown scaling %q (want none, standard or minmax)", cfg.Scaling)
	}
	return ct, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fitCategorical(c *dataset.Column, cfg Config) (ColumnTransform, error) {
	ct := ColumnTransform{Name: c.Name, Kind: Categorical, ErrorOnUnknown: cfg.ErrorOnUnknown}
	counts := map[string]int{}
	for i := range c.Len() {
		if !c.IsMissing(i) {
			counts[c.StringAt(i)]++
		}
	}
	if len(counts) == 0 {
		return ct, fmt.Errorf("no non-missing values")
	}
	for v := range counts {
		ct.Categories = append(ct.Categories, v)
	}
	slices.Sort(ct.Categories)
	ct.FillCategory = slices.MaxFunc(ct.Categories, func(a, b string) int {
		if counts[a] != counts[b] {
			return cmp.Compare(counts[a], counts[b])
		}
		return cmp.Compare(b, a) // ties: the lexically first wins
	})
	return ct, nil
}

// InputNames returns the input column names in order.
func (tr *Transform) InputNames() []string {
	out := make([]string, len(tr.Columns))
	for i, c := range tr.Columns {
		out[i] = c.Name
	}
	return out
}

// OutputNames returns the names of the output features: a numeric column keeps its name and a
// categorical column c with category v yields "c=v".
func (tr *Transform) OutputNames() []string {
	var out []string
	for _, c := range tr.Columns {
		if c.Kind == Numeric {
			out = append(out, c.Name)
			continue
		}
		for _, v := range c.Categories {
			out = append(out, c.Name+"="+v)
		}
	}
	return out
}

// NumOutputs returns len(tr.OutputNames()).
func (tr *Transform) NumOutputs() int {
	n := 0
	for _, c := range tr.Columns {
		if c.Kind == Numeric {
			n++
		} else {
			n += len(c.Categories)
		}
	}
	return n
}

// Apply transforms every row of t into a feature matrix with NumOutputs columns.
func (tr *Transform) Apply(t *dataset.Table) ([][]float64, error) {
	cols := make([]*dataset.Column, len(tr.Columns))
	for j, ct := range tr.Columns {
		c, err := t.Column(ct.Name)
		if err != nil {
			return nil, fmt.Errorf("apply transform: %w", err)
		}
		if ct.Kind == Numeric && !c.Kind.Numeric() {
			return nil, fmt.Errorf("apply transform: column %q is %s, want a numeric column", ct.Name, c.Kind)
		}
		cols[j] = c
	}
	width := tr.NumOutputs()
	out := make([][]float64, t.NumRows())
	flat := make([]float64, t.NumRows()*width)
	for i := range out {
		row := flat[i*width : (i+1)*width : (i+1)*width]
		pos := 0
		for j, ct := range tr.Columns {
			var err error
			c := cols[j]
			if ct.Kind == Numeric {
				pos, err = ct.putNumeric(row, pos, c.Num[i])
			} else {
				pos, err = ct.putCategory(row, pos, c.StringAt(i), c.IsMissing(i))
			}
			if err != nil {
				return nil, fmt.Errorf("apply transform: row %d: %w", i, err)
			}
		}
		out[i] = row
	}
	return out, nil
}

func (ct *ColumnTransform) putNumeric(row []float64, pos int, v float64) (int, error) {
	if math.IsNaN(v) && ct.Fill != nil {
		v = *ct.Fill
	}
	row[pos] = (v - ct.Center) / ct.Scale
	return pos + 1, nil
}

func (ct *ColumnTransform) putCategory(row []float64, pos int, v string, missing bool) (int, error) {
	if missing {
		v = ct.FillCategory
	}
	k, found := slices.BinarySearch(ct.Categories, v)
	for i := range ct.Categories {
		row[pos+i] = 0
	}
	if found {
		row[pos+k] = 1
	} else if ct.ErrorOnUnknown {
		return 0, fmt.Errorf("column %q: unknown category %q", ct.Name, v)
	}
	return pos + len(ct.Categories), nil
}

// ApplyRecord transforms one record of named input values, as a serving request carries
// them. Numbers may be given as float64, int, bool, json.Number or numeric strings; a
// missing key or nil is a missing value.
func (tr *Transform) ApplyRecord(rec map[string]any) ([]float64, error) {
	row := make([]float64, tr.NumOutputs())
	pos := 0
	for _, ct := range tr.Columns {
		raw, ok := rec[ct.Name]
		missing := !ok || raw == nil
		var err error
		if ct.Kind == Numeric {
			v := math.NaN()
			if !missing {
				if v, err = toFloat(raw); err != nil {
					return nil, fmt.Errorf("apply transform: column %q: %w", ct.Name, err)
				}
			}
			pos, err = ct.putNumeric(row, pos, v)
		} else {
			s := ""
			if !missing {
				s = toString(raw)
			}
			pos, err = ct.putCategory(row, pos, s, missing)
		}
		if err != nil {
			return nil, fmt.Errorf("apply transform: %w", err)
		}
	}
	return row, nil
}

// ApplyRow transforms one row of numeric input values given in InputNames order; NaN is
// missing. It fails if the transform has a categorical column.
func (tr *Transform) ApplyRow(x []float64) ([]float64, error) {
	if len(x) != len(tr.Columns) {
		return nil, fmt.Errorf("apply transform: row has %d values, want %d (%v)", len(x), len(tr.Columns), tr.InputNames())
	}
	row := make([]float64, tr.NumOutputs())
	pos := 0
	for j, ct := range tr.Columns {
		if ct.Kind != Numeric {
			return nil, fmt.Errorf("apply transform: column %q is categorical; pass records by name", ct.Name)
		}
		pos, _ = ct.putNumeric(row, pos, x[j])
	}
	return row, nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case json.Number:
		return x.Float64()
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("value of type %T is not a number", v)
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// Validate checks a decoded transform and returns every problem with its field path under
// path (use field.NewPath("preprocess") when it is embedded in a model).
func (tr *Transform) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if tr.Format != FormatV1 {
		errs = append(errs, field.NotSupported(path.Child("format"), tr.Format, []string{FormatV1}))
	}
	if len(tr.Columns) == 0 {
		errs = append(errs, field.Required(path.Child("columns"), "at least one column"))
	}
	seen := map[string]bool{}
	for i, c := range tr.Columns {
		p := path.Child("columns").Index(i)
		if c.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else if seen[c.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		}
		seen[c.Name] = true
		switch c.Kind {
		case Numeric:
			if c.Scale == 0 || math.IsNaN(c.Scale) || math.IsInf(c.Scale, 0) {
				errs = append(errs, field.Invalid(p.Child("scale"), c.Scale, "must be finite and non-zero"))
			}
		case Categorical:
			if len(c.Categories) == 0 {
				errs = append(errs, field.Required(p.Child("categories"), "a categorical column needs categories"))
			}
			if !slices.IsSorted(c.Categories) {
				errs = append(errs, field.Invalid(p.Child("categories"), c.Categories, "must be sorted"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("kind"), string(c.Kind), []string{string(Numeric), string(Categorical)}))
		}
	}
	return errs
}

// Save writes tr as indented JSON.
func (tr *Transform) Save(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tr); err != nil {
		return fmt.Errorf("save transform: %w", err)
	}
	return nil
}

// Load reads and validates a transform written by Save.
func Load(r io.Reader) (*Transform, error) {
	var tr Transform
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tr); err != nil {
		return nil, fmt.Errorf("load transform: %w", err)
	}
	if errs := tr.Validate(field.NewPath("")); len(errs) > 0 {
		return nil, fmt.Errorf("load transform: %w", errs.ToAggregate())
	}
	return &tr, nil
}
