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
// twice at once. On shutdown Run ends onLead's context and waits for onLead to return before it
// releases the Lease, so the next leader starts after this one's work has stopped. A leader
// that cannot renew within RenewDeadline has its context ended at once, and others wait for
// LeaseDuration after its last renewal, so onLead must stop promptly when its context ends.
//
// Without Kubernetes (the embedded, single-process setup) Config.AlwaysLeader makes the process
// the leader until its context ends.
package leader
