package portal

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// DefaultAPIBase is where the pages find the REST API when Options.APIBase is empty.
const DefaultAPIBase = "/api/v1"

// Options configures Handler. The zero value serves the portal for an API at /api/v1 on the
// same origin.
type Options struct {
	// Title is shown in the header and the browser tab; empty means "Kiln".
	Title string
	// APIBase is the URL path prefix of the REST API; empty means DefaultAPIBase.
	APIBase string
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// file is one embedded asset with its precomputed validator.
type file struct {
	body        []byte
	etag        string
	contentType string
}

type handler struct {
	index []byte
	files map[string]file
	log   *slog.Logger
}

// Handler returns the portal's http.Handler: "/" (and "/index.html") is the single page, other
// paths are the embedded assets, POST GraphPath computes a pipeline's task graph; anything else
// is 404 (or 405 for other methods).
func Handler(opts Options) http.Handler {
	if opts.Title == "" {
		opts.Title = "Kiln"
	}
	if opts.APIBase == "" {
		opts.APIBase = DefaultAPIBase
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{files: map[string]file{}, log: log}
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(fmt.Sprintf("portal: embedded assets: %v", err)) // the directory is compiled in
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		if p == "index.html" {
			h.index = renderIndex(b, opts)
			b = h.index
		}
		h.files["/"+p] = newFile(p, b)
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("portal: embedded assets: %v", err))
	}
	return h
}

func newFile(name string, b []byte) file {
	sum := sha256.Sum256(b)
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) { // do not depend on the host's mime.types for the essentials
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	return file{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, contentType: ct}
}

// renderIndex fills the title and API base into the index page.
func renderIndex(b []byte, opts Options) []byte {
	t, err := template.New("index").Parse(string(b))
	if err != nil {
		panic(fmt.Sprintf("portal: index.html: %v", err))
	}
	var out bytes.Buffer
	if err := t.Execute(&out, opts); err != nil {
		panic(fmt.Sprintf("portal: index.html: %v", err))
	}
	return out.Bytes()
}

// contentSecurityPolicy allows only this origin: no CDN, no inline script, no external fonts.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == GraphPath && r.Method == http.MethodPost {
		h.serveGraph(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/" || p == "" {
		p = "/index.html"
	}
	f, ok := h.files[p]
	if !ok || strings.Contains(p, "..") {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.contentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	// Assets are small and change with the binary: revalidate every time, answer 304 cheaply.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", fmt.Sprint(len(f.body)))
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(f.body); err != nil {
		h.log.DebugContext(r.Context(), "portal: write", "path", p, "err", err)
	}
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
