package api

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/artifactstore"
	"github.com/kilnml/kiln/backend/store"
)

// Headers of artifact content answers.
const (
	// HeaderArtifactSize is the full size in bytes of the file served, before any maxBytes cut.
	HeaderArtifactSize = "X-Kiln-Artifact-Size"
	// HeaderTruncated is "true" when maxBytes cut the content short.
	HeaderTruncated = "X-Kiln-Truncated"
	// HeaderArtifactKind is "file", or "directory"/"archive" for a JSON listing of entries.
	HeaderArtifactKind = "X-Kiln-Artifact-Kind"
)

// ArtifactListing is the answer for an artifact that holds several files: a directory (the local
// engine's directory outputs, or keys under a prefix) or a .tgz archive with more than one
// file. Fetch one entry with ?entry=PATH.
type ArtifactListing struct {
	Name      string          `json:"name"`
	Kind      string          `json:"kind"` // "directory" or "archive"
	Entries   []ArtifactEntry `json:"entries"`
	Truncated bool            `json:"truncated,omitempty"`
}

// ArtifactEntry is one file of an ArtifactListing; Path is relative to the artifact.
type ArtifactEntry struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

func (h *Handler) registerArtifactContentRoutes() {
	h.handle("GET /api/v1/runs/{id}/nodes/{node}/artifacts/{name}", h.runArtifactContent)
	h.handle("GET /api/v1/artifacts/{id}/content", h.artifactContent)
}

// contentQuery holds the query parameters shared by the content routes.
type contentQuery struct {
	maxBytes int64  // 0: no limit
	entry    string // a file inside a directory or archive
	raw      bool   // the stored object as is (an archive is not opened)
}

func parseContentQuery(r *http.Request) (contentQuery, error) {
	var q contentQuery
	if s := r.URL.Query().Get("maxBytes"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return q, invalid("maxBytes", "must be a positive integer, got %q", s)
		}
		q.maxBytes = n
	}
	if e := r.URL.Query().Get("entry"); e != "" {
		clean := strings.TrimPrefix(path.Clean("/"+e), "/")
		for _, seg := range strings.Split(e, "/") {
			if seg == ".." {
				return q, invalid("entry", "must be a relative path inside the artifact, got %q", e)
			}
		}
		if clean == "" {
			return q, invalid("entry", "must name a file, got %q", e)
		}
		q.entry = clean
	}
	var err error
	if q.raw, err = queryBool(r, "raw"); err != nil {
		return q, err
	}
	if q.raw && q.entry != "" {
		return q, invalid("raw", "cannot be combined with entry")
	}
	return q, nil
}

// runArtifactContent serves an output artifact of a run's node, found by the node's ID, name or
// display name and the artifact's name.
func (h *Handler) runArtifactContent(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	q, err := parseContentQuery(r)
	if err != nil {
		return err
	}
	id, nodeRef, name := r.PathValue("id"), r.PathValue("node"), r.PathValue("name")
	ctx := r.Context()
	if _, err := h.runInNamespace(ctx, ns, id); err != nil {
		return err
	}
	a, node, err := h.nodeArtifact(ctx, id, nodeRef, name)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("artifact %q of node %q in run %q", name, node, id)
	if a.Raw != nil {
		return serveReader(w, strings.NewReader(a.Raw.Data), name, int64(len(a.Raw.Data)), "", q.maxBytes)
	}
	uri, err := artifactstore.ArtifactURI(a)
	if err != nil {
		if errors.Is(err, artifactstore.ErrUnsupported) {
			return invalid("name", "%s: %v", what, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return h.serveArtifact(w, r, target{what: what, name: name, uri: uri, pathHint: a.Path}, q)
}

// nodeArtifact finds the output artifact name of the node nodeRef (ID, name or display name).
func (h *Handler) nodeArtifact(ctx context.Context, runID, nodeRef, name string) (*wfv1.Artifact, string, error) {
	nodes, err := h.st.ListNodes(ctx, runID)
	if err != nil {
		return nil, "", fmt.Errorf("nodes of run %q: %w", runID, err)
	}
	var node *store.Node
	for i := range nodes {
		if n := &nodes[i]; n.ID == nodeRef || n.Name == nodeRef || n.DisplayName == nodeRef {
			node = n
			break
		}
	}
	if node == nil {
		return nil, "", notFound("node %q not found in run %q", nodeRef, runID)
	}
	var out wfv1.Outputs
	if len(node.Outputs) > 0 && string(node.Outputs) != "null" {
		if err := json.Unmarshal(node.Outputs, &out); err != nil {
			return nil, "", fmt.Errorf("outputs of node %q in run %q: %w", nodeRef, runID, err)
		}
	}
	for i := range out.Artifacts {
		if out.Artifacts[i].Name == name {
			return &out.Artifacts[i], nodeRef, nil
		}
	}
	return nil, "", notFound("artifact %q is not an output of node %q in run %q", name, nodeRef, runID)
}

// artifactContent serves the content of a tracked or registered artifact from its URI.
func (h *Handler) artifactContent(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	q, err := parseContentQuery(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	a, err := h.st.GetArtifact(r.Context(), ns, id)
	if err != nil {
		return fmt.Errorf("artifact %q: %w", id, err)
	}
	name := a.Name
	if name == "" {
		name = id
	}
	what, uri := fmt.Sprintf("artifact %q", id), a.URI
	if h.artifacts != nil && strings.HasPrefix(uri, artifactstore.MLflowScheme+":") {
		// Uploaded by the tracking client through MLflow's artifact proxy.
		if uri, err = h.artifacts.MLflowURI(a.Namespace, uri); err != nil {
			return storeError(what, err)
		}
	}
	return h.serveArtifact(w, r, target{what: what, name: name, uri: uri}, q)
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

// storeError maps an artifact store error about what to an API error.
func storeError(what string, err error) error {
	switch {
	case errors.Is(err, artifactstore.ErrNotFound):
		return notFound("%s: not found in the artifact store", what)
	case errors.Is(err, artifactstore.ErrForbidden):
		return &Error{Status: http.StatusForbidden, Code: CodePermissionDenied, Message: fmt.Sprintf("%s: its location is outside the directories this server serves", what)}
	case errors.Is(err, artifactstore.ErrUnsupported), errors.Is(err, artifactstore.ErrInvalidURI):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidArgument, Message: fmt.Sprintf("%s: %v", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// serveArtifact answers with the artifact at uri: the file itself; for a directory or an archive
// of several files a JSON listing, or the file ?entry= names; an archive of one file is opened
// and that file served, unless ?raw=true asks for the archive itself.
func (h *Handler) serveArtifact(w http.ResponseWriter, r *http.Request, t target, q contentQuery) error {
	what, name, uri := t.what, t.name, t.uri
	if h.artifacts == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeInternal, Message: "this server has no artifact store configured"}
	}
	ctx := r.Context()
	obj, err := h.artifacts.Stat(ctx, uri)
	if err != nil {
		return storeError(what, err)
	}
	if obj.Dir {
		if q.raw {
			return h.serveDirArchive(w, r, t, q)
		}
		if q.entry != "" {
			return h.serveObject(w, r, what+" entry "+strconv.Quote(q.entry), path.Base(q.entry), artifactstore.Join(uri, q.entry), q.maxBytes)
		}
		objs, truncated, err := h.artifacts.List(ctx, uri)
		if err != nil {
			return storeError(what, err)
		}
		l := ArtifactListing{Name: name, Kind: "directory", Truncated: truncated, Entries: make([]ArtifactEntry, 0, len(objs))}
		for _, o := range objs {
			l.Entries = append(l.Entries, ArtifactEntry{Path: o.Path, Size: o.Size})
		}
		w.Header().Set(HeaderArtifactKind, l.Kind)
		writeJSON(w, http.StatusOK, l)
		return nil
	}
	key := uriPath(uri)
	if q.raw || !artifactstore.IsArchive(key) {
		if q.entry != "" {
			return invalid("entry", "%s is a single file, not a directory or an archive", what)
		}
		return h.serveObject(w, r, what, fileName(name, key, t.pathHint), uri, q.maxBytes)
	}
	entry := q.entry
	if entry == "" {
		rc, _, err := h.artifacts.Open(ctx, uri)
		if err != nil {
			return storeError(what, err)
		}
		entries, truncated, err := artifactstore.TarEntries(rc)
		rc.Close()
		if err != nil {
			// Named like an archive but not one that reads: serve the bytes as stored.
			h.log.WarnContext(ctx, "artifact is not a readable .tgz; serving it as stored", "artifact", what, "err", err)
			return h.serveObject(w, r, what, fileName(name, key, t.pathHint), uri, q.maxBytes)
		}
		if len(entries) != 1 {
			l := ArtifactListing{Name: name, Kind: "archive", Truncated: truncated, Entries: make([]ArtifactEntry, 0, len(entries))}
			for _, e := range entries {
				l.Entries = append(l.Entries, ArtifactEntry{Path: e.Path, Size: e.Size})
			}
			w.Header().Set(HeaderArtifactKind, l.Kind)
			writeJSON(w, http.StatusOK, l)
			return nil
		}
		entry = entries[0].Path
	}
	rc, _, err := h.artifacts.Open(ctx, uri)
	if err != nil {
		return storeError(what, err)
	}
	defer rc.Close()
	er, e, err := artifactstore.OpenTarEntry(rc, entry)
	if errors.Is(err, artifactstore.ErrNotFound) {
		return notFound("%s: no entry %q in its archive", what, entry)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return serveReader(w, er, path.Base(e.Path), e.Size, "", q.maxBytes)
}

// serveDirArchive streams a directory artifact as a gzipped tar archive built on the fly, the
// form Argo would have stored it in, named NAME.tgz. Its size is not known in advance, so the
// answer has no Content-Length and maxBytes does not apply.
func (h *Handler) serveDirArchive(w http.ResponseWriter, r *http.Request, t target, q contentQuery) error {
	if q.maxBytes > 0 {
		return invalid("maxBytes", "cannot be combined with raw for %s, a directory", t.what)
	}
	ctx := r.Context()
	objs, truncated, err := h.artifacts.List(ctx, t.uri)
	if err != nil {
		return storeError(t.what, err)
	}
	if truncated {
		return invalid("raw", "%s has more than %d files; fetch them by entry", t.what, artifactstore.MaxListEntries)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/gzip")
	hd.Set(HeaderArtifactKind, "file")
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": t.name + ".tgz"}))
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, o := range objs {
		if err := copyTarEntry(ctx, h.artifacts, tw, o); err != nil {
			// The status is sent: log and end the stream short, which the client sees as a
			// truncated archive.
			h.log.WarnContext(ctx, "artifact archive stream ended", "artifact", t.what, "entry", o.Path, "err", err)
			return nil
		}
	}
	if err := tw.Close(); err != nil {
		return nil
	}
	_ = gz.Close()
	return nil
}

func copyTarEntry(ctx context.Context, st *artifactstore.Store, tw *tar.Writer, o artifactstore.Object) error {
	rc, obj, err := st.Open(ctx, o.URI)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := tw.WriteHeader(&tar.Header{Name: o.Path, Mode: 0o644, Size: obj.Size, ModTime: obj.ModTime, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.CopyN(tw, rc, obj.Size)
	return err
}

// serveObject streams the object at uri.
func (h *Handler) serveObject(w http.ResponseWriter, r *http.Request, what, name, uri string, maxBytes int64) error {
	rc, obj, err := h.artifacts.Open(r.Context(), uri)
	if err != nil {
		return storeError(what, err)
	}
	defer rc.Close()
	return serveReader(w, rc, name, obj.Size, obj.ContentType, maxBytes)
}

// contentTypes fixes the types of the files pipelines usually produce, so answers do not
// depend on the host's mime.types (which calls .log "text/x-log" on some systems).
var contentTypes = map[string]string{
	".json": "application/json", ".jsonl": "application/jsonl", ".csv": "text/csv; charset=utf-8",
	".tsv": "text/tab-separated-values; charset=utf-8", ".txt": "text/plain; charset=utf-8",
	".log": "text/plain; charset=utf-8", ".md": "text/plain; charset=utf-8", ".yaml": "text/plain; charset=utf-8",
	".yml": "text/plain; charset=utf-8", ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml",
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
	".pdf": "application/pdf", ".tgz": "application/gzip", ".gz": "application/gzip", ".tar": "application/x-tar",
	".zip": "application/zip", ".parquet": "application/vnd.apache.parquet",
}

// serveReader writes size bytes of r (at most maxBytes when positive) as the file name. The
// content type comes from the name's extension, else the stored type, else sniffing. Content is
// sandboxed (CSP) and never sniffed by browsers, so an HTML or SVG artifact cannot run script in
// the portal's origin.
func serveReader(w http.ResponseWriter, r io.Reader, name string, size int64, storedType string, maxBytes int64) error {
	br := bufio.NewReaderSize(r, 512)
	ctype := contentTypes[strings.ToLower(path.Ext(name))]
	if ctype == "" {
		ctype = mime.TypeByExtension(path.Ext(name))
	}
	if ctype == "" && storedType != "" && storedType != "application/octet-stream" {
		ctype = storedType
	}
	if ctype == "" {
		head, _ := br.Peek(512)
		ctype = http.DetectContentType(head)
	}
	n := size
	truncated := maxBytes > 0 && size > maxBytes
	if truncated {
		n = maxBytes
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Length", strconv.FormatInt(n, 10))
	hd.Set(HeaderArtifactSize, strconv.FormatInt(size, 10))
	hd.Set(HeaderArtifactKind, "file")
	if truncated {
		hd.Set(HeaderTruncated, "true")
	}
	hd.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": name}))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'")
	w.WriteHeader(http.StatusOK)
	_, _ = io.CopyN(w, br, n) // the status is sent: a broken stream ends the response short
	return nil
}

// uriPath returns the path part of a URI (a bare key is its own path).
func uriPath(uri string) string {
	if u, err := url.Parse(uri); err == nil && u.Scheme != "" {
		return u.Path
	}
	return uri
}

// target is an artifact to serve.
type target struct {
	what     string // how errors name it: `artifact "model" of node "train" in run "…"`
	name     string // the artifact's name
	uri      string // its location in the artifact store
	pathHint string // the path it was written at (Argo's artifact path), when known
}

// fileName is the name a served file gets, whose extension picks its content type: the base of
// its key when that has an extension, else the base of the path the step wrote it at (the local
// engine stores a file artifact under the artifact's name), else the key's base or the name.
func fileName(name, key, pathHint string) string {
	b := path.Base(key)
	if b == "." || b == "/" || b == "" {
		b = name
	}
	if path.Ext(b) == "" && pathHint != "" && path.Ext(pathHint) != "" {
		return path.Base(pathHint)
	}
	return b
}
