package notebooks

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Spawner runs notebook servers somewhere: as local processes (notebooks/local) or as Kubernetes
// StatefulSets (notebooks/kube). The Manager owns the records and calls a Spawner to make the
// world match them. Every method must be idempotent: Start on a running notebook, Stop on a
// stopped one and Delete on a missing one succeed without effect.
type Spawner interface {
	// Start creates or resumes the server for nb, reusing its workspace. It returns once the start
	// has been requested; Status reports progress. nb.Spec.Env already holds the variables Kiln adds.
	Start(ctx context.Context, nb *Notebook) error
	// Stop stops the server and keeps the workspace.
	Stop(ctx context.Context, namespace, name string) error
	// Delete stops the server and removes everything it owns, workspace included.
	Delete(ctx context.Context, namespace, name string) error
	// Status reports the observed phase, message and events. A notebook the spawner knows nothing
	// about is PhaseStopped.
	Status(ctx context.Context, namespace, name string) (Status, error)
	// Endpoint returns where the proxy and the culler reach the running server, and the Jupyter
	// token to send in the Authorization header. It returns an error wrapping ErrNotRunning when
	// there is no server to reach.
	Endpoint(ctx context.Context, namespace, name string) (target *url.URL, token string, err error)
	// Close releases what the spawner holds for this process's lifetime. The local spawner stops
	// its servers (no orphan processes); the Kubernetes spawner leaves pods running.
	Close(ctx context.Context) error
}

// SpecValidator is implemented by spawners that accept only part of Spec (the local spawner has no
// images, the Kubernetes spawner no host paths). The Manager calls it on create, after
// Spec.Validate, so users see every problem at once with its field path.
type SpecValidator interface {
	// ValidateSpec reports what this spawner cannot honour; fld is the path of the spec.
	ValidateSpec(spec *Spec, fld *field.Path) field.ErrorList
}

// LogReader is implemented by spawners that keep their servers' logs; the API serves them at
// GET /api/v1/notebooks/{namespace}/{name}/logs.
type LogReader interface {
	// Logs returns the last tailLines lines of the server's log.
	Logs(ctx context.Context, namespace, name string, tailLines int) ([]byte, error)
}

// ErrNoLogs means the spawner keeps no logs (it does not implement LogReader).
var ErrNoLogs = errors.New("notebooks: this spawner keeps no logs")

// Errors shared by the Manager, the spawners and the HTTP handlers; test with errors.Is.
var (
	// ErrNotFound means the notebook does not exist.
	ErrNotFound = errors.New("notebooks: not found")
	// ErrAlreadyExists means a notebook with that namespace and name exists.
	ErrAlreadyExists = errors.New("notebooks: already exists")
	// ErrNotRunning means the notebook has no server to reach right now.
	ErrNotRunning = errors.New("notebooks: not running")
	// ErrUnauthenticated is returned by an Authorizer when the request carries no valid identity.
	ErrUnauthenticated = errors.New("notebooks: unauthenticated")
	// ErrForbidden is returned by an Authorizer when the user may not use the namespace.
	ErrForbidden = errors.New("notebooks: forbidden")
)

// ValidationError carries every problem found in a request, each with its field path.
type ValidationError struct {
	// Errors are the problems, in the order found.
	Errors field.ErrorList
}

// Error joins the problems into one line.
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return "invalid notebook: " + strings.Join(msgs, "; ")
}
