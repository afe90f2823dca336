package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kilnml/kiln/notebooks"
)

func newTestSpawner(t *testing.T) *Spawner {
	t.Helper()
	// Builders do no I/O: the client points nowhere.
	s, err := New(Options{Client: kubernetes.NewForConfigOrDie(&rest.Config{Host: "http://127.0.0.1:1"})})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBuildStatefulSet(t *testing.T) {
	tokenEnv := corev1.EnvVar{Name: "JUPYTER_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "nb-jupyter-token"}, Key: "token"}}}
	baseMounts := []corev1.VolumeMount{{Name: "workspace", MountPath: "/home/jovyan"}, {Name: "dshm", MountPath: "/dev/shm"}}
	baseVolumes := []corev1.Volume{
		{Name: "workspace", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "nb-workspace"}}},
		{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
	}
	tests := []struct {
		name      string
		spec      notebooks.Spec
		replicas  int32
		image     string
		env       []corev1.EnvVar
		resources corev1.ResourceRequirements
		mounts    []corev1.VolumeMount
		volumes   []corev1.Volume
	}{
		{
			name: "defaults", replicas: 1, image: DefaultImage,
			env: []corev1.EnvVar{
				{Name: "NB_PREFIX", Value: "/notebook/team-a/nb/"},
				{Name: "NOTEBOOK_ARGS", Value: "--ServerApp.base_url=/notebook/team-a/nb/"},
				tokenEnv,
			},
			mounts: baseMounts, volumes: baseVolumes,
		},
		{
			name: "stopped with resources, gpu, env and data volumes", replicas: 0, image: "example.com/ds:1",
			spec: notebooks.Spec{
				Image:     "example.com/ds:1",
				Resources: notebooks.Resources{CPU: "500m", Memory: "2Gi", GPU: 1},
				Env:       []notebooks.EnvVar{{Name: "KILN_NAMESPACE", Value: "team-a"}},
				DataVolumes: []notebooks.DataVolume{
					{Name: "raw", ClaimName: "raw-data", ReadOnly: true},
					{Name: "out", ClaimName: "outputs", MountPath: "/mnt/out"},
				},
			},
			env: []corev1.EnvVar{
				{Name: "NB_PREFIX", Value: "/notebook/team-a/nb/"},
				{Name: "NOTEBOOK_ARGS", Value: "--ServerApp.base_url=/notebook/team-a/nb/"},
				tokenEnv,
				{Name: "KILN_NAMESPACE", Value: "team-a"},
			},
			resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("2Gi"), gpuResource: resource.MustParse("1")},
				Limits:   corev1.ResourceList{gpuResource: resource.MustParse("1")},
			},
			mounts: append(append([]corev1.VolumeMount{}, baseMounts...),
				corev1.VolumeMount{Name: "data-raw", MountPath: "/home/jovyan/raw", ReadOnly: true},
				corev1.VolumeMount{Name: "data-out", MountPath: "/mnt/out"}),
			volumes: append(append([]corev1.Volume{}, baseVolumes...),
				corev1.Volume{Name: "data-raw", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "raw-data", ReadOnly: true}}},
				corev1.Volume{Name: "data-out", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "outputs"}}}),
		},
	}
	s := newTestSpawner(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nb := &notebooks.Notebook{Name: "nb", Namespace: "team-a", Owner: "alice", Spec: tt.spec}
			sts := s.buildStatefulSet(nb, tt.replicas)
			if diff := cmp.Diff(tt.replicas, *sts.Spec.Replicas); diff != "" {
				t.Errorf("replicas (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]string{LabelNotebook: "nb"}, sts.Spec.Selector.MatchLabels); diff != "" {
				t.Errorf("selector (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(labels("nb"), sts.Spec.Template.Labels); diff != "" {
				t.Errorf("pod labels (-want +got):\n%s", diff)
			}
			pod := sts.Spec.Template.Spec
			if diff := cmp.Diff(&corev1.PodSecurityContext{FSGroup: ptr.To[int64](100)}, pod.SecurityContext); diff != "" {
				t.Errorf("security context (-want +got):\n%s", diff)
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("containers = %d, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			if c.Image != tt.image {
				t.Errorf("image = %q, want %q", c.Image, tt.image)
			}
			if diff := cmp.Diff(tt.env, c.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.resources, c.Resources); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.mounts, c.VolumeMounts); diff != "" {
				t.Errorf("mounts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.volumes, pod.Volumes); diff != "" {
				t.Errorf("volumes (-want +got):\n%s", diff)
			}
			wantProbe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/notebook/team-a/nb/api", Port: intstr.FromInt32(8888)}}, PeriodSeconds: 5, TimeoutSeconds: 3, FailureThreshold: 3}
			if diff := cmp.Diff(wantProbe, c.ReadinessProbe); diff != "" {
				t.Errorf("readiness probe (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOwnedObjects(t *testing.T) {
	s := newTestSpawner(t)
	nb := &notebooks.Notebook{Name: "nb", Namespace: "team-a", Spec: notebooks.Spec{Workspace: notebooks.Workspace{Size: "5Gi", StorageClass: "fast"}}}
	owner := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "nb", UID: types.UID("uid-1")}}
	wantRefs := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "nb", UID: "uid-1",
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}

	svc := s.buildService(nb, owner)
	if diff := cmp.Diff(wantRefs, svc.OwnerReferences); diff != "" {
		t.Errorf("service owner (-want +got):\n%s", diff)
	}
	wantPorts := []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("notebook-port"), Protocol: corev1.ProtocolTCP}}
	if diff := cmp.Diff(wantPorts, svc.Spec.Ports); diff != "" {
		t.Errorf("service ports (-want +got):\n%s", diff)
	}

	pvc := s.buildWorkspaceClaim(nb, owner)
	if diff := cmp.Diff(wantRefs, pvc.OwnerReferences); diff != "" {
		t.Errorf("claim owner (-want +got):\n%s", diff)
	}
	if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.String() != "5Gi" {
		t.Errorf("claim size = %s, want 5Gi", got.String())
	}
	if diff := cmp.Diff(ptr.To("fast"), pvc.Spec.StorageClassName); diff != "" {
		t.Errorf("storage class (-want +got):\n%s", diff)
	}
	sec := s.buildTokenSecret(nb, owner, "t0k")
	if diff := cmp.Diff(map[string][]byte{"token": []byte("t0k")}, sec.Data); diff != "" {
		t.Errorf("secret data (-want +got):\n%s", diff)
	}
}

func TestValidateSpec(t *testing.T) {
	s := newTestSpawner(t)
	spec := &notebooks.Spec{DataVolumes: []notebooks.DataVolume{{Name: "a", Path: "/data"}, {Name: "b", ClaimName: "ok"}}}
	var got []string
	for _, e := range s.ValidateSpec(spec, field.NewPath("spec")) {
		got = append(got, e.Field)
	}
	want := []string{"spec.dataVolumes[0].path", "spec.dataVolumes[0].claimName"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}
