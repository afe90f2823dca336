package notebooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Repository keeps notebook records. The backend implements it on its store (SQLite/PostgreSQL);
// FileRepository is a JSON-file implementation for the embedded default and for tests.
// Implementations must be safe for concurrent use and return copies, never shared pointers.
type Repository interface {
	// Create stores a new record; it returns an error wrapping ErrAlreadyExists if one exists.
	Create(ctx context.Context, nb *Notebook) error
	// Get returns a record or an error wrapping ErrNotFound.
	Get(ctx context.Context, namespace, name string) (*Notebook, error)
	// List returns the records of a namespace ("" for all namespaces), sorted by namespace and name.
	List(ctx context.Context, namespace string) ([]*Notebook, error)
	// Update replaces an existing record; it returns an error wrapping ErrNotFound if there is none.
	Update(ctx context.Context, nb *Notebook) error
	// Delete removes a record; it returns an error wrapping ErrNotFound if there is none.
	Delete(ctx context.Context, namespace, name string) error
}

// FileRepository stores each notebook as Dir/<namespace>/<name>.json, written atomically.
// It is meant for one server process; the zero value is not usable, use NewFileRepository.
type FileRepository struct {
	dir string
	mu  sync.Mutex
}

var _ Repository = (*FileRepository)(nil)

// NewFileRepository returns a repository rooted at dir, creating it if needed.
func NewFileRepository(dir string) (*FileRepository, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create notebook repository %s: %w", dir, err)
	}
	return &FileRepository{dir: dir}, nil
}

func (r *FileRepository) file(namespace, name string) string {
	return filepath.Join(r.dir, namespace, name+".json")
}

// Create implements Repository.
func (r *FileRepository) Create(ctx context.Context, nb *Notebook) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := os.Stat(r.file(nb.Namespace, nb.Name)); err == nil {
		return fmt.Errorf("create notebook %s/%s: %w", nb.Namespace, nb.Name, ErrAlreadyExists)
	}
	return r.write(nb)
}

// Get implements Repository.
func (r *FileRepository) Get(ctx context.Context, namespace, name string) (*Notebook, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.read(r.file(namespace, name))
}

// List implements Repository.
func (r *FileRepository) List(ctx context.Context, namespace string) ([]*Notebook, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pattern := filepath.Join(r.dir, "*", "*.json")
	if namespace != "" {
		pattern = filepath.Join(r.dir, namespace, "*.json")
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("list notebooks: %w", err)
	}
	sort.Strings(files)
	out := make([]*Notebook, 0, len(files))
	for _, f := range files {
		nb, err := r.read(f)
		if err != nil {
			return nil, err
		}
		out = append(out, nb)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Update implements Repository.
func (r *FileRepository) Update(ctx context.Context, nb *Notebook) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := os.Stat(r.file(nb.Namespace, nb.Name)); err != nil {
		return fmt.Errorf("update notebook %s/%s: %w", nb.Namespace, nb.Name, ErrNotFound)
	}
	return r.write(nb)
}

// Delete implements Repository.
func (r *FileRepository) Delete(ctx context.Context, namespace, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := os.Remove(r.file(namespace, name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete notebook %s/%s: %w", namespace, name, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete notebook %s/%s: %w", namespace, name, err)
	}
	return nil
}

func (r *FileRepository) read(file string) (*Notebook, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		id := strings.TrimSuffix(strings.TrimPrefix(file, r.dir+string(filepath.Separator)), ".json")
		return nil, fmt.Errorf("notebook %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read notebook record: %w", err)
	}
	var nb Notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		return nil, fmt.Errorf("decode notebook record %s: %w", file, err)
	}
	return &nb, nil
}

func (r *FileRepository) write(nb *Notebook) error {
	file := r.file(nb.Namespace, nb.Name)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("write notebook %s/%s: %w", nb.Namespace, nb.Name, err)
	}
	b, err := json.MarshalIndent(nb, "", "  ")
	if err != nil {
		return fmt.Errorf("encode notebook %s/%s: %w", nb.Namespace, nb.Name, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write notebook %s/%s: %w", nb.Namespace, nb.Name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write notebook %s/%s: %w", nb.Namespace, nb.Name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write notebook %s/%s: %w", nb.Namespace, nb.Name, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("write notebook %s/%s: %w", nb.Namespace, nb.Name, err)
	}
	return nil
}
