package dsl

import (
	"fmt"
	"time"

	"github.com/kilnml/kiln/internal/ir"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Option configures a component (its defaults for every task) or a single task.
// Options are values of unexported types, so the set is closed and checked by the Go compiler.
type Option interface {
	applyOption(*optionSet)
}

// PipelineOption configures a pipeline.
type PipelineOption interface {
	applyPipeline(*ir.Pipeline) error
}

// optionSet collects what options set. Task-only options record taskOnly so that using them on a
// component is reported.
type optionSet struct {
	cfg         ir.Config
	name        string
	after       []*ir.Task
	description string
	errs        []string
	taskOnly    []string
}

func (o *optionSet) errorf(format string, args ...any) {
	o.errs = append(o.errs, fmt.Sprintf(format, args...))
}

type optionFunc func(*optionSet)

func (f optionFunc) applyOption(o *optionSet) { f(o) }

// Retries retries a failed task up to limit times. Combine with RetryBackoff and RetryOn.
func Retries(limit int) Option {
	return optionFunc(func(o *optionSet) {
		if limit < 0 {
			o.errorf("retries: limit %d must not be negative", limit)
		}
		r := o.retry()
		r.Limit = limit
	})
}

// RetryBackoff waits duration before the first retry, multiplying the wait by factor each time,
// and gives up retrying after maxDuration (0 for no cap).
func RetryBackoff(duration time.Duration, factor int, maxDuration time.Duration) Option {
	return optionFunc(func(o *optionSet) {
		if duration <= 0 || factor < 1 || maxDuration < 0 {
			o.errorf("retry backoff: duration must be positive, factor at least 1, max duration not negative")
		}
		r := o.retry()
		r.Backoff, r.Factor, r.MaxDuration = duration, factor, maxDuration
	})
}

// RetryPolicy says which failures are retried.
type RetryPolicy string

// Retry policies, as in Argo.
const (
	RetryAlways           RetryPolicy = "Always"
	RetryOnFailure        RetryPolicy = "OnFailure"
	RetryOnError          RetryPolicy = "OnError"
	RetryOnTransientError RetryPolicy = "OnTransientError"
)

// RetryOn sets which failures are retried (default RetryOnFailure).
func RetryOn(p RetryPolicy) Option {
	return optionFunc(func(o *optionSet) {
		switch p {
		case RetryAlways, RetryOnFailure, RetryOnError, RetryOnTransientError:
		default:
			o.errorf("retry policy %q is not one of Always, OnFailure, OnError, OnTransientError", p)
		}
		o.retry().Policy = string(p)
	})
}

func (o *optionSet) retry() *ir.Retry {
	if o.cfg.Retry == nil {
		o.cfg.Retry = &ir.Retry{}
	}
	return o.cfg.Retry
}

// Timeout fails a task that runs longer than d (each attempt).
func Timeout(d time.Duration) Option {
	return optionFunc(func(o *optionSet) {
		if d <= 0 {
			o.errorf("timeout %s must be positive", d)
		}
		o.cfg.Timeout = &d
	})
}

// Cache turns result caching on or off. A cached task whose key matches an earlier successful
// run reuses its outputs instead of running. The default key covers the component and its
// parameter inputs; tasks with input artifacts need CacheKey.
func Cache(on bool) Option {
	return optionFunc(func(o *optionSet) { o.cfg.Cache = &on })
}

// CacheKey sets an explicit cache key (an Argo template string such as
// "train-{{inputs.parameters.lr}}-{{workflow.parameters.data_version}}") and turns caching on.
func CacheKey(key string) Option {
	return optionFunc(func(o *optionSet) {
		if key == "" {
			o.errorf("cache key must not be empty")
		}
		on := true
		o.cfg.Cache, o.cfg.CacheKey = &on, key
	})
}

// CacheMaxAge ignores cached results older than d.
func CacheMaxAge(d time.Duration) Option {
	return optionFunc(func(o *optionSet) {
		if d <= 0 {
			o.errorf("cache max age %s must be positive", d)
		}
		o.cfg.CacheMaxAge = &d
	})
}

// CPU requests and limits CPU, as Kubernetes quantities ("500m", "2"); empty means unset.
func CPU(request, limit string) Option {
	return optionFunc(func(o *optionSet) {
		if o.quantity("cpu request", request) && o.quantity("cpu limit", limit) {
			o.cfg.Resources.CPURequest, o.cfg.Resources.CPULimit = request, limit
		}
	})
}

// Memory requests and limits memory, as Kubernetes quantities ("512Mi", "4Gi"); empty means unset.
func Memory(request, limit string) Option {
	return optionFunc(func(o *optionSet) {
		if o.quantity("memory request", request) && o.quantity("memory limit", limit) {
			o.cfg.Resources.MemoryRequest, o.cfg.Resources.MemoryLimit = request, limit
		}
	})
}

// GPU requests count GPUs of the given extended resource name (default "nvidia.com/gpu").
func GPU(count int, resourceName string) Option {
	return optionFunc(func(o *optionSet) {
		if count < 0 {
			o.errorf("gpu count %d must not be negative", count)
		}
		if resourceName == "" {
			resourceName = "nvidia.com/gpu"
		}
		o.cfg.Resources.GPU, o.cfg.Resources.GPUResource = count, resourceName
	})
}

// quantity checks a Kubernetes quantity ("" is allowed) and reports whether it is valid.
func (o *optionSet) quantity(what, q string) bool {
	if q == "" {
		return true
	}
	if _, err := resource.ParseQuantity(q); err != nil {
		o.errorf("%s %q is not a Kubernetes quantity", what, q)
		return false
	}
	return true
}

// NodeSelector schedules the task on nodes with all the given labels.
func NodeSelector(labels map[string]string) Option {
	return optionFunc(func(o *optionSet) {
		if o.cfg.NodeSelector == nil {
			o.cfg.NodeSelector = map[string]string{}
		}
		for k, v := range labels {
			o.cfg.NodeSelector[k] = v
		}
	})
}

// Toleration lets the task run on nodes with a matching taint. operator is "Equal" or "Exists";
// effect is "NoSchedule", "PreferNoSchedule", "NoExecute" or empty for all.
func Toleration(key, operator, value, effect string) Option {
	return optionFunc(func(o *optionSet) {
		if operator != "Equal" && operator != "Exists" {
			o.errorf("toleration %q: operator %q is not Equal or Exists", key, operator)
		}
		o.cfg.Tolerations = append(o.cfg.Tolerations, ir.Toleration{Key: key, Operator: operator, Value: value, Effect: effect})
	})
}

// Env sets an environment variable.
func Env(name, value string) Option {
	return optionFunc(func(o *optionSet) {
		o.cfg.Env = append(o.cfg.Env, ir.EnvVar{Name: name, Value: value})
	})
}

// SecretEnv sets an environment variable from a key of a Kubernetes Secret.
func SecretEnv(name, secret, key string) Option {
	return optionFunc(func(o *optionSet) {
		if secret == "" || key == "" {
			o.errorf("secret env %q: secret and key must be set", name)
		}
		o.cfg.Env = append(o.cfg.Env, ir.EnvVar{Name: name, SecretName: secret, SecretKey: key})
	})
}

// SecretVolume mounts a Kubernetes Secret as files under mountPath.
func SecretVolume(secret, mountPath string) Option {
	return optionFunc(func(o *optionSet) {
		o.cfg.Volumes = append(o.cfg.Volumes, ir.Volume{Name: "secret-" + secret, Secret: secret, MountPath: mountPath, ReadOnly: true})
	})
}

// PVC mounts an existing PersistentVolumeClaim at mountPath.
func PVC(claim, mountPath string, readOnly bool) Option {
	return optionFunc(func(o *optionSet) {
		o.cfg.Volumes = append(o.cfg.Volumes, ir.Volume{Name: "pvc-" + claim, PVC: claim, MountPath: mountPath, ReadOnly: readOnly})
	})
}

// ScratchVolume mounts an empty directory shared by the task's containers at mountPath.
func ScratchVolume(name, mountPath string) Option {
	return optionFunc(func(o *optionSet) {
		o.cfg.Volumes = append(o.cfg.Volumes, ir.Volume{Name: name, EmptyDir: true, MountPath: mountPath})
	})
}

// DisplayName sets the name shown for the task in the portal.
func DisplayName(name string) Option {
	return optionFunc(func(o *optionSet) { o.cfg.DisplayName = name })
}

// Name sets a task's name (default: the component's name, with a numeric suffix when taken).
// It is a task option only.
func Name(name string) Option {
	return optionFunc(func(o *optionSet) {
		o.name = name
		o.taskOnly = append(o.taskOnly, "Name")
	})
}

// Node is a task, whatever its output type; After takes Nodes.
type Node interface{ irTask() *ir.Task }

// After orders a task after others without passing data. It is a task option only.
func After(tasks ...Node) Option {
	return optionFunc(func(o *optionSet) {
		for _, t := range tasks {
			if t == nil || t.irTask() == nil {
				o.errorf("after: nil task")
				continue
			}
			o.after = append(o.after, t.irTask())
		}
		o.taskOnly = append(o.taskOnly, "After")
	})
}

// both is an option usable on components, tasks and pipelines.
type both struct {
	opt  optionFunc
	pipe func(*ir.Pipeline) error
}

func (b both) applyOption(o *optionSet)           { b.opt(o) }
func (b both) applyPipeline(p *ir.Pipeline) error { return b.pipe(p) }

// Image overrides the container image. On a pipeline it sets the image that runs Go-function
// components (which compile.Options.Image overrides); on a component or task it replaces the
// component's image.
func Image(image string) interface {
	Option
	PipelineOption
} {
	return both{
		opt: func(o *optionSet) {
			if image == "" {
				o.errorf("image must not be empty")
			}
			o.cfg.Image = image
		},
		pipe: func(p *ir.Pipeline) error {
			if image == "" {
				return fmt.Errorf("image must not be empty")
			}
			p.Settings.Image = image
			return nil
		},
	}
}

// Description documents a component or pipeline.
func Description(text string) interface {
	Option
	PipelineOption
} {
	return both{
		opt:  func(o *optionSet) { o.description = text },
		pipe: func(p *ir.Pipeline) error { p.Description = text; return nil },
	}
}

type pipelineFunc func(*ir.Pipeline) error

func (f pipelineFunc) applyPipeline(p *ir.Pipeline) error { return f(p) }

// ServiceAccount runs the pipeline's pods as the named Kubernetes service account.
func ServiceAccount(name string) PipelineOption {
	return pipelineFunc(func(p *ir.Pipeline) error { p.Settings.ServiceAccount = name; return nil })
}

// TTL deletes a finished run's workflow object after the given times; zero durations are unset.
func TTL(afterCompletion, afterSuccess, afterFailure time.Duration) PipelineOption {
	return pipelineFunc(func(p *ir.Pipeline) error {
		set := func(d time.Duration) *time.Duration {
			if d <= 0 {
				return nil
			}
			return &d
		}
		p.Settings.TTLAfterCompletion = set(afterCompletion)
		p.Settings.TTLAfterSuccess = set(afterSuccess)
		p.Settings.TTLAfterFailure = set(afterFailure)
		return nil
	})
}

// PodGC deletes a run's pods: "OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion" or
// "OnWorkflowSuccess".
func PodGC(strategy string) PipelineOption {
	return pipelineFunc(func(p *ir.Pipeline) error {
		switch strategy {
		case "OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess":
		default:
			return fmt.Errorf("pod GC strategy %q is not one of OnPodCompletion, OnPodSuccess, OnWorkflowCompletion, OnWorkflowSuccess", strategy)
		}
		p.Settings.PodGC = strategy
		return nil
	})
}

// ActiveDeadline fails the whole run when it runs longer than d.
func ActiveDeadline(d time.Duration) PipelineOption {
	return pipelineFunc(func(p *ir.Pipeline) error {
		if d <= 0 {
			return fmt.Errorf("active deadline %s must be positive", d)
		}
		p.Settings.ActiveDeadline = &d
		return nil
	})
}

// ArtifactRepository stores the run's artifacts in the Argo artifact repository held under key in
// the named ConfigMap.
func ArtifactRepository(configMap, key string) PipelineOption {
	return pipelineFunc(func(p *ir.Pipeline) error {
		if configMap == "" {
			return fmt.Errorf("artifact repository: config map must be set")
		}
		p.Settings.ArtifactRepository = &ir.ArtifactRepositoryRef{ConfigMap: configMap, Key: key}
		return nil
	})
}

// Labels adds labels to the run and its pods.
func Labels(labels map[string]string) PipelineOption {
	return pipelineFunc(func(p *ir.Pipeline) error {
		p.Settings.Labels = merge(p.Settings.Labels, labels)
		return nil
	})
}

// Annotations adds annotations to the run.
func Annotations(annotations map[string]string) PipelineOption {
	return pipelineFunc(func(p *ir.Pipeline) error {
		p.Settings.Annotations = merge(p.Settings.Annotations, annotations)
		return nil
	})
}

// Parallelism limits how many of the run's pods run at once.
func Parallelism(n int) interface {
	PipelineOption
	LoopOption
} {
	return parallelism(n)
}

type parallelism int

func (n parallelism) applyPipeline(p *ir.Pipeline) error {
	if n < 1 {
		return fmt.Errorf("parallelism %d must be at least 1", n)
	}
	p.Settings.Parallelism = int(n)
	return nil
}

func (n parallelism) applyLoop(l *ir.Loop) error {
	if n < 1 {
		return fmt.Errorf("parallelism %d must be at least 1", n)
	}
	l.Parallelism = int(n)
	return nil
}

// ConcurrencyPolicy says what a schedule does when the previous run is still going.
type ConcurrencyPolicy string

// Concurrency policies, as in Argo CronWorkflows.
const (
	AllowConcurrent   ConcurrencyPolicy = "Allow"
	ForbidConcurrent  ConcurrencyPolicy = "Forbid"
	ReplaceConcurrent ConcurrencyPolicy = "Replace"
)

// Schedule runs the pipeline on a cron schedule (standard five fields, or several schedules) in
// the given IANA timezone ("" for UTC). It takes effect when compiling with kind "cron".
func Schedule(cron []string, timezone string, policy ConcurrencyPolicy) PipelineOption {
	return pipelineFunc(func(p *ir.Pipeline) error {
		if len(cron) == 0 {
			return fmt.Errorf("schedule: at least one cron expression is needed")
		}
		if timezone != "" {
			if _, err := time.LoadLocation(timezone); err != nil {
				return fmt.Errorf("schedule: timezone %q: %w", timezone, err)
			}
		}
		switch policy {
		case "", AllowConcurrent, ForbidConcurrent, ReplaceConcurrent:
		default:
			return fmt.Errorf("schedule: concurrency policy %q is not Allow, Forbid or Replace", policy)
		}
		p.Settings.Schedule = &ir.Schedule{Cron: append([]string(nil), cron...), Timezone: timezone, ConcurrencyPolicy: string(policy)}
		return nil
	})
}

func merge(dst, src map[string]string) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}
