package sweep

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Type is a parameter's type.
type Type string

// Parameter types.
const (
	// Double is a real number in [Min, Max].
	Double Type = "double"
	// Int is an integer in [Min, Max].
	Int Type = "int"
	// Discrete is one of a list of numbers (Values).
	Discrete Type = "discrete"
	// Categorical is one of a list of strings (Categories).
	Categorical Type = "categorical"
)

// Distribution is how a numeric range is sampled.
type Distribution string

// Distributions. The zero value is Uniform.
const (
	Uniform Distribution = "uniform"
	// LogUniform samples log(x) uniformly; Min must be positive.
	LogUniform Distribution = "log_uniform"
)

// Parameter is one dimension of a search space.
type Parameter struct {
	// Name identifies the parameter in assignments.
	Name string `json:"name"`
	// Type is the parameter type.
	Type Type `json:"type"`
	// Min and Max bound a double or int parameter (inclusive).
	Min float64 `json:"min,omitempty"`
	// Max: see Min.
	Max float64 `json:"max,omitempty"`
	// Distribution applies to double and int parameters.
	Distribution Distribution `json:"distribution,omitempty"`
	// Step is the grid spacing of a double or int parameter for the grid algorithm; 0 means
	// Algorithm.GridPoints evenly spaced points for a double (log-spaced for log_uniform) and
	// every integer for an int.
	Step float64 `json:"step,omitempty"`
	// Values lists the choices of a discrete parameter.
	Values []float64 `json:"values,omitempty"`
	// Categories lists the choices of a categorical parameter.
	Categories []string `json:"categories,omitempty"`
}

// Space is a search space: a list of parameters with distinct names.
type Space []Parameter

// Validate checks the space and returns every problem with its field path under path.
func (s Space) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s) == 0 {
		errs = append(errs, field.Required(path, "at least one parameter"))
	}
	seen := map[string]bool{}
	for i, p := range s {
		pp := path.Index(i)
		if p.Name == "" {
			errs = append(errs, field.Required(pp.Child("name"), ""))
		} else if seen[p.Name] {
			errs = append(errs, field.Duplicate(pp.Child("name"), p.Name))
		}
		seen[p.Name] = true
		switch p.Type {
		case Double, Int:
			if math.IsNaN(p.Min) || math.IsNaN(p.Max) || math.IsInf(p.Max-p.Min, 0) || p.Min > p.Max {
				errs = append(errs, field.Invalid(pp.Child("max"), p.Max, fmt.Sprintf("must be finite and >= min (%v)", p.Min)))
			}
			if p.Type == Int && (p.Min != math.Trunc(p.Min) || p.Max != math.Trunc(p.Max)) {
				errs = append(errs, field.Invalid(pp.Child("min"), p.Min, "int bounds must be integers"))
			}
			switch p.Distribution {
			case "", Uniform:
			case LogUniform:
				if !(p.Min > 0) {
					errs = append(errs, field.Invalid(pp.Child("min"), p.Min, "log_uniform needs min > 0"))
				}
			default:
				errs = append(errs, field.NotSupported(pp.Child("distribution"), string(p.Distribution), []string{string(Uniform), string(LogUniform)}))
			}
			if p.Step < 0 || (p.Type == Int && p.Step != math.Trunc(p.Step)) {
				errs = append(errs, field.Invalid(pp.Child("step"), p.Step, "must be non-negative (an integer for int)"))
			}
		case Discrete:
			if len(p.Values) == 0 {
				errs = append(errs, field.Required(pp.Child("values"), "a discrete parameter needs values"))
			}
			for j, v := range p.Values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					errs = append(errs, field.Invalid(pp.Child("values").Index(j), v, "must be finite"))
				}
			}
		case Categorical:
			if len(p.Categories) == 0 {
				errs = append(errs, field.Required(pp.Child("categories"), "a categorical parameter needs categories"))
			}
			seenCat := map[string]bool{}
			for j, c := range p.Categories {
				if seenCat[c] {
					errs = append(errs, field.Duplicate(pp.Child("categories").Index(j), c))
				}
				seenCat[c] = true
			}
		default:
			errs = append(errs, field.NotSupported(pp.Child("type"), string(p.Type), []string{string(Double), string(Int), string(Discrete), string(Categorical)}))
		}
	}
	return errs
}

// Value is one parameter value: a number (double, int, discrete) or a string (categorical).
// It marshals to a JSON number or string.
type Value struct {
	num   float64
	str   string
	isStr bool
}

// Number returns a numeric Value.
func Number(f float64) Value { return Value{num: f} }

// Category returns a string Value.
func Category(s string) Value { return Value{str: s, isStr: true} }

// IsCategory reports whether v is a string value.
func (v Value) IsCategory() bool { return v.isStr }

// Float returns v's number (0 for a category).
func (v Value) Float() float64 { return v.num }

// String returns v as text: the category itself, or the number formatted without loss.
func (v Value) String() string {
	if v.isStr {
		return v.str
	}
	return strconv.FormatFloat(v.num, 'g', -1, 64)
}

// MarshalJSON encodes v as a JSON number or string.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.isStr {
		return json.Marshal(v.str)
	}
	return json.Marshal(v.num)
}

// UnmarshalJSON decodes a JSON number or string.
func (v *Value) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = Category(s)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("sweep: value %s is neither a number nor a string", b)
	}
	*v = Number(f)
	return nil
}

// Assignment is one trial's parameter values.
type Assignment struct {
	// ID numbers trials of an experiment from 0 in the order they were suggested.
	ID int `json:"id"`
	// Values maps parameter names to values.
	Values map[string]Value `json:"values"`
}

// Name returns a stable name for the trial, such as "trial-0007".
func (a Assignment) Name() string { return fmt.Sprintf("trial-%04d", a.ID) }

// Float returns the numeric parameter name.
func (a Assignment) Float(name string) (float64, error) {
	v, ok := a.Values[name]
	if !ok {
		return 0, fmt.Errorf("sweep: %s: no parameter %q", a.Name(), name)
	}
	if v.isStr {
		return 0, fmt.Errorf("sweep: %s: parameter %q is the category %q, not a number", a.Name(), name, v.str)
	}
	return v.num, nil
}

// Int returns the numeric parameter name, which must be an integer.
func (a Assignment) Int(name string) (int, error) {
	f, err := a.Float(name)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) {
		return 0, fmt.Errorf("sweep: %s: parameter %q is %v, not an integer", a.Name(), name, f)
	}
	return int(f), nil
}

// Category returns the categorical parameter name.
func (a Assignment) Category(name string) (string, error) {
	v, ok := a.Values[name]
	if !ok {
		return "", fmt.Errorf("sweep: %s: no parameter %q", a.Name(), name)
	}
	if !v.isStr {
		return "", fmt.Errorf("sweep: %s: parameter %q is the number %v, not a category", a.Name(), name, v.num)
	}
	return v.str, nil
}

// Strings returns every value as text, for passing as pipeline parameters.
func (a Assignment) Strings() map[string]string {
	out := make(map[string]string, len(a.Values))
	for k, v := range a.Values {
		out[k] = v.String()
	}
	return out
}

// key identifies an assignment's values, for detecting duplicates.
func (a Assignment) key(s Space) string {
	b := make([]byte, 0, 64)
	for _, p := range s {
		b = append(b, a.Values[p.Name].String()...)
		b = append(b, 0)
	}
	return string(b)
}

// MaxGridPoints bounds the grid points of one parameter, so that a wide int range or a tiny
// step is a validation error rather than an enormous allocation.
const MaxGridPoints = 10000

// gridCount returns the number of grid points gridValues would list, without listing them
// (an upper bound for log-spaced ints, which may collapse after rounding).
func (p Parameter) gridCount(points int) float64 {
	switch {
	case p.Type == Categorical:
		return float64(len(p.Categories))
	case p.Type == Discrete:
		return float64(len(p.Values))
	case p.Step > 0:
		return math.Floor((p.Max-p.Min)/p.Step+1e-9) + 1
	case p.Type == Int && p.Distribution != LogUniform:
		return p.Max - p.Min + 1
	case points < 2 || p.Min == p.Max:
		if p.Min == p.Max {
			return 1
		}
		return 2
	}
	return float64(points)
}

// gridValues lists a parameter's grid points.
func (p Parameter) gridValues(points int) []Value {
	switch p.Type {
	case Categorical:
		out := make([]Value, len(p.Categories))
		for i, c := range p.Categories {
			out[i] = Category(c)
		}
		return out
	case Discrete:
		out := make([]Value, len(p.Values))
		for i, v := range p.Values {
			out[i] = Number(v)
		}
		return out
	}
	var xs []float64
	switch {
	case p.Step > 0:
		for k := 0; ; k++ {
			x := p.Min + float64(k)*p.Step
			if x > p.Max+1e-9*math.Max(1, math.Abs(p.Max)) {
				break
			}
			xs = append(xs, min(x, p.Max))
		}
	case p.Type == Int && p.Distribution != LogUniform:
		for x := p.Min; x <= p.Max; x++ {
			xs = append(xs, x)
		}
	default:
		if points < 2 || p.Min == p.Max {
			xs = []float64{p.Min}
			if p.Min != p.Max {
				xs = append(xs, p.Max)
			}
			break
		}
		for k := range points {
			t := float64(k) / float64(points-1)
			if p.Distribution == LogUniform {
				xs = append(xs, math.Exp(math.Log(p.Min)+t*(math.Log(p.Max)-math.Log(p.Min))))
			} else {
				xs = append(xs, p.Min+t*(p.Max-p.Min))
			}
		}
		if p.Type == Int {
			for i := range xs {
				xs[i] = math.Round(xs[i])
			}
			xs = slices.Compact(xs)
		}
	}
	out := make([]Value, len(xs))
	for i, x := range xs {
		out[i] = Number(x)
	}
	return out
}
