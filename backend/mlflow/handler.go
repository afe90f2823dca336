package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/store"
)

// DefaultNamespace is the namespace requests use when no authentication hook is configured.
const DefaultNamespace = "default"

// NamespaceHeader names the namespace a request acts in when WithAuthorizer is used; without it
// (and without a "namespace" query parameter) the request uses DefaultNamespace. MLflow clients
// do not send it; Kiln's tracking client does.
const NamespaceHeader = "X-Kiln-Namespace"

// Prefixes are the paths under which NewHandler serves the API, as MLflow's server does: the
// REST API and the prefix its web UI calls. A server mounts the handler under each.
var Prefixes = []string{"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"}

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 16 << 20

// Sentinel errors an authentication hook may wrap to choose the answer's status; the REST API's
// api.ErrUnauthenticated and api.ErrPermissionDenied (which the server's Authorizer returns) are
// understood too. Any other error from a hook answers 401 UNAUTHENTICATED.
var (
	// ErrUnauthenticated reports a missing or unknown credential (401 UNAUTHENTICATED).
	ErrUnauthenticated = errors.New("mlflow: unauthenticated")
	// ErrPermissionDenied reports a caller without access to the namespace (403 PERMISSION_DENIED).
	ErrPermissionDenied = errors.New("mlflow: permission denied")
)

// AuthFunc authenticates a request and returns the namespace it acts in.
type AuthFunc func(r *http.Request) (namespace string, err error)

// Authorizer checks a request's access to a namespace and returns its user. It has the method
// set of backend/server.Authorizer, so the server's authorizer can be passed as is.
type Authorizer interface {
	Authorize(r *http.Request, namespace string, write bool) (user string, err error)
}

// Option configures NewHandler.
type Option interface{ apply(*Handler) }

type optionFunc func(*Handler)

func (f optionFunc) apply(h *Handler) { f(h) }

// WithAuth authenticates every request with f; the namespace it returns scopes the request.
// Without an auth option every request acts in DefaultNamespace.
func WithAuth(f AuthFunc) Option {
	return optionFunc(func(h *Handler) {
		h.auth = func(r *http.Request, _ bool) (identity, error) {
			ns, err := f(r)
			return identity{namespace: ns}, err
		}
	})
}

// WithAuthorizer authorizes every request with a for the namespace named by NamespaceHeader (or
// the "namespace" query parameter, or DefaultNamespace), asking for write access on endpoints
// that change state. The user it returns becomes the user_id of runs the request creates.
func WithAuthorizer(a Authorizer) Option {
	return optionFunc(func(h *Handler) {
		h.auth = func(r *http.Request, write bool) (identity, error) {
			ns := r.Header.Get(NamespaceHeader)
			if ns == "" {
				ns = r.URL.Query().Get("namespace")
			}
			if ns == "" {
				ns = DefaultNamespace
			}
			user, err := a.Authorize(r, ns, write)
			return identity{namespace: ns, user: user}, err
		}
	})
}

// WithArtifactRoot sets the root of the artifact URIs given to experiments and runs that do not
// set their own: <root>/<experiment id>/<run id>/artifacts. The default is "mlflow-artifacts:".
func WithArtifactRoot(root string) Option {
	return optionFunc(func(h *Handler) { h.artifactRoot = strings.TrimRight(root, "/") })
}

// Handler serves the MLflow tracking REST API. Create it with NewHandler.
type Handler struct {
	st           store.Store
	log          *slog.Logger
	auth         func(r *http.Request, write bool) (identity, error)
	artifactRoot string
	artifactDir  string
	mux          *http.ServeMux
}

// identity is who a request acts as.
type identity struct {
	namespace string
	user      string
}

// NewHandler returns the MLflow tracking API over st, serving /api/2.0/mlflow/ and
// /ajax-api/2.0/mlflow/. A nil log discards logs.
func NewHandler(st store.Store, log *slog.Logger, opts ...Option) *Handler {
	h := &Handler{st: st, log: log, artifactRoot: "mlflow-artifacts:", mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.auth = func(*http.Request, bool) (identity, error) { return identity{namespace: DefaultNamespace}, nil }
	for _, o := range opts {
		o.apply(h)
	}
	h.routes()
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// endpoint is one MLflow method: it decodes its request into a value it owns and returns the
// response body.
type endpoint func(ctx context.Context, id identity, r *http.Request) (any, error)

// access says whether an endpoint changes state.
type access bool

const (
	read  access = false
	write access = true
)

// handle registers an endpoint under both API prefixes.
func (h *Handler) handle(method, path string, acc access, e endpoint) {
	for _, prefix := range Prefixes {
		h.mux.HandleFunc(method+" "+prefix+path, func(w http.ResponseWriter, r *http.Request) {
			h.serve(w, r, acc, e)
		})
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, acc access, e endpoint) {
	id, err := h.auth(r, bool(acc))
	if err != nil {
		h.writeError(w, r, authError(err))
		return
	}
	if id.namespace == "" {
		id.namespace = DefaultNamespace
	}
	resp, err := e(r.Context(), id, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// authError maps an authentication hook's error to MLflow's codes.
func authError(err error) *apiError {
	if errors.Is(err, ErrPermissionDenied) || errors.Is(err, api.ErrPermissionDenied) {
		return &apiError{code: codePermissionDenied, msg: err.Error()}
	}
	return &apiError{code: codeUnauthenticated, msg: err.Error()}
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, &apiError{code: codeEndpointNotFound, msg: fmt.Sprintf("no MLflow endpoint %s %s", r.Method, r.URL.Path)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error_code":"INTERNAL_ERROR","message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decode reads the request message: query parameters for GET, else the JSON body, or the query
// parameters when the body is empty (some clients send DELETE parameters in the query).
func decode(r *http.Request, v any) error {
	if r.Method != http.MethodGet {
		body, err := readBody(r)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return invalidParam("request body exceeds %d bytes", MaxBodyBytes)
			}
			return &apiError{code: codeBadRequest, msg: fmt.Sprintf("read request body: %v", err)}
		}
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, v); err != nil {
				return &apiError{code: codeBadRequest, msg: fmt.Sprintf("malformed request body: %v", err)}
			}
			return nil
		}
	}
	q := r.URL.Query()
	if len(q) == 0 {
		return nil
	}
	m := make(map[string]any, len(q))
	for k, vs := range q {
		if len(vs) == 1 {
			m[k] = vs[0]
		} else {
			m[k] = vs
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return &apiError{code: codeBadRequest, msg: fmt.Sprintf("query parameters: %v", err)}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &apiError{code: codeBadRequest, msg: fmt.Sprintf("malformed query parameters: %v", err)}
	}
	return nil
}

// readBody reads at most MaxBodyBytes of the request body, in one allocation when the client
// sent a Content-Length.
func readBody(r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(nil, r.Body, MaxBodyBytes)
	if n := r.ContentLength; n > 0 && n <= MaxBodyBytes {
		buf := bytes.NewBuffer(make([]byte, 0, n+1))
		_, err := buf.ReadFrom(body)
		return buf.Bytes(), err
	}
	return io.ReadAll(body)
}

func (h *Handler) routes() {
	h.experimentRoutes()
	h.runRoutes()
	h.trackingRoutes()
	h.registryRoutes()
	h.artifactRoutes()
	for _, prefix := range Prefixes {
		h.mux.HandleFunc(prefix, h.notFound)
	}
}
