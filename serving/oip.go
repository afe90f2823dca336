package serving

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Tensor is an Open Inference Protocol v2 tensor. Data holds the elements in row-major order;
// requests may also nest it as arrays, which are flattened.
type Tensor struct {
	Name       string         `json:"name"`
	Shape      []int          `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       []any          `json:"data"`
}

// InferRequest is the body of POST /v2/models/{name}/infer.
type InferRequest struct {
	ID         string         `json:"id,omitempty"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Inputs     []Tensor       `json:"inputs"`
	Outputs    []struct {
		Name string `json:"name"`
	} `json:"outputs,omitempty"`
}

// InferResponse is the reply to an infer request.
type InferResponse struct {
	ModelName    string   `json:"model_name"`
	ModelVersion string   `json:"model_version,omitempty"`
	ID           string   `json:"id,omitempty"`
	Outputs      []Tensor `json:"outputs"`
}

// TensorMetadata describes an input or output in model metadata.
type TensorMetadata struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

// ModelMetadata is the reply to GET /v2/models/{name}.
type ModelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions,omitempty"`
	Platform string           `json:"platform"`
	Inputs   []TensorMetadata `json:"inputs"`
	Outputs  []TensorMetadata `json:"outputs"`
}

// ServerMetadata is the reply to GET /v2.
type ServerMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

// errorBody is the protocol's error reply.
type errorBody struct {
	Error string `json:"error"`
}

// flatten appends the scalar elements of data (possibly nested arrays) to out.
func flatten(data []any, out []any) []any {
	for _, d := range data {
		if a, ok := d.([]any); ok {
			out = flatten(a, out)
			continue
		}
		out = append(out, d)
	}
	return out
}

// elements returns t's elements, flattened, checking their count against the shape.
func (t Tensor) elements() ([]any, error) {
	flat := flatten(t.Data, nil)
	n := 1
	for _, d := range t.Shape {
		if d < 0 {
			return nil, fmt.Errorf("input %q: negative dimension in shape %v", t.Name, t.Shape)
		}
		n *= d
	}
	if len(t.Shape) == 0 || n != len(flat) {
		return nil, fmt.Errorf("input %q: shape %v needs %d elements, data has %d", t.Name, t.Shape, n, len(flat))
	}
	return flat, nil
}

// numeric converts one element of a numeric tensor (or a BYTES tensor holding numbers).
func numeric(name string, v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case json.Number:
		return x.Float64()
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case nil:
		return math.NaN(), nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, fmt.Errorf("input %q: %q is not a number", name, x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("input %q: unsupported element %v (%T)", name, v, v)
}
