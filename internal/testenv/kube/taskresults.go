package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// reporter plays the part of Argo's executor (the pod's wait container)
// that kwok cannot: when a workflow pod ends, it writes the pod's
// WorkflowTaskResult, without which Argo's controller keeps every node
// with declared outputs Running. The reported outputs are those of a
// container that wrote no files: each output parameter takes its
// valueFrom.default (a parameter without one is left out, as the executor
// would fail it), and each output artifact is recorded at its key in the
// template's archive location, with no content behind it. A failed pod
// reports no outputs.
type reporter struct {
	kube kubernetes.Interface
	wfc  wfclientset.Interface
	ns   string
	log  func(msg string, args ...any)
}

// start runs the reporter until ctx ends.
func (r *reporter) start(ctx context.Context) error {
	f := informers.NewSharedInformerFactoryWithOptions(r.kube, 0, informers.WithNamespace(r.ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = common.LabelKeyWorkflow }))
	inf := f.Core().V1().Pods().Informer()
	handle := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok {
			r.podChanged(ctx, pod)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    handle,
		UpdateFunc: func(_, obj any) { handle(obj) },
	}); err != nil {
		return fmt.Errorf("kube: task result reporter: %w", err)
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("kube: task result reporter: pod informer did not sync: %w", context.Cause(ctx))
	}
	return nil
}

// podChanged reports the outputs of a pod that has just ended.
func (r *reporter) podChanged(ctx context.Context, pod *corev1.Pod) {
	if pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		return
	}
	nodeID := pod.Annotations[common.AnnotationKeyNodeID]
	wfName := pod.Labels[common.LabelKeyWorkflow]
	var owner *metav1.OwnerReference
	for i := range pod.OwnerReferences {
		if o := &pod.OwnerReferences[i]; o.Kind == "Workflow" {
			owner = o
		}
	}
	if nodeID == "" || wfName == "" || owner == nil {
		return
	}
	results := r.wfc.ArgoprojV1alpha1().WorkflowTaskResults(pod.Namespace)
	if _, err := results.Get(ctx, nodeID, metav1.GetOptions{}); err == nil || !apierrors.IsNotFound(err) {
		return // reported already (or the API server is unreachable: the next update retries)
	}
	res := &wfv1.WorkflowTaskResult{
		ObjectMeta: metav1.ObjectMeta{
			Name: nodeID,
			Labels: map[string]string{
				common.LabelKeyWorkflow:               wfName,
				common.LabelKeyReportOutputsCompleted: "true",
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: owner.APIVersion, Kind: owner.Kind, Name: owner.Name, UID: owner.UID}},
		},
	}
	if pod.Status.Phase == corev1.PodSucceeded {
		tmpl, err := r.template(ctx, pod)
		if err != nil {
			r.log("task result reporter: no template", "pod", pod.Name, "err", err)
			return
		}
		res.Outputs = outputsOf(tmpl, wfName, pod.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := results.Create(ctx, res, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		r.log("task result reporter: create", "pod", pod.Name, "err", err)
	}
}

// template returns the resolved template Argo gave the pod (the
// ARGO_TEMPLATE variable of its init container, possibly offloaded to a
// config map when large).
func (r *reporter) template(ctx context.Context, pod *corev1.Pod) (*wfv1.Template, error) {
	containers := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range containers {
		for _, env := range c.Env {
			if env.Name != common.EnvVarTemplate {
				continue
			}
			val := env.Value
			if ref := env.ValueFrom; ref != nil && ref.ConfigMapKeyRef != nil {
				cm, err := r.kube.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ref.ConfigMapKeyRef.Name, metav1.GetOptions{})
				if err != nil {
					return nil, fmt.Errorf("offloaded template: %w", err)
				}
				val = cm.Data[ref.ConfigMapKeyRef.Key]
			}
			tmpl := &wfv1.Template{}
			if err := json.Unmarshal([]byte(val), tmpl); err != nil {
				return nil, fmt.Errorf("decode %s: %w", common.EnvVarTemplate, err)
			}
			return tmpl, nil
		}
	}
	return nil, fmt.Errorf("pod %s has no %s", pod.Name, common.EnvVarTemplate)
}

// outputsOf returns the outputs of a container of tmpl that wrote nothing.
func outputsOf(tmpl *wfv1.Template, wfName, podName string) *wfv1.Outputs {
	out := &wfv1.Outputs{}
	for _, p := range tmpl.Outputs.Parameters {
		if p.ValueFrom != nil && p.ValueFrom.Default != nil {
			out.Parameters = append(out.Parameters, wfv1.Parameter{Name: p.Name, Value: p.ValueFrom.Default})
		}
	}
	for _, a := range tmpl.Outputs.Artifacts {
		art := *a.DeepCopy()
		if !art.HasLocation() && tmpl.ArchiveLocation != nil {
			loc := tmpl.ArchiveLocation.DeepCopy()
			if err := loc.AppendToKey(a.Name + ".tgz"); err != nil {
				_ = loc.SetKey(path.Join(wfName, podName, a.Name+".tgz"))
			}
			art.ArtifactLocation = *loc
		}
		out.Artifacts = append(out.Artifacts, art)
	}
	if !out.HasOutputs() {
		return nil
	}
	return out
}
