// Package register adds model versions to a model registry and moves an alias (such as
// "production") to a new version when it beats the alias's current version on a chosen
// metric.
//
// Registry is the interface the Register component uses. FileRegistry is a registry in a
// directory, used when no Kiln server is configured: serving loads a model from it by name and
// alias, so the flagship pipeline runs end to end on one machine. Its layout:
//
//	DIR/NAME/versions/N/model.json    the kiln.model/v1 artifact of version N (from 1)
//	DIR/NAME/versions/N/version.json  the Version record: metrics, metadata, creation time
//	DIR/NAME/aliases.json             {"production": N, ...}
package register

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kilnml/kiln/internal/fscopy"
)

// Version is one registered version of a model.
type Version struct {
	// Name is the registered model's name.
	Name string `json:"name"`
	// Version numbers the model's versions from 1.
	Version int `json:"version"`
	// URI locates the model artifact (a file path for FileRegistry).
	URI string `json:"uri"`
	// Metrics are the version's evaluation metrics.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Metadata is free-form: run id, sweep trial, parameters.
	Metadata map[string]string `json:"metadata,omitempty"`
	// Created is when the version was registered.
	Created time.Time `json:"created"`
}

// Registry stores model versions and aliases.
type Registry interface {
	// Register adds a version of model name whose artifact is the file at path.
	Register(ctx context.Context, name, path string, metrics map[string]float64, metadata map[string]string) (Version, error)
	// Alias returns the version alias points at, or ErrNoAlias.
	Alias(ctx context.Context, name, alias string) (Version, error)
	// SetAlias points alias at version.
	SetAlias(ctx context.Context, name, alias string, version int) error
}

// ErrNoAlias is returned by Registry.Alias when the alias is not set.
var ErrNoAlias = errors.New("register: alias not set")

// FileRegistry is a Registry in the directory Dir. It is safe for concurrent registration of
// versions by several processes (version directories are created exclusively); alias updates
// are last-writer-wins.
type FileRegistry struct {
	// Dir is the registry's root directory.
	Dir string
}

var _ Registry = FileRegistry{}

func checkName(name string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("register: model name %q: %v", name, errs)
	}
	return nil
}

// Register copies the artifact at path into the registry as the next version.
func (r FileRegistry) Register(ctx context.Context, name, path string, metrics map[string]float64, metadata map[string]string) (Version, error) {
	if err := checkName(name); err != nil {
		return Version{}, err
	}
	vdir := filepath.Join(r.Dir, name, "versions")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return Version{}, fmt.Errorf("register %s: %w", name, err)
	}
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return Version{}, err
		}
		dir := filepath.Join(vdir, strconv.Itoa(n))
		if err := os.Mkdir(dir, 0o755); errors.Is(err, os.ErrExist) {
			continue
		} else if err != nil {
			return Version{}, fmt.Errorf("register %s: %w", name, err)
		}
		dst := filepath.Join(dir, "model.json")
		if err := fscopy.Copy(path, dst); err != nil {
			return Version{}, fmt.Errorf("register %s version %d: %w", name, n, err)
		}
		v := Version{Name: name, Version: n, URI: dst, Metrics: metrics, Metadata: metadata, Created: time.Now().UTC()}
		if err := writeJSON(filepath.Join(dir, "version.json"), v); err != nil {
			return Version{}, fmt.Errorf("register %s version %d: %w", name, n, err)
		}
		return v, nil
	}
}

// Get returns version n of model name.
func (r FileRegistry) Get(ctx context.Context, name string, n int) (Version, error) {
	var v Version
	if err := readJSON(filepath.Join(r.Dir, name, "versions", strconv.Itoa(n), "version.json"), &v); err != nil {
		return Version{}, fmt.Errorf("get model %s version %d: %w", name, n, err)
	}
	return v, nil
}

func (r FileRegistry) aliases(name string) (map[string]int, error) {
	m := map[string]int{}
	err := readJSON(filepath.Join(r.Dir, name, "aliases.json"), &m)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	return m, err
}

// Alias returns the version alias points at.
func (r FileRegistry) Alias(ctx context.Context, name, alias string) (Version, error) {
	m, err := r.aliases(name)
	if err != nil {
		return Version{}, fmt.Errorf("alias %s@%s: %w", name, alias, err)
	}
	n, ok := m[alias]
	if !ok {
		return Version{}, fmt.Errorf("alias %s@%s: %w", name, alias, ErrNoAlias)
	}
	return r.Get(ctx, name, n)
}

// SetAlias points alias at version, which must exist.
func (r FileRegistry) SetAlias(ctx context.Context, name, alias string, version int) error {
	if _, err := r.Get(ctx, name, version); err != nil {
		return fmt.Errorf("set alias %s@%s: %w", name, alias, err)
	}
	m, err := r.aliases(name)
	if err != nil {
		return fmt.Errorf("set alias %s@%s: %w", name, alias, err)
	}
	m[alias] = version
	path := filepath.Join(r.Dir, name, "aliases.json")
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := writeJSON(tmp, m); err != nil {
		return fmt.Errorf("set alias %s@%s: %w", name, alias, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("set alias %s@%s: %w", name, alias, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
