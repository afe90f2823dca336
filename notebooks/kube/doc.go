// Package kube runs notebooks on Kubernetes, one set of objects per notebook in its namespace:
//
//   - StatefulSet <name> with one replica (zero when stopped): the notebook container with NB_PREFIX
//     (and NOTEBOOK_ARGS for jupyter/docker-stacks images) set to /notebook/<namespace>/<name>/,
//     JUPYTER_TOKEN from the Secret, the requested CPU, memory and GPUs, fsGroup 100 so the
//     notebook user can write its volumes, a memory-backed /dev/shm, and a readiness probe on
//     <prefix>api, which also catches images that ignore the prefix.
//   - Service <name> (port 80 to the container's notebook-port), the proxy's target.
//   - PersistentVolumeClaim <name>-workspace mounted at /home/jovyan, kept while stopped.
//   - Secret <name>-jupyter-token, kept across stop and start.
//
// The Service, claim and Secret are owned by the StatefulSet, so the garbage collector removes them
// with it; Delete also removes them explicitly, so nothing stays behind whatever state the
// notebook is in. Status reads the StatefulSet, the pod and Warning events; PodPhase turns image
// pull errors, crash loops and unschedulable pods into messages a user can act on.
package kube
