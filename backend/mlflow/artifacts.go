package mlflow

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// ArtifactsPrefixes are the paths of MLflow's artifact proxy (mlflow-artifacts), served when
// WithArtifactDir is set. A server mounts the handler under these as well as under Prefixes.
var ArtifactsPrefixes = []string{"/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/"}

// WithArtifactDir serves MLflow's artifact proxy (upload, download, list and delete under
// /api/2.0/mlflow-artifacts/artifacts/) from files under dir, one subdirectory per namespace,
// so MLflow clients can log and load artifacts and models through the server, as with
// "mlflow server --serve-artifacts". The default artifact root "mlflow-artifacts:" points
// clients there.
func WithArtifactDir(dir string) Option {
	return optionFunc(func(h *Handler) { h.artifactDir = dir })
}

func (h *Handler) artifactRoutes() {
	for _, prefix := range ArtifactsPrefixes {
		base := prefix + "artifacts"
		h.mux.HandleFunc("PUT "+base+"/{path...}", h.artifactHandler(write, h.uploadArtifact))
		h.mux.HandleFunc("GET "+base+"/{path...}", h.artifactHandler(read, h.downloadArtifact))
		h.mux.HandleFunc("DELETE "+base+"/{path...}", h.artifactHandler(write, h.deleteArtifact))
		h.mux.HandleFunc("GET "+base, h.artifactHandler(read, h.listArtifacts))
		h.mux.HandleFunc(prefix, h.notFound)
	}
}

// artifactHandler authenticates and resolves the request's path to a file under the
// namespace's directory before calling f.
func (h *Handler) artifactHandler(acc access, f func(w http.ResponseWriter, r *http.Request, file string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.artifactDir == "" {
			h.writeError(w, r, &apiError{code: codeEndpointNotFound, msg: "this server does not serve artifacts"})
			return
		}
		id, err := h.auth(r, bool(acc))
		if err != nil {
			h.writeError(w, r, authError(err))
			return
		}
		if id.namespace == "" {
			id.namespace = DefaultNamespace
		}
		rel := r.PathValue("path")
		if r.Method == http.MethodGet && rel == "" {
			rel = r.URL.Query().Get("path")
		}
		file, err := h.artifactFile(id.namespace, rel)
		if err == nil {
			err = f(w, r, file)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	}
}

// artifactFile maps an artifact path to a file under the namespace's directory, rejecting
// paths that would leave it.
func (h *Handler) artifactFile(namespace, rel string) (string, error) {
	if strings.Contains(namespace, "/") || strings.Contains(namespace, "..") || namespace == "." {
		return "", invalidParam("invalid namespace %q", namespace)
	}
	clean := path.Clean("/" + rel)
	if rel != "" && (strings.Contains(rel, "\\") || path.IsAbs(rel) || clean != "/"+strings.TrimSuffix(rel, "/")) {
		return "", invalidParam("invalid artifact path '%s': it must be relative and must not contain '..'", rel)
	}
	return filepath.Join(h.artifactDir, namespace, filepath.FromSlash(clean)), nil
}

func (h *Handler) uploadArtifact(w http.ResponseWriter, r *http.Request, file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("create artifact directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".upload-*")
	if err != nil {
		return fmt.Errorf("create artifact: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r.Body); err != nil {
		tmp.Close()
		return &apiError{code: codeBadRequest, msg: fmt.Sprintf("read artifact upload: %v", err)}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write artifact: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("store artifact: %w", err)
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (h *Handler) downloadArtifact(w http.ResponseWriter, r *http.Request, file string) error {
	fi, err := os.Stat(file)
	if errors.Is(err, fs.ErrNotExist) || err == nil && fi.IsDir() {
		return notFound("artifact '%s' does not exist", r.PathValue("path"))
	}
	if err != nil {
		return fmt.Errorf("stat artifact: %w", err)
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open artifact: %w", err)
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", fi.ModTime(), f)
	return nil
}

func (h *Handler) deleteArtifact(w http.ResponseWriter, r *http.Request, file string) error {
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return notFound("artifact '%s' does not exist", r.PathValue("path"))
	}
	if err := os.RemoveAll(file); err != nil {
		return fmt.Errorf("delete artifact: %w", err)
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

type fileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize int64  `json:"file_size,omitempty"`
}

// listArtifacts lists one directory; entries are named by their base name, as MLflow's proxy
// does. A missing directory lists nothing.
func (h *Handler) listArtifacts(w http.ResponseWriter, r *http.Request, dir string) error {
	out := struct {
		Files []fileInfo `json:"files"`
	}{Files: []fileInfo{}}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist), err == nil && !fi.IsDir():
		writeJSON(w, http.StatusOK, out)
		return nil
	case err != nil:
		return fmt.Errorf("list artifacts: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list artifacts: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".upload-") {
			continue
		}
		fi := fileInfo{Path: e.Name(), IsDir: e.IsDir()}
		if !e.IsDir() {
			if info, err := e.Info(); err == nil {
				fi.FileSize = info.Size()
			}
		}
		out.Files = append(out.Files, fi)
	}
	sort.Slice(out.Files, func(i, j int) bool { return out.Files[i].Path < out.Files[j].Path })
	writeJSON(w, http.StatusOK, out)
	return nil
}
