// Package ir is the pipeline graph the dsl package builds and the compiler and runtime read.
//
// It holds no behaviour beyond small accessors: the dsl package is the only writer, so invariants
// (such as a Value's Kind matching the fields it sets) are established there.
package ir

import (
	"context"
	"reflect"
	"time"
)

// Kind is the kind of a parameter or artifact type.
type Kind string

// The kinds of values that flow between tasks.
const (
	KindString   Kind = "string"
	KindInt      Kind = "int"
	KindFloat    Kind = "float"
	KindBool     Kind = "bool"
	KindList     Kind = "list"
	KindMap      Kind = "map"
	KindStruct   Kind = "struct" // any other JSON-able Go value
	KindArtifact Kind = "artifact"
)

// Type describes the type of a port or value.
type Type struct {
	Kind Kind
	// Elem is the element type of a list or the value type of a map.
	Elem *Type
	// Artifact is the artifact type name ("Dataset", "Model", "Metrics", "Artifact") for KindArtifact.
	Artifact string
	// Go is the Go type, when the type comes from Go code (nil for types read from a spec file).
	Go reflect.Type
}

// IsArtifact reports whether values of the type are artifacts (files) rather than parameters.
func (t Type) IsArtifact() bool { return t.Kind == KindArtifact }

// String returns the type as users write it in spec files: "float", "list<int>", "Dataset".
func (t Type) String() string {
	switch t.Kind {
	case KindArtifact:
		return t.Artifact
	case KindList:
		if t.Elem == nil {
			return "list"
		}
		return "list<" + t.Elem.String() + ">"
	case KindMap:
		if t.Elem == nil {
			return "map"
		}
		return "map<string," + t.Elem.String() + ">"
	case KindStruct:
		if t.Go != nil {
			return "struct " + t.Go.String()
		}
		return "struct"
	}
	return string(t.Kind)
}

// AssignableTo reports whether a value of type t may be passed where u is expected.
// Go-typed ports compare exactly; ports read from spec files compare by kind.
func (t Type) AssignableTo(u Type) bool {
	if t.Go != nil && u.Go != nil {
		return t.Go == u.Go
	}
	if t.Kind != u.Kind {
		return false
	}
	switch t.Kind {
	case KindArtifact:
		return t.Artifact == u.Artifact || u.Artifact == "Artifact"
	case KindList, KindMap:
		if t.Elem == nil || u.Elem == nil {
			return true
		}
		return t.Elem.AssignableTo(*u.Elem)
	}
	return true
}

// Port is a named, typed input or output of a component or pipeline.
type Port struct {
	Name        string
	Description string
	Type        Type
	// Default is the encoded default value (see the dsl package's parameter encoding); nil if none.
	Default *string
	// Optional inputs may be left unset without a default.
	Optional bool
	// Field is the index path of the Go struct field backing the port, if any.
	Field []int
}

// ImplKind says how a component runs.
type ImplKind string

// Component implementations.
const (
	ImplGo        ImplKind = "go"
	ImplContainer ImplKind = "container"
	ImplPipeline  ImplKind = "pipeline"
)

// Component is a reusable step with a typed interface.
type Component struct {
	Name        string
	Description string
	Inputs      []Port
	Outputs     []Port
	Impl        ImplKind
	// Invoke runs a Go-function component: inputs and outputs are keyed by port name.
	Invoke func(ctx context.Context, in map[string]any) (map[string]any, error)
	// InType and OutType are the Go struct types of a Go-function component's ports.
	InType, OutType reflect.Type
	Container       *Container
	// Pipeline is the body of a nested pipeline component.
	Pipeline *Pipeline
	// Config holds the component's default task settings.
	Config Config
}

// Container is the implementation of a container component.
type Container struct {
	Image   string
	Command []string
	Args    []string
	// WorkingDir is the working directory inside the container.
	WorkingDir string
}

// Input returns the input port named name, or nil.
func (c *Component) Input(name string) *Port { return findPort(c.Inputs, name) }

// Output returns the output port named name, or nil.
func (c *Component) Output(name string) *Port { return findPort(c.Outputs, name) }

func findPort(ports []Port, name string) *Port {
	for i := range ports {
		if ports[i].Name == name {
			return &ports[i]
		}
	}
	return nil
}

// ValueKind says where a value comes from.
type ValueKind int

// Value sources.
const (
	ValueLiteral ValueKind = iota // a constant known when the pipeline is built
	ValueInput                    // an input of the enclosing pipeline
	ValueOutput                   // an output of a task
	ValueItem                     // the current item of a parallel-for loop
	ValueCollect                  // the outputs of a task in a loop, collected as a list
	ValueGlobal                   // a run-level value such as the run status
)

// Value is a typed reference to data: a literal, a pipeline input, a task output, a loop item, a
// fan-in list or a run-level value.
type Value struct {
	Kind ValueKind
	Type Type
	// Literal is the encoded literal for ValueLiteral.
	Literal string
	// Pipeline and Input name the pipeline input for ValueInput.
	Pipeline *Pipeline
	Input    string
	// Task and Output name the task output for ValueOutput and ValueCollect.
	Task   *Task
	Output string
	// Loop is the loop of ValueItem and ValueCollect.
	Loop *Block
	// Global is the run-level variable for ValueGlobal: "status", "failures", "name", "uid".
	Global string
}

// BlockKind is the kind of a scope in a pipeline body.
type BlockKind int

// Block kinds.
const (
	BlockRoot BlockKind = iota
	BlockIf             // tasks that run when a condition holds (or, with Else set, when it does not)
	BlockLoop           // tasks that run once per item
	BlockExit           // tasks that run after the pipeline, whatever its outcome
)

// Block is a scope in a pipeline body: the root, a branch of a condition, a loop body or an exit
// handler. Blocks nest; tasks belong to the innermost block they were created in.
type Block struct {
	Kind     BlockKind
	Parent   *Block
	Pipeline *Pipeline
	// Cond and Else describe a BlockIf.
	Cond *Condition
	Else bool
	// Loop describes a BlockLoop.
	Loop *Loop
	// Tasks and Blocks are the direct children in creation order.
	Tasks  []*Task
	Blocks []*Block
	// Index is the block's position among all blocks of its pipeline, in creation order.
	Index int
}

// Condition is a CEL expression with its bound variables.
type Condition struct {
	Expr string
	Vars []Var
}

// Var binds a CEL variable name to a value.
type Var struct {
	Name  string
	Value *Value
}

// Loop describes a parallel-for.
type Loop struct {
	// Exactly one source is set: Items (encoded literals), Range, or Over (an upstream list).
	Items       []string
	Range       *Range
	Over        *Value
	ItemType    Type
	Parallelism int
	Name        string
}

// Range is a numeric sequence of loop items: start, start+step, ... while < end (step > 0).
type Range struct{ Start, End, Step int }

// Task is one invocation of a component.
type Task struct {
	Name      string
	Component *Component
	Block     *Block
	// Args binds input port names to values.
	Args  map[string]*Value
	After []*Task
	// Config overrides the component's settings for this task.
	Config Config
	// Index is the task's position among all tasks of its pipeline, in creation order.
	Index int
}

// Pipeline is a graph of tasks with typed inputs and outputs.
type Pipeline struct {
	Name        string
	Description string
	Inputs      []Port
	Outputs     []Port
	// Results binds output port names to values produced inside the pipeline.
	Results  map[string]*Value
	Root     *Block
	Tasks    []*Task
	Blocks   []*Block
	Settings Settings
	// Errors are problems found while the pipeline was built (wrong wiring the Go compiler
	// cannot see, bad option values); the compiler reports them with its own.
	Errors []Error
	// TaskNames counts the uses of each task name and component name, for unique default names.
	TaskNames map[string]int
}

// Error is a problem located by a DSL-level path.
type Error struct {
	Path   *Path
	Detail string
}

// Settings are pipeline-level options.
type Settings struct {
	Image               string
	ServiceAccount      string
	TTLAfterCompletion  *time.Duration
	TTLAfterSuccess     *time.Duration
	TTLAfterFailure     *time.Duration
	PodGC               string
	ActiveDeadline      *time.Duration
	ArtifactRepository  *ArtifactRepositoryRef
	Labels, Annotations map[string]string
	Schedule            *Schedule
	Parallelism         int
	Exit                *Block
}

// ArtifactRepositoryRef names a ConfigMap key holding an Argo artifact repository.
type ArtifactRepositoryRef struct{ ConfigMap, Key string }

// Schedule is a cron schedule for a recurring pipeline.
type Schedule struct {
	Cron              []string
	Timezone          string
	ConcurrencyPolicy string
	StartingDeadline  *time.Duration
	Suspend           bool
	SuccessfulHistory *int32
	FailedHistory     *int32
}

// Config holds the settings a component declares and a task may override.
type Config struct {
	Retry        *Retry
	Timeout      *time.Duration
	Cache        *bool
	CacheKey     string
	CacheMaxAge  *time.Duration
	Resources    Resources
	NodeSelector map[string]string
	Tolerations  []Toleration
	Env          []EnvVar
	Volumes      []Volume
	DisplayName  string
	Image        string
}

// Retry is a retry strategy.
type Retry struct {
	Limit       int
	Policy      string // Always, OnFailure, OnError, OnTransientError
	Backoff     time.Duration
	Factor      int
	MaxDuration time.Duration
}

// Resources are compute requests and limits.
type Resources struct {
	CPURequest, CPULimit       string
	MemoryRequest, MemoryLimit string
	GPU                        int
	GPUResource                string
}

// Toleration lets a task's pod run on tainted nodes.
type Toleration struct {
	Key, Operator, Value, Effect string
}

// EnvVar is an environment variable, literal or from a secret.
type EnvVar struct {
	Name, Value           string
	SecretName, SecretKey string
}

// Volume mounts a PVC, a secret or a scratch directory into a task.
type Volume struct {
	Name      string
	MountPath string
	PVC       string
	Secret    string
	EmptyDir  bool
	ReadOnly  bool
}

// With returns c overridden by the settings o sets.
func (c Config) With(o Config) Config {
	if o.Retry != nil {
		c.Retry = o.Retry
	}
	if o.Timeout != nil {
		c.Timeout = o.Timeout
	}
	if o.Cache != nil {
		c.Cache = o.Cache
	}
	if o.CacheKey != "" {
		c.CacheKey = o.CacheKey
	}
	if o.CacheMaxAge != nil {
		c.CacheMaxAge = o.CacheMaxAge
	}
	r := &c.Resources
	if o.Resources.CPURequest != "" || o.Resources.CPULimit != "" {
		r.CPURequest, r.CPULimit = o.Resources.CPURequest, o.Resources.CPULimit
	}
	if o.Resources.MemoryRequest != "" || o.Resources.MemoryLimit != "" {
		r.MemoryRequest, r.MemoryLimit = o.Resources.MemoryRequest, o.Resources.MemoryLimit
	}
	if o.Resources.GPUResource != "" {
		r.GPU, r.GPUResource = o.Resources.GPU, o.Resources.GPUResource
	}
	if len(o.NodeSelector) > 0 {
		m := make(map[string]string, len(c.NodeSelector)+len(o.NodeSelector))
		for k, v := range c.NodeSelector {
			m[k] = v
		}
		for k, v := range o.NodeSelector {
			m[k] = v
		}
		c.NodeSelector = m
	}
	c.Tolerations = append(c.Tolerations[:len(c.Tolerations):len(c.Tolerations)], o.Tolerations...)
	c.Env = append(c.Env[:len(c.Env):len(c.Env)], o.Env...)
	c.Volumes = append(c.Volumes[:len(c.Volumes):len(c.Volumes)], o.Volumes...)
	if o.DisplayName != "" {
		c.DisplayName = o.DisplayName
	}
	if o.Image != "" {
		c.Image = o.Image
	}
	return c
}
