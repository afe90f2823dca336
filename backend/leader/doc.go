// Package leader elects one leader among the replicas of Kiln's backend, so that work which
// must happen once — following every active run into the store, firing recurring runs — is
// done by one process while every replica serves the API.
//
// On Kubernetes the election is a coordination.k8s.io/v1 Lease (client-go's leaderelection):
//
//	err := leader.Run(ctx, leader.Config{Client: cs, Namespace: "kiln", Logger: log},
//		func(ctx context.Context) {
//			// leading: ctx ends when leadership is lost or Run's ctx ends
//		})
//
// Run campaigns again after losing the lease, until its context ends. onLead is never called
// twice at once, and Run waits for it to return before it gives up (and, on shutdown, releases)
// the lease, so the next leader never overlaps with this one's work as far as this process can
// tell; the lease duration bounds the overlap when a process stops renewing without knowing.
//
// Without Kubernetes (the embedded, single-process setup) Config.AlwaysLeader makes the process
// the leader until its context ends.
package leader
