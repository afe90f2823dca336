package portal_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/portal"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(portal.Handler(portal.Options{Title: "Kiln <test>", APIBase: "/api/v1"}))
	defer srv.Close()
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantType           string
		wantBody           []string
	}{
		{name: "index", method: "GET", path: "/", wantStatus: 200, wantType: "text/html; charset=utf-8",
			wantBody: []string{`<title>Kiln &lt;test&gt;</title>`, `content="/api/v1"`, `src="/js/app.js"`}},
		{name: "index by name", method: "GET", path: "/index.html", wantStatus: 200, wantType: "text/html; charset=utf-8"},
		{name: "module", method: "GET", path: "/js/app.js", wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantBody: []string{"hashchange"}},
		{name: "stylesheet", method: "GET", path: "/app.css", wantStatus: 200, wantType: "text/css; charset=utf-8"},
		{name: "icon", method: "GET", path: "/favicon.svg", wantStatus: 200, wantType: "image/svg+xml"},
		{name: "head", method: "HEAD", path: "/js/dag.js", wantStatus: 200, wantType: "text/javascript; charset=utf-8"},
		{name: "unknown", method: "GET", path: "/nope.js", wantStatus: 404},
		{name: "api is not ours", method: "GET", path: "/api/v1/runs", wantStatus: 404},
		{name: "post refused", method: "POST", path: "/", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if tt.wantType != "" {
				if d := cmp.Diff(tt.wantType, res.Header.Get("Content-Type")); d != "" {
					t.Errorf("Content-Type (-want +got):\n%s", d)
				}
				if !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
					t.Errorf("CSP = %q", res.Header.Get("Content-Security-Policy"))
				}
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(string(body), w) {
					t.Errorf("body lacks %q", w)
				}
			}
		})
	}
}

func TestConditionalGet(t *testing.T) {
	h := portal.Handler(portal.Options{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/js/lib.js", nil))
	etag := rec.Header().Get("ETag")
	if rec.Code != 200 || etag == "" {
		t.Fatalf("first GET: %d, ETag %q", rec.Code, etag)
	}
	for _, tt := range []struct {
		name, match string
		want        int
	}{
		{"same", etag, http.StatusNotModified},
		{"weak", "W/" + etag, http.StatusNotModified},
		{"list", `"x", ` + etag, http.StatusNotModified},
		{"other", `"stale"`, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/js/lib.js", nil)
			req.Header.Set("If-None-Match", tt.match)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
		})
	}
}

// TestNoExternalReferences keeps the portal offline: no asset may load from another origin.
func TestNoExternalReferences(t *testing.T) {
	h := portal.Handler(portal.Options{})
	for _, p := range []string{"/", "/app.css", "/js/app.js", "/js/lib.js", "/js/runs.js", "/js/dag.js", "/js/charts.js",
		"/js/pipelines.js", "/js/experiments.js", "/js/models.js", "/js/notebooks.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != 200 {
			t.Errorf("%s: status %d", p, rec.Code)
			continue
		}
		body := rec.Body.String()
		for _, bad := range []string{"http://", "https://", "//cdn", "@import url("} {
			// The SVG namespace URI is an identifier, not a fetch.
			body = strings.ReplaceAll(body, "http://www.w3.org/2000/svg", "")
			if strings.Contains(body, bad) {
				t.Errorf("%s refers to %q", p, bad)
			}
		}
	}
}
