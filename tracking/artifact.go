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
	"strings"
)

// ArtifactTagPrefix starts the run tag that records an artifact when the server has no
// artifact registry: "kiln.artifact.<name>" = its URI.
const ArtifactTagPrefix = "kiln.artifact."

// Artifact is the reference LogArtifact records.
type Artifact struct {
	// ID is the artifact's id in Kiln's registry; empty when it was recorded as a tag.
	ID   string
	Name string
	// URI is where the artifact is: its mlflow-artifacts: URI when it was uploaded, else the
	// file:// URI of the absolute local path.
	URI string
	// Uploaded reports whether the bytes were uploaded to the server's artifact proxy.
	Uploaded bool
	Size     int64  // bytes; for a directory, of all its regular files
	Digest   string // "sha256:<hex>"; for a directory, over its files' relative paths and digests
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
	local := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	a := Artifact{Name: name, URI: local, Size: size, Digest: digest}
	if err := c.Flush(ctx); err != nil {
		return a, err
	}
	if !c.opts.NoUpload {
		uri, ok, err := c.upload(ctx, name, abs)
		if err != nil {
			return a, fmt.Errorf("tracking: upload artifact %q: %w", name, err)
		}
		if ok {
			a.URI, a.Uploaded = uri, true
		}
	}
	req := struct {
		RunID    string            `json:"runId"`
		Name     string            `json:"name"`
		URI      string            `json:"uri"`
		Digest   string            `json:"digest"`
		Size     int64             `json:"size"`
		Metadata map[string]string `json:"metadata,omitempty"`
	}{c.opts.RunID, a.Name, a.URI, a.Digest, a.Size, nil}
	if a.Uploaded {
		req.Metadata = map[string]string{"localPath": local}
	}
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

// upload sends the file, or the directory's regular files, to MLflow's artifact proxy under the
// run's artifact URI: a file as <name>/<base name>, a directory's files as <name>/<relative
// path>, as MLflow's log_artifact and log_artifacts do. ok is false when the run's artifacts
// are not on the proxy or the server does not serve it.
func (c *Client) upload(ctx context.Context, name, abs string) (uri string, ok bool, err error) {
	c.uriMu.Lock()
	runURI := c.runURI
	c.uriMu.Unlock()
	if runURI == "" {
		var out struct {
			Run struct {
				Info struct {
					ArtifactURI string `json:"artifact_uri"`
				} `json:"info"`
			} `json:"run"`
		}
		err := c.callBody(ctx, http.MethodGet, "/api/2.0/mlflow/runs/get?run_id="+url.QueryEscape(c.opts.RunID), "application/json",
			func() (io.ReadCloser, int64, error) { return http.NoBody, 0, nil }, &out)
		if err != nil {
			return "", false, err
		}
		runURI = out.Run.Info.ArtifactURI
		c.uriMu.Lock()
		c.runURI = runURI
		c.uriMu.Unlock()
	}
	root, ok := strings.CutPrefix(runURI, "mlflow-artifacts:")
	if !ok {
		return "", false, nil
	}
	dest := strings.Trim(root, "/") + "/" + name
	fi, err := os.Stat(abs)
	if err != nil {
		return "", false, err
	}
	files := map[string]string{} // destination path -> local file
	if fi.IsDir() {
		err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			rel, _ := filepath.Rel(abs, p)
			files[dest+"/"+filepath.ToSlash(rel)] = p
			return nil
		})
		if err != nil {
			return "", false, err
		}
	} else {
		dest += "/" + filepath.Base(abs)
		files[dest] = abs
	}
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, to := range keys {
		from := files[to]
		open := func() (io.ReadCloser, int64, error) {
			f, err := os.Open(from)
			if err != nil {
				return nil, 0, err
			}
			st, err := f.Stat()
			if err != nil {
				f.Close()
				return nil, 0, err
			}
			return f, st.Size(), nil
		}
		err := c.callBody(ctx, http.MethodPut, "/api/2.0/mlflow-artifacts/artifacts/"+escapePath(to), "application/octet-stream", open, nil)
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotFound {
			return "", false, nil // the server does not serve the proxy
		}
		if err != nil {
			return "", false, err
		}
	}
	return "mlflow-artifacts:/" + dest, true, nil
}

// escapePath escapes each segment of a slash-separated path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
