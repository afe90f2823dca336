package kube

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kilnml/kiln/notebooks"
)

// PodPhase maps a notebook pod's state to a phase and a message a data scientist can act on:
// image pull errors and crash loops become Failed with the image, exit code and reason spelled
// out, unschedulable pods stay Pending with the scheduler's reason, and a running pod that does
// not pass its readiness probe is Starting.
func PodPhase(pod *corev1.Pod) (notebooks.Phase, string) {
	if pod.DeletionTimestamp != nil {
		return notebooks.PhaseStopping, "pod " + pod.Name + " is terminating"
	}
	var cs *corev1.ContainerStatus
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == containerName {
			cs = &pod.Status.ContainerStatuses[i]
		}
	}
	if cs != nil && cs.State.Waiting != nil {
		w := cs.State.Waiting
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable":
			return notebooks.PhaseFailed, fmt.Sprintf("cannot pull image %q (%s)%s; check the image name and that the cluster may pull it",
				cs.Image, w.Reason, detail(w.Message))
		case "CrashLoopBackOff":
			msg := fmt.Sprintf("the notebook server keeps crashing (%d restarts)", cs.RestartCount)
			if t := cs.LastTerminationState.Terminated; t != nil {
				msg += fmt.Sprintf("; last exit code %d", t.ExitCode)
				if t.Reason != "" {
					msg += " (" + t.Reason + ")"
				}
				msg += detail(t.Message)
			}
			return notebooks.PhaseFailed, msg
		case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
			return notebooks.PhaseFailed, fmt.Sprintf("cannot create the notebook container (%s)%s", w.Reason, detail(w.Message))
		}
	}
	switch pod.Status.Phase {
	case corev1.PodFailed:
		return notebooks.PhaseFailed, strings.TrimSpace("pod failed: " + pod.Status.Reason + " " + pod.Status.Message)
	case corev1.PodSucceeded:
		return notebooks.PhaseFailed, "the notebook server exited"
	case corev1.PodRunning:
		if condition(pod, corev1.PodReady) == corev1.ConditionTrue {
			return notebooks.PhaseRunning, ""
		}
		return notebooks.PhaseStarting, "waiting for the server to answer its readiness probe; the image must serve Jupyter under $NB_PREFIX"
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return notebooks.PhasePending, "cannot be scheduled: " + c.Message
		}
	}
	if condition(pod, corev1.PodScheduled) == corev1.ConditionTrue {
		msg := "starting the notebook container"
		if cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
			msg += " (" + cs.State.Waiting.Reason + ")"
		}
		return notebooks.PhaseStarting, msg
	}
	return notebooks.PhasePending, "waiting to be scheduled"
}

// podReason names what is wrong with a pod in one CamelCase word: the notebook container's
// waiting reason, the pod's failure reason or Unschedulable; empty when nothing is.
func podReason(pod *corev1.Pod) string {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == containerName && cs.State.Waiting != nil && cs.State.Waiting.Reason != "" &&
			cs.State.Waiting.Reason != "ContainerCreating" && cs.State.Waiting.Reason != "PodInitializing" {
			return cs.State.Waiting.Reason
		}
	}
	if pod.Status.Phase == corev1.PodFailed {
		if pod.Status.Reason != "" {
			return pod.Status.Reason
		}
		return "PodFailed"
	}
	if pod.Status.Phase == corev1.PodSucceeded {
		return "Exited"
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return corev1.PodReasonUnschedulable
		}
	}
	return ""
}

func condition(pod *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

func detail(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}
