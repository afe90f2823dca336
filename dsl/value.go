package dsl

import (
	"fmt"
	"reflect"

	"github.com/kilnml/kiln/internal/ir"
	"github.com/kilnml/kiln/internal/paramcodec"
)

// Value is a typed piece of data flowing through a pipeline: a parameter (string, int, float,
// bool, list, map or JSON-able struct) or an artifact (Dataset, Model, Metrics, Artifact).
//
// While a pipeline is built, a Value is a reference — to a literal (see Of), a pipeline input, a
// task output or a loop item — and the Go compiler checks that references are wired to inputs of
// the same type. While a component runs, a Value holds the concrete data: call Get.
type Value[T any] struct {
	ref  *ir.Value
	v    T
	isOf bool
}

// Of returns a Value holding v: a literal input when building a pipeline, or a concrete output
// when returned from a Go-function component.
func Of[T any](v T) Value[T] { return Value[T]{v: v, isOf: true} }

// Get returns the concrete value. It is the zero value while a pipeline is being built.
func (v Value[T]) Get() T { return v.v }

// IsSet reports whether the value holds data or a reference.
func (v Value[T]) IsSet() bool { return v.isOf || v.ref != nil }

// String describes the value for debugging.
func (v Value[T]) String() string {
	if v.ref != nil {
		return fmt.Sprintf("dsl.Value[%s](ref)", reflect.TypeFor[T]())
	}
	return fmt.Sprint(v.v)
}

// port is implemented by *Value[T]; the dsl and runtime use it to read and fill struct fields
// without knowing T.
type port interface {
	goType() reflect.Type
	symbol() (*ir.Value, error)
	setRef(*ir.Value)
	concrete() (any, bool)
	setConcrete(any)
}

func (v *Value[T]) goType() reflect.Type { return reflect.TypeFor[T]() }

func (v *Value[T]) setRef(r *ir.Value) { v.ref = r }

func (v *Value[T]) concrete() (any, bool) { return v.v, v.isOf }

func (v *Value[T]) setConcrete(x any) { v.v, v.isOf = x.(T), true }

// symbol returns the graph value the reference stands for, creating a literal for Of values.
func (v *Value[T]) symbol() (*ir.Value, error) {
	if v.ref != nil {
		return v.ref, nil
	}
	if !v.isOf {
		return nil, nil
	}
	t, err := typeOf(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	if t.IsArtifact() {
		return nil, fmt.Errorf("artifact literals are not supported: pass an artifact produced by a task (for example an importer component)")
	}
	s, err := paramcodec.Encode(v.v)
	if err != nil {
		return nil, err
	}
	return &ir.Value{Kind: ir.ValueLiteral, Type: t, Literal: s}, nil
}

// Ref is any Value, whatever its type. It is used where types are only known when the pipeline is
// compiled, such as the arguments of a component loaded from a spec file.
type Ref interface {
	anyRef() (*ir.Value, error)
}

func (v Value[T]) anyRef() (*ir.Value, error) { return (&v).symbol() }

// As converts an untyped reference into a typed one. The types are compared when the pipeline is
// compiled; a mismatch is reported as an error naming the value.
func As[T any](r Ref) Value[T] {
	sym, err := r.anyRef()
	out := Value[T]{}
	if err != nil || sym == nil {
		return out
	}
	want, terr := typeOf(reflect.TypeFor[T]())
	if terr != nil {
		return out
	}
	cp := *sym
	if !cp.Type.AssignableTo(want) && !want.AssignableTo(cp.Type) {
		// Keep the original type so the compiler reports the mismatch where the value is used.
		out.ref = &cp
		return out
	}
	cp.Type = want
	out.ref = &cp
	return out
}

// artifact is implemented by the artifact types; its method is unexported so the set is closed.
type artifact interface{ artifactType() string }

// Dataset is an artifact holding data: a file or a directory.
type Dataset struct {
	// Path is where the data is on the local file system while a component runs. A component
	// producing a Dataset writes it anywhere and returns its path; Kiln moves it into place.
	Path string `json:"path"`
	// Metadata is free-form information about the artifact, recorded by tracking.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// Model is an artifact holding a trained model.
type Model struct {
	Path     string         `json:"path"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// Metrics is an artifact holding evaluation metrics as a JSON object of numbers.
type Metrics struct {
	// Path is the metrics file. A component may leave it empty and set Values instead; Kiln
	// writes Values as JSON.
	Path   string             `json:"path"`
	Values map[string]float64 `json:"values,omitempty"`
}

// Artifact is a generic artifact: any file or directory.
type Artifact struct {
	Path     string         `json:"path"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

func (Dataset) artifactType() string  { return "Dataset" }
func (Model) artifactType() string    { return "Model" }
func (Metrics) artifactType() string  { return "Metrics" }
func (Artifact) artifactType() string { return "Artifact" }

var artifactIface = reflect.TypeFor[artifact]()

// typeOf maps a Go type to a Kiln port type.
func typeOf(t reflect.Type) (ir.Type, error) {
	if t.Implements(artifactIface) {
		return ir.Type{Kind: ir.KindArtifact, Artifact: reflect.Zero(t).Interface().(artifact).artifactType(), Go: t}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return ir.Type{Kind: ir.KindString, Go: t}, nil
	case reflect.Bool:
		return ir.Type{Kind: ir.KindBool, Go: t}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return ir.Type{Kind: ir.KindInt, Go: t}, nil
	case reflect.Float32, reflect.Float64:
		return ir.Type{Kind: ir.KindFloat, Go: t}, nil
	case reflect.Slice, reflect.Array:
		e, err := typeOf(t.Elem())
		if err != nil {
			return ir.Type{}, err
		}
		if e.IsArtifact() {
			return ir.Type{}, fmt.Errorf("lists of artifacts are not supported (%s)", t)
		}
		return ir.Type{Kind: ir.KindList, Elem: &e, Go: t}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return ir.Type{}, fmt.Errorf("map keys must be strings (%s)", t)
		}
		e, err := typeOf(t.Elem())
		if err != nil {
			return ir.Type{}, err
		}
		if e.IsArtifact() {
			return ir.Type{}, fmt.Errorf("maps of artifacts are not supported (%s)", t)
		}
		return ir.Type{Kind: ir.KindMap, Elem: &e, Go: t}, nil
	case reflect.Struct, reflect.Interface, reflect.Pointer:
		return ir.Type{Kind: ir.KindStruct, Go: t}, nil
	}
	return ir.Type{}, fmt.Errorf("type %s cannot be a parameter", t)
}

// typeOfValue is typeOf for a value's dynamic type, with Go type information dropped so the
// value can be matched against ports declared in spec files.
func typeOfValue(v any) (ir.Type, error) {
	if v == nil {
		return ir.Type{}, fmt.Errorf("a literal cannot be nil")
	}
	t, err := typeOf(reflect.TypeOf(v))
	if err != nil {
		return t, err
	}
	return stripGo(t), nil
}

func stripGo(t ir.Type) ir.Type {
	t.Go = nil
	if t.Elem != nil {
		e := stripGo(*t.Elem)
		t.Elem = &e
	}
	return t
}
