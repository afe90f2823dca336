// Package entrypoint runs one Go-function component inside a pod or a local process: it decodes
// the inputs Argo placed in the arguments and files, calls the function and writes its outputs
// where Argo collects them.
package entrypoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/kilnml/kiln/internal/fscopy"
	"github.com/kilnml/kiln/internal/ir"
	"github.com/kilnml/kiln/internal/paramcodec"
)

// Request is one invocation, as parsed from the command line.
type Request struct {
	Component string
	// Params are encoded parameter inputs by port name.
	Params map[string]string
	// Inputs are the local paths of input artifacts by port name.
	Inputs map[string]string
	// Outputs are the paths to write outputs to by port name.
	Outputs map[string]string
}

// ParseArgs parses "NAME [--param k=v | --input k=path | --output k=path]...".
func ParseArgs(args []string) (*Request, error) {
	if len(args) == 0 {
		return nil, errors.New("component name missing")
	}
	r := &Request{Component: args[0], Params: map[string]string{}, Inputs: map[string]string{}, Outputs: map[string]string{}}
	for i := 1; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return nil, fmt.Errorf("flag %s needs a value", args[i])
		}
		k, v, ok := strings.Cut(args[i+1], "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want NAME=VALUE", args[i], args[i+1])
		}
		var m map[string]string
		switch strings.TrimLeft(args[i], "-") {
		case "param":
			m = r.Params
		case "input":
			m = r.Inputs
		case "output":
			m = r.Outputs
		default:
			return nil, fmt.Errorf("unknown flag %s (want --param, --input or --output)", args[i])
		}
		m[k] = v
	}
	return r, nil
}

// Find returns the Go-function component named name used anywhere in pipeline p.
func Find(p *ir.Pipeline, name string) *ir.Component {
	seen := map[*ir.Pipeline]bool{}
	var walk func(*ir.Pipeline) *ir.Component
	walk = func(p *ir.Pipeline) *ir.Component {
		if seen[p] {
			return nil
		}
		seen[p] = true
		for _, t := range p.Tasks {
			c := t.Component
			if c.Name == name && c.Impl == ir.ImplGo {
				return c
			}
			if c.Impl == ir.ImplPipeline {
				if found := walk(c.Pipeline); found != nil {
					return found
				}
			}
		}
		return nil
	}
	return walk(p)
}

// Run executes the request's component.
func Run(ctx context.Context, c *ir.Component, r *Request) error {
	args := make(map[string]any, len(c.Inputs))
	for _, in := range c.Inputs {
		v, ok, err := inputValue(in, r)
		if err != nil {
			return fmt.Errorf("component %q: input %q: %w", c.Name, in.Name, err)
		}
		if ok {
			args[in.Name] = v
		}
	}
	outs, err := c.Invoke(ctx, args)
	if err != nil {
		return fmt.Errorf("component %q: %w", c.Name, err)
	}
	var errs []error
	for _, out := range c.Outputs {
		dst, ok := r.Outputs[out.Name]
		if !ok {
			continue // the caller does not collect this output
		}
		v, set := outs[out.Name]
		if !set {
			errs = append(errs, fmt.Errorf("component %q: output %q was not set", c.Name, out.Name))
			continue
		}
		if err := writeOutput(out, v, dst); err != nil {
			errs = append(errs, fmt.Errorf("component %q: output %q: %w", c.Name, out.Name, err))
		}
	}
	return errors.Join(errs...)
}

func inputValue(in ir.Port, r *Request) (any, bool, error) {
	if in.Type.IsArtifact() {
		path, ok := r.Inputs[in.Name]
		if !ok {
			return nil, false, nil
		}
		if _, err := os.Stat(path); err != nil {
			if in.Optional && errors.Is(err, os.ErrNotExist) {
				return nil, false, nil
			}
			return nil, false, err
		}
		v := reflect.New(in.Type.Go).Elem()
		v.FieldByName("Path").SetString(path)
		if in.Type.Artifact == "Metrics" {
			if values, err := readMetrics(path); err == nil {
				v.FieldByName("Values").Set(reflect.ValueOf(values))
			}
		}
		return v.Interface(), true, nil
	}
	s, ok := r.Params[in.Name]
	if !ok || (s == "" && in.Optional && in.Default == nil && in.Type.Kind != ir.KindString) {
		return nil, false, nil
	}
	v, err := paramcodec.Decode(s, in.Type.Go)
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func readMetrics(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]float64
	return m, json.Unmarshal(b, &m)
}

func writeOutput(out ir.Port, v any, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if !out.Type.IsArtifact() {
		s, err := paramcodec.Encode(v)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, []byte(s), 0o644)
	}
	rv := reflect.ValueOf(v)
	src := rv.FieldByName("Path").String()
	if src == "" && out.Type.Artifact == "Metrics" {
		b, err := json.MarshalIndent(rv.FieldByName("Values").Interface(), "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	}
	if src == "" {
		return errors.New("artifact has no path: write the file and return its path")
	}
	if src == dst {
		return nil
	}
	_ = os.RemoveAll(dst)
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	return fscopy.Copy(src, dst)
}
