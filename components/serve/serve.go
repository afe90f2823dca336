// Package serve deploys a kiln.model/v1 model to Kubernetes behind the Open Inference Protocol
// v2 server of package serving (the kiln-serve command):
//
//   - a ConfigMap holds the model artifact (it embeds its preprocessing, so nothing else is
//     needed; ConfigMaps hold up to 1 MiB, plenty for the linear and tree models);
//   - with KServe, an InferenceService whose predictor is the kiln-serve container reading
//     the model from that ConfigMap (KServe adds routing, autoscaling and its URL);
//   - without KServe, a Deployment and a Service running the same container.
//
// Manifests builds the objects; the Deploy component writes them as an artifact and, when
// asked, applies them with client-go (Cluster: server-side apply with strict field
// validation, so re-applying is a no-op), choosing KServe when discovery shows the
// InferenceService resource, then waits until the endpoint is ready (the Deployment's
// replicas available, or the InferenceService Ready) and outputs its URL. Under a Kiln server
// with the registry version given, the version is tagged kiln.dev/endpoint with the server's
// base URL. The pod needs RBAC to apply ConfigMaps, Deployments, Services and
// InferenceServices in the namespace. Locally, serve a model with cmd/kiln-serve instead.
package serve

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/kilnml/kiln/components/register"
	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/tracking"
)

// Mode selects what Manifests produces.
type Mode string

// Modes.
const (
	// KServe produces an InferenceService.
	KServe Mode = "kserve"
	// Deployment produces a Deployment and a Service.
	Deployment Mode = "deployment"
)

// Config describes a deployment.
type Config struct {
	// Name is the model's name: the objects' name and the OIP model name.
	Name string
	// Namespace is where the objects go.
	Namespace string
	// Image runs kiln-serve (at /kiln/kiln-serve).
	Image string
	// Model is the kiln.model/v1 artifact's content, served from a ConfigMap.
	Model []byte
	// ModelURI, when set, is where kiln-serve loads the model from instead (a path in the
	// image, or any location serving.LoadSpec understands); no ConfigMap is made.
	ModelURI string
	// Mode is KServe or Deployment.
	Mode Mode
}

// Port is the port kiln-serve listens on in the pod (KServe's default predictor port).
const Port = 8080

// ModelPath is where the model's ConfigMap is mounted in the server container.
const ModelPath = "/kiln/model/model.json"

// Manifests returns the objects deploying cfg, in apply order.
func Manifests(cfg Config) ([]any, error) {
	if errs := validation.IsDNS1123Label(cfg.Name); len(errs) > 0 {
		return nil, fmt.Errorf("serve: name %q: %s", cfg.Name, strings.Join(errs, "; "))
	}
	if cfg.Image == "" {
		return nil, fmt.Errorf("serve %s: no image", cfg.Name)
	}
	if cfg.ModelURI == "" && len(cfg.Model) > 1<<20-4096 {
		return nil, fmt.Errorf("serve %s: model of %d bytes does not fit a ConfigMap", cfg.Name, len(cfg.Model))
	}
	labels := map[string]string{"app.kubernetes.io/name": cfg.Name, "app.kubernetes.io/component": "kiln-serve"}
	meta := metav1.ObjectMeta{Name: cfg.Name, Namespace: cfg.Namespace, Labels: labels}
	cmMeta := meta
	cmMeta.Name = cfg.Name + "-model"
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: cmMeta,
		Data: map[string]string{"model.json": string(cfg.Model)}}
	uri := ModelPath
	if cfg.ModelURI != "" {
		uri = cfg.ModelURI
	}
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(Port)}}}
	}
	ctr := corev1.Container{
		Name:           "kserve-container",
		Image:          cfg.Image,
		Command:        []string{"/kiln/kiln-serve", "-addr", fmt.Sprintf("0.0.0.0:%d", Port), "-model", cfg.Name + "=" + uri},
		Ports:          []corev1.ContainerPort{{ContainerPort: Port, Protocol: corev1.ProtocolTCP}},
		ReadinessProbe: probe("/v2/health/ready"),
		LivenessProbe:  probe("/v2/health/live"),
	}
	var vols []corev1.Volume
	var first []any
	if cfg.ModelURI == "" {
		ctr.VolumeMounts = []corev1.VolumeMount{{Name: "model", MountPath: "/kiln/model", ReadOnly: true}}
		vols = []corev1.Volume{{Name: "model", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}}}
		first = []any{cm}
	}
	switch cfg.Mode {
	case KServe:
		isvc := map[string]any{
			"apiVersion": "serving.kserve.io/v1beta1",
			"kind":       "InferenceService",
			"metadata":   map[string]any{"name": cfg.Name, "namespace": cfg.Namespace, "labels": labels},
			"spec": map[string]any{"predictor": map[string]any{
				"containers": []corev1.Container{ctr},
			}},
		}
		if len(vols) > 0 {
			isvc["spec"].(map[string]any)["predictor"].(map[string]any)["volumes"] = vols
		}
		return append(first, isvc), nil
	case Deployment:
		one := int32(1)
		dep := &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{
				Replicas: &one,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{ctr}, Volumes: vols},
				},
			},
		}
		svc := &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: meta,
			Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromInt32(Port), Protocol: corev1.ProtocolTCP}}},
		}
		return append(first, dep, svc), nil
	}
	return nil, fmt.Errorf("serve %s: mode %q is neither %q nor %q", cfg.Name, cfg.Mode, KServe, Deployment)
}

// YAML renders objects as one multi-document YAML stream.
func YAML(objs []any) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("serve: render object %d: %w", i, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// URL returns the in-cluster infer URL of a deployment.
func URL(cfg Config) string {
	return BaseURL(cfg) + "/v2/models/" + cfg.Name + "/infer"
}

// BaseURL returns the in-cluster base URL of a deployment's inference server.
func BaseURL(cfg Config) string {
	host := cfg.Name
	if cfg.Mode == KServe {
		host += "-predictor"
	}
	return fmt.Sprintf("http://%s.%s.svc.cluster.local", host, cfg.Namespace)
}

// DeployIn is the input of Deploy.
type DeployIn struct {
	// Model is the kiln.model/v1 artifact to serve.
	Model dsl.Value[dsl.Model]
	// Name is the model's name (a DNS-1123 label).
	Name dsl.Value[string]
	// Namespace is where the objects go.
	Namespace dsl.Value[string] `default:"default"`
	// Image runs kiln-serve at /kiln/kiln-serve.
	Image dsl.Value[string] `default:"ghcr.io/kilnml/kiln-serve:latest"`
	// ModelURI, when set, is where the server loads the model from (a path in the image or a
	// URI kiln-serve understands) instead of a ConfigMap holding the artifact.
	ModelURI dsl.Value[string] `kiln:"model_uri" default:"" description:"model location for kiln-serve (empty: a ConfigMap with the artifact)"`
	// Mode is kserve, deployment or auto (kserve when the cluster serves InferenceServices).
	Mode dsl.Value[string] `default:"auto" description:"kserve, deployment or auto"`
	// Apply applies the manifests to the cluster; false only writes them.
	Apply dsl.Value[bool] `default:"false" description:"apply to the cluster (false: only write the manifests)"`
	// Wait bounds the wait for readiness after applying (a Go duration); 0 does not wait.
	Wait dsl.Value[string] `default:"5m" description:"how long to wait for the endpoint to be ready (0: do not wait)"`
	// ServerVersion is the version in the Kiln server's registry (register's server_version);
	// when set, the version is tagged kiln.dev/endpoint with the endpoint's base URL.
	ServerVersion dsl.Value[int] `kiln:"server_version" default:"0" description:"registry version to tag with the endpoint (0: none)"`
}

// DeployOut is the output of Deploy.
type DeployOut struct {
	// Manifests are the objects as YAML.
	Manifests dsl.Value[dsl.Artifact]
	// URL is the infer endpoint: in-cluster, or KServe's URL once it is ready.
	URL dsl.Value[string] `kiln:"url"`
	// Mode is the mode chosen.
	Mode dsl.Value[string]
	// Ready says whether the endpoint was seen ready (false when not applied or not waited for).
	Ready dsl.Value[bool]
}

// Deploy serves a model on the cluster (see the package documentation).
var Deploy = dsl.Func("deploy-model", deploy)

func deploy(ctx context.Context, in DeployIn) (DeployOut, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	model, err := os.ReadFile(in.Model.Get().Path)
	if err != nil {
		return DeployOut{}, fmt.Errorf("deploy: %w", err)
	}
	var wait time.Duration
	if w := in.Wait.Get(); w != "" {
		if wait, err = time.ParseDuration(w); err != nil {
			return DeployOut{}, fmt.Errorf("deploy: wait: %w", err)
		}
	}
	var cl *Cluster
	if in.Apply.Get() {
		rc, err := RESTConfig()
		if err != nil {
			return DeployOut{}, fmt.Errorf("deploy: %w", err)
		}
		cl = &Cluster{Config: rc, Log: log}
	}
	cfg := Config{Name: in.Name.Get(), Namespace: in.Namespace.Get(), Image: in.Image.Get(), Model: model,
		ModelURI: in.ModelURI.Get(), Mode: Mode(in.Mode.Get())}
	out, err := Run(ctx, cl, cfg, wait)
	if err != nil {
		return DeployOut{}, err
	}
	if v := in.ServerVersion.Get(); v > 0 && out.Ready {
		tagEndpoint(ctx, log, cfg.Name, v, out.BaseURL)
	}
	return DeployOut{Manifests: dsl.Of(dsl.Artifact{Path: out.Manifests}), URL: dsl.Of(out.URL), Mode: dsl.Of(string(out.Mode)), Ready: dsl.Of(out.Ready)}, nil
}

// tagEndpoint sets kiln.dev/endpoint on the registry version when the run has a Kiln server;
// like all tracking it is best effort.
func tagEndpoint(ctx context.Context, log *slog.Logger, name string, version int, baseURL string) {
	base := os.Getenv(tracking.EnvAPIURL)
	if base == "" {
		return
	}
	reg := register.APIRegistry{URL: base, Token: os.Getenv(tracking.EnvToken), Namespace: os.Getenv(tracking.EnvNamespace)}
	if err := reg.SetEndpoint(ctx, name, version, baseURL); err != nil {
		log.Warn("registry: endpoint tag", "model", name, "version", version, "err", err)
	}
}

// Result is what Run did.
type Result struct {
	// Mode is the mode used (auto resolved).
	Mode Mode
	// Manifests is the path of the objects as YAML.
	Manifests string
	// URL is the infer URL and BaseURL the server's base URL.
	URL, BaseURL string
	// Ready says whether the endpoint was seen ready.
	Ready bool
}

// Run writes cfg's manifests to a file and, with a cluster, applies them and waits up to
// wait (0: no wait) for the endpoint to be ready. A cfg.Mode of "auto" (or empty) means
// KServe when the cluster serves InferenceServices and Deployment otherwise (and without a
// cluster).
func Run(ctx context.Context, cl *Cluster, cfg Config, wait time.Duration) (Result, error) {
	if cfg.Mode == "" || cfg.Mode == "auto" {
		cfg.Mode = Deployment
		if cl != nil {
			m, err := cl.Mode(ctx)
			if err != nil {
				return Result{}, fmt.Errorf("deploy %s: %w", cfg.Name, err)
			}
			cfg.Mode = m
		}
	}
	objs, err := Manifests(cfg)
	if err != nil {
		return Result{}, err
	}
	y, err := YAML(objs)
	if err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "kiln-deploy-")
	if err != nil {
		return Result{}, fmt.Errorf("deploy: %w", err)
	}
	path := filepath.Join(dir, "manifests.yaml")
	if err := os.WriteFile(path, y, 0o644); err != nil {
		return Result{}, fmt.Errorf("deploy: %w", err)
	}
	res := Result{Mode: cfg.Mode, Manifests: path, URL: URL(cfg)}
	if cl == nil {
		res.BaseURL = BaseURL(cfg)
		return res, nil
	}
	if err := cl.Apply(ctx, objs); err != nil {
		return Result{}, fmt.Errorf("deploy %s: %w", cfg.Name, err)
	}
	if wait <= 0 {
		res.BaseURL = BaseURL(cfg)
		return res, nil
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	url, err := cl.Wait(wctx, cfg)
	if err != nil {
		return Result{}, fmt.Errorf("deploy %s: %w", cfg.Name, err)
	}
	res.URL, res.Ready = url, true
	res.BaseURL = strings.TrimSuffix(url, "/v2/models/"+cfg.Name+"/infer")
	return res, nil
}
