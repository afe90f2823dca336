package notebooks

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
)

// ProxyHandler returns the handler for /notebook/{namespace}/{name}/…: it checks the caller with
// auth, finds the server through the spawner and forwards HTTP and WebSocket traffic to it.
//
// The Jupyter token is added by the proxy as an "Authorization: token …" header, so it never
// appears in a browser URL, and Jupyter's own XSRF check is satisfied by that token. The client's
// Authorization header and cookies other than Jupyter's own (_xsrf, username-*) are not forwarded,
// so code running in a notebook server never sees Kiln credentials. Requests that can change state
// (non-GET and WebSocket upgrades) from a browser must come from the same origin as the request
// host (or one of Options.AllowedOrigins); the Origin Jupyter sees is rewritten to its own.
func (m *Manager) ProxyHandler(auth Authorizer) http.Handler {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ns, name, ok := parseProxyPath(r.URL.Path)
		if !ok {
			writeError(w, fmt.Errorf("proxy %s: %w", r.URL.Path, ErrNotFound))
			return
		}
		if _, err := auth.Authorize(r, ns); err != nil {
			writeError(w, authError(err))
			return
		}
		if !m.originAllowed(r) {
			writeError(w, fmt.Errorf("%w: origin %q may not use notebooks on %q", ErrForbidden, r.Header.Get("Origin"), r.Host))
			return
		}
		if _, err := m.repo.Get(r.Context(), ns, name); err != nil {
			writeError(w, err)
			return
		}
		target, token, err := m.spawn.Endpoint(r.Context(), ns, name)
		if err != nil {
			if errors.Is(err, ErrNotRunning) {
				err = fmt.Errorf("notebook %s/%s: %w; start it with POST /api/v1/notebooks/%s/%s/start", ns, name, ErrNotRunning, ns, name)
			}
			writeError(w, err)
			return
		}
		rp := &httputil.ReverseProxy{
			Transport:     transport,
			FlushInterval: -1,
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = target.Host
				pr.Out.Header.Del("Authorization")
				if token != "" {
					pr.Out.Header.Set("Authorization", "token "+token)
				}
				filterCookies(pr.Out)
				if pr.Out.Header.Get("Origin") != "" {
					pr.Out.Header.Set("Origin", target.Scheme+"://"+target.Host)
				}
				q := pr.Out.URL.Query()
				if q.Has("token") {
					q.Del("token")
					pr.Out.URL.RawQuery = q.Encode()
				}
			},
			ModifyResponse: func(resp *http.Response) error {
				// Absolute redirects to the server's own address would leave the proxy.
				if loc := resp.Header.Get("Location"); loc != "" {
					origin := target.Scheme + "://" + target.Host
					if strings.HasPrefix(loc, origin) {
						resp.Header.Set("Location", strings.TrimPrefix(loc, origin))
					}
				}
				return nil
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				m.log.Warn("notebook proxy", "namespace", ns, "name", name, "err", err)
				writeJSON(w, http.StatusBadGateway, ErrorResponse{Error: ErrorBody{Code: http.StatusBadGateway,
					Message: fmt.Sprintf("notebook %s/%s does not answer (it may still be starting): %v", ns, name, err)}})
			},
		}
		rp.ServeHTTP(w, r)
	})
}

// parseProxyPath splits /notebook/{namespace}/{name}/… into its parts.
func parseProxyPath(p string) (namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(p, "/notebook/")
	if !found {
		return "", "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// originAllowed protects cookie-authenticated browsers against cross-site requests and WebSocket
// hijacking: a state-changing request or an upgrade that names an Origin must come from the host
// it was sent to or from an allowed origin.
func (m *Manager) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	upgrade := r.Header.Get("Upgrade") != ""
	if origin == "" || (!upgrade && (r.Method == http.MethodGet || r.Method == http.MethodHead)) {
		return true
	}
	if slices.Contains(m.opts.AllowedOrigins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	host := r.Host
	if fwd := r.Header.Get("X-Forwarded-Host"); fwd != "" && m.opts.TrustForwardedHost {
		host = fwd
	}
	return strings.EqualFold(u.Host, host)
}

// filterCookies keeps only the cookies Jupyter itself sets.
func filterCookies(r *http.Request) {
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name == "_xsrf" || strings.HasPrefix(c.Name, "username-") {
			r.AddCookie(c)
		}
	}
}
