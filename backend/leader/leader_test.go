package leader_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"

	"github.com/kilnml/kiln/backend/leader"
	"github.com/kilnml/kiln/internal/testenv/kube"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// Short timings keep hand-overs within a second or two.
const (
	leaseDuration = 2 * time.Second
	renewDeadline = time.Second
	retryPeriod   = 200 * time.Millisecond
)

// candidate is one replica campaigning through Run.
type candidate struct {
	id      string
	leading atomic.Bool
	terms   atomic.Int32 // how often onLead was called
	cancel  context.CancelFunc
	done    chan error
}

func campaign(t *testing.T, client coordinationv1client.LeasesGetter, ns, id string) *candidate {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &candidate{id: id, cancel: cancel, done: make(chan error, 1)}
	cfg := leader.Config{Client: client, Namespace: ns, Identity: id,
		LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod}
	go func() {
		c.done <- leader.Run(ctx, cfg, func(ctx context.Context) {
			if !c.leading.CompareAndSwap(false, true) {
				t.Errorf("%s: onLead called while already leading", id)
			}
			c.terms.Add(1)
			<-ctx.Done()
			c.leading.Store(false)
		})
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop ends the candidate's Run and waits for it.
func (c *candidate) stop(t *testing.T) {
	t.Helper()
	c.cancel()
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("%s: Run = %v", c.id, err)
		}
		c.done <- nil // later stops return at once
	case <-time.After(10 * time.Second):
		t.Errorf("%s: Run did not return after its context ended", c.id)
	}
}

// waitFor polls cond until it holds or within elapses.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func holder(t *testing.T, cs kubernetes.Interface, ns string) string {
	t.Helper()
	l, err := cs.CoordinationV1().Leases(ns).Get(context.Background(), leader.DefaultName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func newNamespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "leader-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func clientset(t *testing.T) kubernetes.Interface {
	t.Helper()
	env := kube.Shared(t)
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestOneLeaderAndHandOver: of two candidates exactly one leads and holds the Lease; when it
// stops, it releases the Lease and the other leads well within the lease duration.
func TestOneLeaderAndHandOver(t *testing.T) {
	cs := clientset(t)
	ns := newNamespace(t, cs)
	a := campaign(t, cs.CoordinationV1(), ns, "replica-a")
	b := campaign(t, cs.CoordinationV1(), ns, "replica-b")
	waitFor(t, 10*time.Second, "a leader", func() bool { return a.leading.Load() || b.leading.Load() })
	// Watch a few renewals: never two leaders.
	for range 10 {
		if a.leading.Load() && b.leading.Load() {
			t.Fatal("both candidates lead")
		}
		time.Sleep(retryPeriod)
	}
	first, second := a, b
	if b.leading.Load() {
		first, second = b, a
	}
	if got := holder(t, cs, ns); got != first.id {
		t.Fatalf("Lease holder = %q, want the leader %q", got, first.id)
	}
	first.stop(t)
	if first.leading.Load() {
		t.Fatal("the stopped candidate still leads")
	}
	took := waitFor(t, leaseDuration, "hand-over to "+second.id, second.leading.Load)
	t.Logf("hand-over took %v (lease duration %v)", took, leaseDuration)
	if got := holder(t, cs, ns); got != second.id {
		t.Errorf("Lease holder = %q, want %q", got, second.id)
	}
	if n := first.terms.Load() + second.terms.Load(); n != 2 {
		t.Errorf("leadership terms = %d, want 2", n)
	}
}

// faultyLeases passes Lease requests to the API server until broken is set, then fails them,
// as a replica cut off from the API server does.
type faultyLeases struct {
	coordinationv1client.LeasesGetter
	broken *atomic.Bool
}

func (f faultyLeases) Leases(ns string) coordinationv1client.LeaseInterface {
	return faultyLease{f.LeasesGetter.Leases(ns), f.broken}
}

type faultyLease struct {
	coordinationv1client.LeaseInterface
	broken *atomic.Bool
}

var errCutOff = errors.New("connection to the api server lost")

func (f faultyLease) Get(ctx context.Context, name string, o metav1.GetOptions) (*coordinationv1.Lease, error) {
	if f.broken.Load() {
		return nil, errCutOff
	}
	return f.LeaseInterface.Get(ctx, name, o)
}

func (f faultyLease) Update(ctx context.Context, l *coordinationv1.Lease, o metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	if f.broken.Load() {
		return nil, errCutOff
	}
	return f.LeaseInterface.Update(ctx, l, o)
}

func (f faultyLease) Create(ctx context.Context, l *coordinationv1.Lease, o metav1.CreateOptions) (*coordinationv1.Lease, error) {
	if f.broken.Load() {
		return nil, errCutOff
	}
	return f.LeaseInterface.Create(ctx, l, o)
}

// TestLeaderCutOff: a leader that cannot renew its Lease stops leading (its context ends)
// within the renew deadline, without releasing the Lease; the other candidate takes over once
// the Lease expires, and the cut-off one campaigns again rather than exit.
func TestLeaderCutOff(t *testing.T) {
	cs := clientset(t)
	ns := newNamespace(t, cs)
	var broken atomic.Bool
	a := campaign(t, faultyLeases{cs.CoordinationV1(), &broken}, ns, "replica-a")
	waitFor(t, 10*time.Second, "a leads", a.leading.Load)
	b := campaign(t, cs.CoordinationV1(), ns, "replica-b")
	time.Sleep(2 * retryPeriod)
	if b.leading.Load() {
		t.Fatal("b leads while a holds the Lease")
	}
	broken.Store(true)
	lost := waitFor(t, renewDeadline+2*retryPeriod+time.Second, "a stops leading", func() bool { return !a.leading.Load() })
	took := waitFor(t, 2*leaseDuration+time.Second, "b takes over", b.leading.Load)
	t.Logf("a stopped leading after %v; b led %v later", lost, took)
	broken.Store(false)
	time.Sleep(leaseDuration)
	if a.leading.Load() {
		t.Error("a leads again while b holds the Lease")
	}
	b.stop(t)
	waitFor(t, leaseDuration, "a leads again after b stopped", a.leading.Load)
}

// TestAlwaysLeader: without Kubernetes the process leads until its context ends.
func TestAlwaysLeader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var calls int
	done := make(chan error, 1)
	go func() {
		done <- leader.Run(ctx, leader.Config{AlwaysLeader: true}, func(lctx context.Context) {
			mu.Lock()
			calls++
			mu.Unlock()
			<-lctx.Done()
		})
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Run returned before its context ended: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("onLead called %d times, want 1", calls)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  leader.Config
		want []string // substrings of the error, one per problem
	}{
		{"no client and namespace", leader.Config{}, []string{"client: Required", "namespace: Required"}},
		{"renew deadline not below lease duration", leader.Config{Client: fakeGetter{}, Namespace: "ns", LeaseDuration: time.Second, RenewDeadline: time.Second},
			[]string{"renewDeadline: Invalid value"}},
		{"retry period too long", leader.Config{Client: fakeGetter{}, Namespace: "ns", RetryPeriod: 9 * time.Second},
			[]string{"retryPeriod: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := leader.Run(context.Background(), tt.cfg, func(context.Context) { t.Error("onLead called with an invalid config") })
			if !errors.Is(err, leader.ErrInvalidConfig) {
				t.Fatalf("Run = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// fakeGetter is never called: validation fails first.
type fakeGetter struct {
	coordinationv1client.LeasesGetter
}

func TestIdentity(t *testing.T) {
	t.Setenv("POD_NAME", "kiln-server-7d9f-abcde")
	a, b := leader.Identity(), leader.Identity()
	if !strings.HasPrefix(a, "kiln-server-7d9f-abcde_") {
		t.Errorf("Identity() = %q, want the pod name and a suffix", a)
	}
	if a == b {
		t.Errorf("two identities are equal: %q", a)
	}
}
