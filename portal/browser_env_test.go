package portal_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/portal"
)

// requireBinary returns the path of the first program found, or skips the test (fails it when
// CI=true) naming the Debian package to install.
func requireBinary(t testing.TB, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found: install the Debian package %q (apt-get install -y %s)", names[0], pkg, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// portalEnv is the real embedded server (SQLite, local engine, notebooks with local Jupyter)
// with the portal mounted at "/" as `kiln server` mounts it, on a loopback port.
type portalEnv struct {
	url string
	c   *client.Client
	srv *server.Server
}

func newPortalEnv(t testing.TB, notebooks bool, configure ...func(*server.Config)) *portalEnv {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := server.Config{DataDir: t.TempDir(), Addr: ln.Addr().String(), APIURL: base, SchedulerInterval: -1, Notebooks: notebooks}
	for _, f := range configure {
		f(&cfg)
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	api := srv.Handler()
	ui := portal.Handler(portal.Options{})
	mux := http.NewServeMux()
	mux.Handle("/", ui)
	for _, p := range []string{"/api/", "/notebook/", "/healthz", "/readyz", "/metrics"} {
		mux.Handle(p, api)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return &portalEnv{url: base, c: client.New(base, client.Options{}), srv: srv}
}

// browser is a headless Chromium tab that fails the test on uncaught JavaScript errors.
type browser struct {
	ctx  context.Context
	t    testing.TB
	dir  string
	mu   sync.Mutex
	errs []string
	reqs []string // URLs of the page's requests since the last resetRequests
}

func newBrowser(t testing.TB, width, height int) *browser {
	t.Helper()
	exe := requireBinary(t, "chromium", "chromium", "chromium-browser")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	dir := os.Getenv("KILN_SCREENSHOTS")
	if dir == "" {
		dir = t.(interface{ ArtifactDir() string }).ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browser{ctx: ctx, t: t, dir: dir}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			// Exceptions and console.error calls of the page; the browser's own log of failed
			// requests (Source "network") is expected when a test provokes an API error.
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source == "") {
				b.mu.Lock()
				b.errs = append(b.errs, m.String())
				b.mu.Unlock()
			}
		}
	}()
	// Record every request the page sends, so tests can count API calls.
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.reqs = append(b.reqs, e.Request.URL)
			b.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("listen to network events: %v", err)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.errs {
			t.Errorf("JavaScript error: %s", e)
		}
	})
	return b
}

// resetRequests forgets the requests recorded so far.
func (b *browser) resetRequests() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reqs = nil
}

// requests returns the paths (with queries) of recorded requests whose path matches re.
func (b *browser) requests(re *regexp.Regexp) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, raw := range b.reqs {
		u, err := url.Parse(raw)
		if err == nil && re.MatchString(u.Path) {
			out = append(out, u.RequestURI())
		}
	}
	return out
}

// do runs actions with a deadline, failing the test (with a screenshot) on error.
func (b *browser) do(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression and returns its value as T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// shot saves a full-page screenshot as <dir>/<name>.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Error(err)
	}
	b.t.Logf("screenshot %s", p)
}

// waitJS polls a JavaScript boolean expression until it is true.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.PollFunction[bool]("() => !!("+expr+")", chromedp.WithPollingInterval(100*time.Millisecond))(ctx, t)
		return chromedp.Void{}, err
	}
}

// css is a CSS selector.
func css(s string) chromedp.CSS { return chromedp.CSS(s) }
