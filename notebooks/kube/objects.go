package kube

import (
	"path"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kilnml/kiln/notebooks"
)

// Labels put on every object a notebook owns.
const (
	// LabelNotebook holds the notebook's name; it selects the notebook's pod.
	LabelNotebook = "notebooks.kiln.dev/name"
	// LabelManagedBy marks Kiln's objects.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// containerName is the notebook container in the pod.
	containerName = "notebook"
	// tokenKey is the key of the Jupyter token in the notebook's Secret.
	tokenKey = "token"
	// gpuResource is the extended resource GPUs are requested as.
	gpuResource corev1.ResourceName = "nvidia.com/gpu"
)

// Object names derived from a notebook's name.
func workspaceClaimName(name string) string { return name + "-workspace" }
func tokenSecretName(name string) string    { return name + "-jupyter-token" }
func podName(name string) string            { return name + "-0" }

func labels(name string) map[string]string {
	return map[string]string{LabelNotebook: name, LabelManagedBy: "kiln"}
}

// ownerRef makes obj owned by the StatefulSet, so the garbage collector removes it with the
// StatefulSet even if Delete is interrupted.
func ownerRef(sts *appsv1.StatefulSet) []metav1.OwnerReference {
	return []metav1.OwnerReference{{
		APIVersion: "apps/v1", Kind: "StatefulSet", Name: sts.Name, UID: sts.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
}

// buildStatefulSet returns the desired StatefulSet for nb with the given replica count (1 running,
// 0 stopped).
func (s *Spawner) buildStatefulSet(nb *notebooks.Notebook, replicas int32) *appsv1.StatefulSet {
	prefix := notebooks.PathPrefix(nb.Namespace, nb.Name)
	image := nb.Spec.Image
	if image == "" {
		image = s.opts.DefaultImage
	}
	env := []corev1.EnvVar{
		// Kubeflow-style images read NB_PREFIX; jupyter/docker-stacks images read NOTEBOOK_ARGS.
		// Serving under the prefix is what keeps custom images from answering 404 behind the proxy.
		{Name: "NB_PREFIX", Value: prefix},
		{Name: "NOTEBOOK_ARGS", Value: "--ServerApp.base_url=" + prefix},
		{Name: "JUPYTER_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: tokenSecretName(nb.Name)}, Key: tokenKey}}},
	}
	for _, e := range nb.Spec.Env {
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	volumes := []corev1.Volume{
		{Name: "workspace", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: workspaceClaimName(nb.Name)}}},
		// Kernels (PyTorch data loaders above all) need more shared memory than the 64Mi default.
		{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: "workspace", MountPath: s.opts.MountPath},
		{Name: "dshm", MountPath: "/dev/shm"},
	}
	for _, v := range nb.Spec.DataVolumes {
		mp := v.MountPath
		if mp == "" {
			mp = path.Join(s.opts.MountPath, v.Name)
		}
		volumes = append(volumes, corev1.Volume{Name: "data-" + v.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.ClaimName, ReadOnly: v.ReadOnly}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "data-" + v.Name, MountPath: mp, ReadOnly: v.ReadOnly})
	}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: nb.Name, Namespace: nb.Namespace, Labels: labels(nb.Name),
			Annotations: map[string]string{"notebooks.kiln.dev/owner": nb.Owner}},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: nb.Name,
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{LabelNotebook: nb.Name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels(nb.Name)},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{FSGroup: ptr.To(s.opts.FSGroup)},
					Containers: []corev1.Container{{
						Name:            containerName,
						Image:           image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Env:             env,
						Ports:           []corev1.ContainerPort{{Name: "notebook-port", ContainerPort: s.opts.Port, Protocol: corev1.ProtocolTCP}},
						Resources:       resources(nb.Spec.Resources),
						VolumeMounts:    mounts,
						WorkingDir:      s.opts.MountPath,
						ReadinessProbe: &corev1.Probe{
							// /api answers without a token on every Jupyter server; under the prefix it
							// proves the image honours NB_PREFIX.
							ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
								Path: prefix + "api", Port: intstr.FromInt32(s.opts.Port)}},
							PeriodSeconds: 5, TimeoutSeconds: 3, FailureThreshold: 3,
						},
					}},
					Volumes: volumes,
				},
			},
		},
	}
}

// resources turns the spec's requests into container resources. GPUs, an extended resource,
// must be set as limits (equal to requests).
func resources(r notebooks.Resources) corev1.ResourceRequirements {
	var out corev1.ResourceRequirements
	req := corev1.ResourceList{}
	if r.CPU != "" {
		req[corev1.ResourceCPU] = resource.MustParse(r.CPU)
	}
	if r.Memory != "" {
		req[corev1.ResourceMemory] = resource.MustParse(r.Memory)
	}
	if r.GPU > 0 {
		gpu := *resource.NewQuantity(int64(r.GPU), resource.DecimalSI)
		req[gpuResource] = gpu
		out.Limits = corev1.ResourceList{gpuResource: gpu}
	}
	if len(req) > 0 {
		out.Requests = req
	}
	return out
}

func (s *Spawner) buildService(nb *notebooks.Notebook, owner *appsv1.StatefulSet) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: nb.Name, Namespace: nb.Namespace, Labels: labels(nb.Name), OwnerReferences: ownerRef(owner)},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{LabelNotebook: nb.Name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("notebook-port"),
				Protocol: corev1.ProtocolTCP}},
		},
	}
}

func (s *Spawner) buildWorkspaceClaim(nb *notebooks.Notebook, owner *appsv1.StatefulSet) *corev1.PersistentVolumeClaim {
	size := nb.Spec.Workspace.Size
	if size == "" {
		size = s.opts.WorkspaceSize
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: workspaceClaimName(nb.Name), Namespace: nb.Namespace, Labels: labels(nb.Name), OwnerReferences: ownerRef(owner)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	if sc := nb.Spec.Workspace.StorageClass; sc != "" {
		pvc.Spec.StorageClassName = ptr.To(sc)
	}
	return pvc
}

func (s *Spawner) buildTokenSecret(nb *notebooks.Notebook, owner *appsv1.StatefulSet, token string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: tokenSecretName(nb.Name), Namespace: nb.Namespace, Labels: labels(nb.Name), OwnerReferences: ownerRef(owner)},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{tokenKey: []byte(token)},
	}
}
