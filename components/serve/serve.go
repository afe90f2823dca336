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
// asked, applies them with kubectl (which must be in the image), choosing KServe when its
// InferenceService CRD is installed. Locally, serve a model with cmd/kiln-serve instead.
package serve

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/kilnml/kiln/dsl"
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
	// Model is the kiln.model/v1 artifact's content.
	Model []byte
	// Mode is KServe or Deployment.
	Mode Mode
}

// Port is the port kiln-serve listens on in the pod (KServe's default predictor port).
const Port = 8080

// Manifests returns the objects deploying cfg, in apply order.
func Manifests(cfg Config) ([]any, error) {
	if errs := validation.IsDNS1123Label(cfg.Name); len(errs) > 0 {
		return nil, fmt.Errorf("serve: name %q: %s", cfg.Name, strings.Join(errs, "; "))
	}
	if cfg.Image == "" {
		return nil, fmt.Errorf("serve %s: no image", cfg.Name)
	}
	if len(cfg.Model) > 1<<20-4096 {
		return nil, fmt.Errorf("serve %s: model of %d bytes does not fit a ConfigMap", cfg.Name, len(cfg.Model))
	}
	labels := map[string]string{"app.kubernetes.io/name": cfg.Name, "app.kubernetes.io/component": "kiln-serve"}
	meta := metav1.ObjectMeta{Name: cfg.Name, Namespace: cfg.Namespace, Labels: labels}
	cmMeta := meta
	cmMeta.Name = cfg.Name + "-model"
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: cmMeta,
		Data: map[string]string{"model.json": string(cfg.Model)}}
	spec := fmt.Sprintf("%s=/kiln/model/model.json", cfg.Name)
	ctr := corev1.Container{
		Name:         "kserve-container",
		Image:        cfg.Image,
		Command:      []string{"/kiln/kiln-serve", "-addr", fmt.Sprintf("0.0.0.0:%d", Port), "-model", spec},
		Ports:        []corev1.ContainerPort{{ContainerPort: Port, Protocol: corev1.ProtocolTCP}},
		VolumeMounts: []corev1.VolumeMount{{Name: "model", MountPath: "/kiln/model", ReadOnly: true}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/v2/health/ready", Port: intstr.FromInt32(Port)}}},
	}
	vol := corev1.Volume{Name: "model", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}}
	switch cfg.Mode {
	case KServe:
		isvc := map[string]any{
			"apiVersion": "serving.kserve.io/v1beta1",
			"kind":       "InferenceService",
			"metadata":   map[string]any{"name": cfg.Name, "namespace": cfg.Namespace, "labels": labels},
			"spec": map[string]any{"predictor": map[string]any{
				"containers": []corev1.Container{ctr},
				"volumes":    []corev1.Volume{vol},
			}},
		}
		return []any{cm, isvc}, nil
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
					Spec:       corev1.PodSpec{Containers: []corev1.Container{ctr}, Volumes: []corev1.Volume{vol}},
				},
			},
		}
		svc := &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: meta,
			Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromInt32(Port), Protocol: corev1.ProtocolTCP}}},
		}
		return []any{cm, dep, svc}, nil
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
	host := cfg.Name
	if cfg.Mode == KServe {
		host += "-predictor"
	}
	return fmt.Sprintf("http://%s.%s.svc.cluster.local/v2/models/%s/infer", host, cfg.Namespace, cfg.Name)
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
	// Mode is kserve, deployment or auto (kserve when the InferenceService CRD exists).
	Mode dsl.Value[string] `default:"auto" description:"kserve, deployment or auto"`
	// Apply applies the manifests with kubectl; false only writes them.
	Apply dsl.Value[bool] `default:"false" description:"apply with kubectl (false: only write the manifests)"`
}

// DeployOut is the output of Deploy.
type DeployOut struct {
	// Manifests are the objects as YAML.
	Manifests dsl.Value[dsl.Artifact]
	// URL is the in-cluster infer endpoint.
	URL dsl.Value[string] `kiln:"url"`
	// Mode is the mode chosen.
	Mode dsl.Value[string]
}

// Deploy serves a model on the cluster (see the package documentation).
var Deploy = dsl.Func("deploy-model", deploy)

func deploy(ctx context.Context, in DeployIn) (DeployOut, error) {
	model, err := os.ReadFile(in.Model.Get().Path)
	if err != nil {
		return DeployOut{}, fmt.Errorf("deploy: %w", err)
	}
	mode := Mode(in.Mode.Get())
	if mode == "auto" {
		mode = Deployment
		if in.Apply.Get() && exec.CommandContext(ctx, "kubectl", "get", "crd", "inferenceservices.serving.kserve.io").Run() == nil {
			mode = KServe
		}
	}
	cfg := Config{Name: in.Name.Get(), Namespace: in.Namespace.Get(), Image: in.Image.Get(), Model: model, Mode: mode}
	objs, err := Manifests(cfg)
	if err != nil {
		return DeployOut{}, err
	}
	y, err := YAML(objs)
	if err != nil {
		return DeployOut{}, err
	}
	dir, err := os.MkdirTemp("", "kiln-deploy-")
	if err != nil {
		return DeployOut{}, fmt.Errorf("deploy: %w", err)
	}
	path := filepath.Join(dir, "manifests.yaml")
	if err := os.WriteFile(path, y, 0o644); err != nil {
		return DeployOut{}, fmt.Errorf("deploy: %w", err)
	}
	if in.Apply.Get() {
		out, err := exec.CommandContext(ctx, "kubectl", "apply", "-f", path).CombinedOutput()
		if err != nil {
			return DeployOut{}, fmt.Errorf("deploy %s: kubectl apply: %w: %s", cfg.Name, err, bytes.TrimSpace(out))
		}
	}
	return DeployOut{Manifests: dsl.Of(dsl.Artifact{Path: path}), URL: dsl.Of(URL(cfg)), Mode: dsl.Of(string(mode))}, nil
}
