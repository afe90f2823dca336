package notebooks

import (
	"encoding/json"
	"fmt"
	"time"
)

// Notebook is one Jupyter server that Kiln launches for a user: what was asked for (Spec), whether
// it should run (Stopped), and what was last observed (Status).
type Notebook struct {
	// Name identifies the notebook inside its namespace (a DNS-1123 label).
	Name string `json:"name"`
	// Namespace is the Kiln namespace that owns the notebook; access to it is access to the notebook.
	Namespace string `json:"namespace"`
	// Owner is the user who created the notebook.
	Owner string `json:"owner,omitempty"`
	// Spec is the requested server.
	Spec Spec `json:"spec"`
	// Stopped is the desired state: true after a stop or a cull, false after create or start.
	Stopped bool `json:"stopped"`
	// CreatedAt is when the notebook was created.
	CreatedAt time.Time `json:"createdAt"`
	// Status is the observed state; the Manager refreshes it from the spawner on every read.
	Status Status `json:"status"`
}

// Spec is what a user asks for when creating a notebook.
type Spec struct {
	// Image is the container image for the Kubernetes spawner. The local spawner runs the host's
	// Jupyter and requires it to be empty.
	Image string `json:"image,omitempty"`
	// Resources are the CPU, memory and GPU requests.
	Resources Resources `json:"resources,omitzero"`
	// Workspace is the volume that holds the user's files; it survives stop and start and is removed
	// only by delete.
	Workspace Workspace `json:"workspace,omitzero"`
	// DataVolumes are extra volumes mounted next to the workspace.
	DataVolumes []DataVolume `json:"dataVolumes,omitempty"`
	// Env are environment variables for the server and its kernels.
	Env []EnvVar `json:"env,omitempty"`
	// IdleTimeout stops the server after this long without kernel or API activity. Nil means the
	// server default; zero means never.
	IdleTimeout *Duration `json:"idleTimeout,omitempty"`
}

// Resources are compute requests, written as Kubernetes quantities ("500m", "2Gi").
type Resources struct {
	// CPU is the CPU request, e.g. "1" or "500m".
	CPU string `json:"cpu,omitempty"`
	// Memory is the memory request, e.g. "2Gi".
	Memory string `json:"memory,omitempty"`
	// GPU is the number of GPUs (nvidia.com/gpu).
	GPU int `json:"gpu,omitempty"`
}

// Workspace describes the persistent home volume of a notebook.
type Workspace struct {
	// Size is the volume size for the Kubernetes spawner, e.g. "10Gi"; empty means the default.
	Size string `json:"size,omitempty"`
	// StorageClass selects the Kubernetes storage class; empty means the cluster default.
	StorageClass string `json:"storageClass,omitempty"`
}

// DataVolume is an existing volume made available inside the notebook.
type DataVolume struct {
	// Name identifies the volume (a DNS-1123 label), unique within the notebook.
	Name string `json:"name"`
	// ClaimName is an existing PersistentVolumeClaim (Kubernetes spawner).
	ClaimName string `json:"claimName,omitempty"`
	// Path is an existing host directory (local spawner), linked into the workspace as Name.
	Path string `json:"path,omitempty"`
	// MountPath is where the volume appears in the container (Kubernetes spawner); empty means
	// the workspace directory joined with Name.
	MountPath string `json:"mountPath,omitempty"`
	// ReadOnly mounts the volume read-only (Kubernetes spawner).
	ReadOnly bool `json:"readOnly,omitempty"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	// Name is the variable name.
	Name string `json:"name"`
	// Value is the variable value.
	Value string `json:"value"`
}

// Duration is a time.Duration that reads and writes JSON as a Go duration string ("30m").
type Duration struct {
	time.Duration
}

// MarshalJSON writes the duration as a string such as "1h30m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.Duration.String())
}

// UnmarshalJSON reads a duration string such as "30m" or "0".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("parse duration %q: %w", s, err)
	}
	d.Duration = v
	return nil
}

// Phase is the coarse lifecycle state of a notebook.
type Phase string

// The phases a notebook moves through.
const (
	// PhasePending means the server has been asked for but nothing runs yet (e.g. unscheduled pod).
	PhasePending Phase = "Pending"
	// PhaseStarting means the server process or pod runs but does not answer health checks yet.
	PhaseStarting Phase = "Starting"
	// PhaseRunning means the server answers and can be reached through the proxy.
	PhaseRunning Phase = "Running"
	// PhaseStopping means a stop was requested and the server is shutting down.
	PhaseStopping Phase = "Stopping"
	// PhaseStopped means no server runs; the workspace is kept.
	PhaseStopped Phase = "Stopped"
	// PhaseFailed means the server cannot run (crash loop, image pull error); Message says why.
	PhaseFailed Phase = "Failed"
)

// Status is the observed state of a notebook.
type Status struct {
	// Phase is the lifecycle state.
	Phase Phase `json:"phase"`
	// URL is where a browser reaches the notebook through Kiln's proxy.
	URL string `json:"url,omitempty"`
	// LastActivity is the last kernel or API activity the culler saw.
	LastActivity time.Time `json:"lastActivity,omitzero"`
	// Events are recent happenings, oldest first.
	Events []Event `json:"events,omitempty"`
	// Message explains the phase in words when there is something to say (errors above all).
	Message string `json:"message,omitempty"`
}

// EventType classifies an Event.
type EventType string

// Event types, as in Kubernetes.
const (
	// EventNormal is an expected happening.
	EventNormal EventType = "Normal"
	// EventWarning is something a user should look at.
	EventWarning EventType = "Warning"
)

// Event is one happening in a notebook's life, readable by a user.
type Event struct {
	// Time is when it happened.
	Time time.Time `json:"time"`
	// Type is Normal or Warning.
	Type EventType `json:"type"`
	// Reason is a short CamelCase cause, e.g. "Culled" or "ImagePullBackOff".
	Reason string `json:"reason"`
	// Message is the human explanation.
	Message string `json:"message"`
}

// PathPrefix returns the URL path under which the notebook is served and proxied:
// /notebook/{namespace}/{name}/.
func PathPrefix(namespace, name string) string {
	return "/notebook/" + namespace + "/" + name + "/"
}
