package local

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/internal/fscopy"
)

// memoCache stores memoized template outputs on disk. Argo keeps them in a
// ConfigMap named by memoize.cache.configMap.name, one entry per resolved
// memoize.key; locally that is a directory per cache name and a directory per
// key (hashed, so any key is a valid file name).
type memoCache struct {
	root string
	mu   sync.Mutex
}

type memoEntry struct {
	c         *memoCache
	cacheName string
	key       string
	maxAge    time.Duration
	dir       string
}

// memoRecord is the JSON stored for one entry.
type memoRecord struct {
	Key       string        `json:"key"`
	CreatedAt time.Time     `json:"createdAt"`
	Outputs   *wfv1.Outputs `json:"outputs,omitempty"`
}

func (c *memoCache) entry(m *wfv1.Memoize) *memoEntry {
	name := "default"
	if m.Cache != nil && m.Cache.ConfigMap != nil && m.Cache.ConfigMap.Name != "" {
		name = m.Cache.ConfigMap.Name
	}
	sum := sha256.Sum256([]byte(m.Key))
	e := &memoEntry{c: c, cacheName: name, key: m.Key, dir: filepath.Join(c.root, safeName(name), hex.EncodeToString(sum[:]))}
	if m.MaxAge != "" {
		if d, err := parseMaxAge(m.MaxAge); err == nil {
			e.maxAge = d
		}
	}
	return e
}

// parseMaxAge accepts Go durations plus a "d" (days) suffix.
func parseMaxAge(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		d, err := parseDuration(strings.TrimSuffix(s, "d"))
		return d * 24 * 60 * 60, err
	}
	return parseDuration(s)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
}

// load returns the cached outputs when the entry exists and is young enough.
// Stored artifacts are copied into the run so the run owns its files.
func (e *memoEntry) load(r *run) (*wfv1.Outputs, bool) {
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	b, err := os.ReadFile(filepath.Join(e.dir, "entry.json"))
	if err != nil {
		return nil, false
	}
	var rec memoRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.Key != e.key {
		return nil, false
	}
	if e.maxAge > 0 && time.Since(rec.CreatedAt) > e.maxAge {
		return nil, false
	}
	out := rec.Outputs
	if out == nil {
		return &wfv1.Outputs{}, true
	}
	for i, a := range out.Artifacts {
		src := filepath.Join(e.dir, "artifacts", a.Name)
		dst := filepath.Join(r.dir, "artifacts", "memo-"+filepath.Base(e.dir), a.Name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, false
		}
		if _, err := os.Stat(dst); err != nil {
			if err := fscopy.Copy(src, dst); err != nil {
				return nil, false
			}
		}
		out.Artifacts[i] = localArtifact(a, dst)
	}
	return out, true
}

// store saves a succeeded node's outputs, copying its artifacts.
func (e *memoEntry) store(r *run, out *wfv1.Outputs) error {
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	tmp := e.dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Join(tmp, "artifacts"), 0o755); err != nil {
		return fmt.Errorf("create cache entry: %w", err)
	}
	rec := memoRecord{Key: e.key, CreatedAt: time.Now(), Outputs: out.DeepCopy()}
	if rec.Outputs != nil {
		for _, a := range rec.Outputs.Artifacts {
			if a.HTTP == nil || !strings.HasPrefix(a.HTTP.URL, "file://") {
				continue
			}
			if err := fscopy.Copy(strings.TrimPrefix(a.HTTP.URL, "file://"), filepath.Join(tmp, "artifacts", a.Name)); err != nil {
				return fmt.Errorf("cache artifact %s: %w", a.Name, err)
			}
		}
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "entry.json"), b, 0o644); err != nil {
		return err
	}
	_ = os.RemoveAll(e.dir)
	return os.Rename(tmp, e.dir)
}
