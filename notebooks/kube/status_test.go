package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kilnml/kiln/notebooks"
)

func waiting(reason, msg string) corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodPending,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "notebook", Image: "example.com/nope:1",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}}
}

func TestPodPhase(t *testing.T) {
	now := metav1.Now()
	crash := waiting("CrashLoopBackOff", "back-off 40s restarting failed container")
	crash.Phase = corev1.PodRunning
	crash.ContainerStatuses[0].RestartCount = 4
	crash.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}
	tests := []struct {
		name       string
		pod        corev1.Pod
		wantPhase  notebooks.Phase
		wantMsg    string
		wantReason string
	}{
		{
			name:       "image pull backoff",
			wantReason: "ImagePullBackOff",
			pod:        corev1.Pod{Status: waiting("ImagePullBackOff", `Back-off pulling image "example.com/nope:1"`)},
			wantPhase:  notebooks.PhaseFailed,
			wantMsg:    `cannot pull image "example.com/nope:1" (ImagePullBackOff): Back-off pulling image "example.com/nope:1"; check the image name and that the cluster may pull it`,
		},
		{
			name:       "err image pull",
			wantReason: "ErrImagePull",
			pod:        corev1.Pod{Status: waiting("ErrImagePull", "not found")},
			wantPhase:  notebooks.PhaseFailed,
			wantMsg:    `cannot pull image "example.com/nope:1" (ErrImagePull): not found; check the image name and that the cluster may pull it`,
		},
		{
			name:       "crash loop",
			wantReason: "CrashLoopBackOff",
			pod:        corev1.Pod{Status: crash},
			wantPhase:  notebooks.PhaseFailed,
			wantMsg:    "the notebook server keeps crashing (4 restarts); last exit code 1 (Error)",
		},
		{
			name:       "config error",
			wantReason: "CreateContainerConfigError",
			pod:        corev1.Pod{Status: waiting("CreateContainerConfigError", `secret "nb-jupyter-token" not found`)},
			wantPhase:  notebooks.PhaseFailed,
			wantMsg:    `cannot create the notebook container (CreateContainerConfigError): secret "nb-jupyter-token" not found`,
		},
		{
			name:      "container creating",
			pod:       corev1.Pod{Status: waiting("ContainerCreating", "")},
			wantPhase: notebooks.PhaseStarting,
			wantMsg:   "starting the notebook container (ContainerCreating)",
		},
		{
			name:       "unschedulable",
			wantReason: "Unschedulable",
			pod: corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
				Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
				Message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}}}},
			wantPhase: notebooks.PhasePending,
			wantMsg:   "cannot be scheduled: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
		},
		{
			name:      "not scheduled yet",
			pod:       corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}},
			wantPhase: notebooks.PhasePending,
			wantMsg:   "waiting to be scheduled",
		},
		{
			name: "running not ready",
			pod: corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
				{Type: corev1.PodReady, Status: corev1.ConditionFalse}}}},
			wantPhase: notebooks.PhaseStarting,
			wantMsg:   "waiting for the server to answer its readiness probe; the image must serve Jupyter under $NB_PREFIX",
		},
		{
			name: "running and ready",
			pod: corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
				{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}},
			wantPhase: notebooks.PhaseRunning,
		},
		{
			name:       "evicted",
			wantReason: "Evicted",
			pod:        corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "The node was low on resource: memory."}},
			wantPhase:  notebooks.PhaseFailed,
			wantMsg:    "pod failed: Evicted The node was low on resource: memory.",
		},
		{
			name:      "terminating",
			pod:       corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "nb-0", DeletionTimestamp: &now}, Status: corev1.PodStatus{Phase: corev1.PodRunning}},
			wantPhase: notebooks.PhaseStopping,
			wantMsg:   "pod nb-0 is terminating",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phase, msg := PodPhase(&tt.pod)
			if diff := cmp.Diff(tt.wantPhase, phase); diff != "" {
				t.Errorf("phase (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMsg, msg); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantReason, podReason(&tt.pod)); diff != "" {
				t.Errorf("reason (-want +got):\n%s", diff)
			}
		})
	}
}
