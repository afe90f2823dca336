// Package kube starts a real Kubernetes control plane on loopback for tests:
// etcd and kube-apiserver (and, for end-to-end runs, kube-scheduler,
// kube-controller-manager, kwok and Argo's workflow-controller) built from Go
// modules by scripts/kube-binaries.sh and cached between runs.
//
// A test package shares one control plane per test binary:
//
//	func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		env := kube.Shared(t) // skips (or fails when CI=true) without binaries
//		cs := kubernetes.NewForConfigOrDie(env.Config)
//		...
//	}
//
// The shared instance has Argo's CRDs installed. Tests that restart the API
// server or need a private one call Start themselves.
//
// Env.StartArgoController adds what runs workflows without a container
// runtime. kwok simulates one node and moves pods through their phases
// (AnnotationFail, AnnotationDuration). Since no container runs, the harness
// reports each ended pod's WorkflowTaskResult as Argo's wait container
// would for a container that wrote no files (output parameters take their
// defaults, output artifacts get keys in the controller's placeholder
// artifact repository), without which Argo keeps nodes with outputs
// Running. The node advertises kwok's kubelet-like server, so pods/log
// through the API server works; Env.AppendPodLog writes the log kwok serves
// as every pod's main container log.
package kube
