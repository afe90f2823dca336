package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kilnml/kiln/artifactstore"
	"github.com/kilnml/kiln/backend/runs"
	"github.com/kilnml/kiln/backend/store"
)

// DefaultMaxBodyBytes bounds request bodies when Options.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 32 << 20

// DefaultNamespace is the namespace of requests that name none.
const DefaultNamespace = "default"

// LocalUser is the user of every request when authentication is disabled.
const LocalUser = "local"

// Options configures a Handler.
type Options struct {
	Store store.Store
	Runs  *runs.Manager
	// Logger receives request diagnostics; nil discards them.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// AuthDisabled makes every request the LocalUser with access to every namespace: the
	// embedded single-user default on loopback. Otherwise requests need a bearer token known to
	// the store, and a membership of the namespace they act on.
	AuthDisabled bool
	// Artifacts reads run and registry artifacts for the content routes; nil answers them 503.
	Artifacts *artifactstore.Store
}

// Handler serves the REST API under /api/v1.
type Handler struct {
	st      store.Store
	runs    *runs.Manager
	log     *slog.Logger
	maxBody int64
	noAuth  bool
	mux     *http.ServeMux
	routes  []string
	// artifacts serves artifact content (artifactcontent.go).
	artifacts *artifactstore.Store
}

// New returns the API handler.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil || opts.Runs == nil {
		return nil, errors.New("api: Options.Store and Options.Runs are required")
	}
	h := &Handler{st: opts.Store, runs: opts.Runs, log: logger(opts.Logger), maxBody: opts.MaxBodyBytes, noAuth: opts.AuthDisabled, mux: http.NewServeMux()}
	h.artifacts = opts.Artifacts
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	h.registerRoutes()
	h.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
	})
	return h, nil
}

// Routes returns the patterns the handler serves, such as "GET /api/v1/runs/{id}".
func (h *Handler) Routes() []string { return slices.Clone(h.routes) }

// ServeHTTP bounds the request body and dispatches to the route.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) handle(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
	h.routes = append(h.routes, pattern)
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// access is what a request needs in its namespace.
type access int

const (
	read access = iota
	write
)

// authorize authenticates r and checks the caller's role in namespace.
func (h *Handler) authorize(r *http.Request, namespace string, need access) (string, error) {
	if h.noAuth {
		return LocalUser, nil
	}
	user, err := h.authenticate(r)
	if err != nil {
		return "", err
	}
	ms, err := h.st.UserNamespaces(r.Context(), user)
	if err != nil {
		return "", fmt.Errorf("namespaces of %q: %w", user, err)
	}
	for _, m := range ms {
		if m.Namespace == namespace {
			if need == write && m.Role == store.RoleViewer {
				return "", fmt.Errorf("user %q may only read namespace %q: %w", user, namespace, ErrPermissionDenied)
			}
			return user, nil
		}
	}
	return "", fmt.Errorf("user %q has no access to namespace %q: %w", user, namespace, ErrPermissionDenied)
}

// authenticate maps the bearer token of r to its user.
func (h *Handler) authenticate(r *http.Request) (string, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return "", fmt.Errorf("missing bearer token: %w", ErrUnauthenticated)
	}
	t, err := h.st.LookupToken(r.Context(), HashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("unknown or expired token: %w", ErrUnauthenticated)
	}
	if err != nil {
		return "", fmt.Errorf("look up token: %w", err)
	}
	return t.User, nil
}

// Authenticate returns the user of r's bearer token, or LocalUser when authentication is
// disabled.
func (h *Handler) Authenticate(r *http.Request) (string, error) {
	if h.noAuth {
		return LocalUser, nil
	}
	return h.authenticate(r)
}

// HashToken returns the hex SHA-256 of a bearer token, the form the store keeps.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Authorize checks that r's caller may use namespace (write: create and change things); it
// returns the user. It lets other handlers mounted next to the API (notebooks, MLflow) share
// its authentication.
func (h *Handler) Authorize(r *http.Request, namespace string, needWrite bool) (string, error) {
	need := read
	if needWrite {
		need = write
	}
	return h.authorize(r, namespace, need)
}

// namespace returns the request's namespace (query parameter "namespace") after authorizing
// the caller for it.
func (h *Handler) namespace(r *http.Request, need access) (ns, user string, err error) {
	ns = r.URL.Query().Get("namespace")
	if ns == "" {
		ns = DefaultNamespace
	}
	user, err = h.authorize(r, ns, need)
	return ns, user, err
}

// listOptions parses pageSize, pageToken and orderBy query parameters.
// listRequest reads the namespace (with read access) and the paging options of a list request.
func (h *Handler) listRequest(r *http.Request) (string, store.ListOptions, error) {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return "", store.ListOptions{}, err
	}
	opts, err := listOptions(r, ns)
	return ns, opts, err
}

// convert maps stored items to their API form; the result is never nil, so an empty list
// encodes as [].
func convert[S, O any](items []S, f func(S) O) []O {
	out := make([]O, 0, len(items))
	for _, it := range items {
		out = append(out, f(it))
	}
	return out
}

func listOptions(r *http.Request, ns string) (store.ListOptions, error) {
	q := r.URL.Query()
	o := store.ListOptions{Namespace: ns, OrderBy: q.Get("orderBy"), PageToken: q.Get("pageToken")}
	if s := q.Get("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return o, invalid("pageSize", "must be a non-negative integer, got %q", s)
		}
		o.PageSize = n
	}
	return o, nil
}

// queryBool parses an optional boolean query parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalid(name, "must be true or false, got %q", s)
	}
	return b, nil
}

// runInNamespace checks that run id exists in ns; tracking calls key on the run ID alone.
// pathRun authorizes r for need in its namespace and returns the namespace and the run named by
// the path's {id}.
func (h *Handler) pathRun(r *http.Request, need access) (string, *store.Run, error) {
	ns, _, err := h.namespace(r, need)
	if err != nil {
		return "", nil, err
	}
	run, err := h.runInNamespace(r.Context(), ns, r.PathValue("id"))
	return ns, run, err
}

func (h *Handler) runInNamespace(ctx context.Context, ns, id string) (*store.Run, error) {
	r, err := h.st.GetRun(ctx, ns, id)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", id, err)
	}
	return r, nil
}
