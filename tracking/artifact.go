package tracking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
)

// ArtifactTagPrefix starts the run tag that records an artifact when the server has no
// artifact registry: "kiln.artifact.<name>" = its URI.
const ArtifactTagPrefix = "kiln.artifact."

// Artifact is the reference LogArtifact records.
type Artifact struct {
	// ID is the artifact's id in Kiln's registry; empty when it was recorded as a tag.
	ID     string
	Name   string
	URI    string // file:// URI of the absolute path
	Size   int64  // bytes; for a directory, of all its regular files
	Digest string // "sha256:<hex>"; for a directory, over its files' relative paths and digests
}

// LogArtifact records the file or directory at path as an output of the run named name (see the
// package documentation). It sends the buffered params, metrics and tags first, so the server
// sees them in the order they were logged.
func (c *Client) LogArtifact(ctx context.Context, name, path string) (Artifact, error) {
	if name == "" {
		return Artifact{}, errors.New("tracking: artifact name is required")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Artifact{}, fmt.Errorf("tracking: artifact %q: %w", name, err)
	}
	size, digest, err := digestPath(abs)
	if err != nil {
		return Artifact{}, fmt.Errorf("tracking: artifact %q: %w", name, err)
	}
	a := Artifact{Name: name, URI: (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), Size: size, Digest: digest}
	if err := c.Flush(ctx); err != nil {
		return a, err
	}
	req := struct {
		RunID  string `json:"runId"`
		Name   string `json:"name"`
		URI    string `json:"uri"`
		Digest string `json:"digest"`
		Size   int64  `json:"size"`
	}{c.opts.RunID, a.Name, a.URI, a.Digest, a.Size}
	var out struct {
		ID string `json:"id"`
	}
	path = "/api/v1/artifacts"
	if c.opts.Namespace != "" {
		path += "?namespace=" + url.QueryEscape(c.opts.Namespace)
	}
	err = c.call(ctx, http.MethodPost, path, req, &out)
	var se *StatusError
	if errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusMethodNotAllowed) && se.ErrorCode != "NOT_FOUND" {
		// No artifact registry (an MLflow server): keep the reference on the run.
		if err := c.SetTag(ctx, ArtifactTagPrefix+name, a.URI); err != nil {
			return a, err
		}
		return a, c.Flush(ctx)
	}
	if err != nil {
		return a, fmt.Errorf("tracking: record artifact %q: %w", name, err)
	}
	a.ID = out.ID
	return a, nil
}

// digestPath returns the size and SHA-256 digest of a file, or of a directory's regular files.
func digestPath(path string) (int64, string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, "", err
	}
	if !fi.IsDir() {
		n, sum, err := digestFile(path)
		return n, "sha256:" + sum, err
	}
	type entry struct{ rel, sum string }
	var entries []entry
	var total int64
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		n, sum, err := digestFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		entries = append(entries, entry{filepath.ToSlash(rel), sum})
		total += n
		return nil
	})
	if err != nil {
		return 0, "", err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%s  %s\n", e.sum, e.rel)
	}
	return total, "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func digestFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
