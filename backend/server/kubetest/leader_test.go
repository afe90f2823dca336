package kubetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/leader"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/postgres"
	argoengine "github.com/kilnml/kiln/engine/argo"
	"github.com/kilnml/kiln/internal/cli"
	"github.com/kilnml/kiln/internal/testenv/kube"
	pgtest "github.com/kilnml/kiln/internal/testenv/postgres"
)

// leaderNamespace has its own workflow-controller, so these tests do not depend on the other
// end-to-end tests' set-up.
const leaderNamespace = "kiln-leader"

// Lease timings short enough for a test, long enough for a loaded 2-core machine.
const (
	testLeaseDuration = 4 * time.Second
	testRenewDeadline = 3 * time.Second
	testRetryPeriod   = 300 * time.Millisecond
)

// A two-step DAG whose pods kwok runs for podDuration.
const leaderSpec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: replicas-
spec:
  entrypoint: main
  arguments:
    parameters:
    - name: duration
      value: 200ms
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        template: echo
      - name: b
        template: echo
        depends: a
  - name: echo
    metadata:
      annotations:
        kiln.dev/kwok-duration: "{{workflow.parameters.duration}}"
    container:
      image: busybox:1.36
      command: [echo, hello]
`

// nodeWrites records every node record the replicas write, by replica.
type nodeWrites struct {
	mu     sync.Mutex
	writes map[string][]string // "run/node phase message started finished outputs" → replicas
}

func (w *nodeWrites) add(replica, runID string, n store.Node) {
	key := fmt.Sprintf("%s/%s %s %q started %s finished %s outputs %s", runID, n.ID, n.Phase, n.Message,
		n.StartedAt.Format(time.RFC3339Nano), n.FinishedAt.Format(time.RFC3339Nano), n.Outputs)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes[key] = append(w.writes[key], replica)
}

// by returns how many node records the replica wrote, and the records written more than once.
func (w *nodeWrites) by(replica string) (n int, dups []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, rs := range w.writes {
		n += strings.Count(strings.Join(rs, " "), replica)
		if len(rs) > 1 {
			dups = append(dups, fmt.Sprintf("%s written by %v", k, rs))
		}
	}
	return n, dups
}

// recordingStore is a replica's real PostgreSQL store that records the node records it writes.
type recordingStore struct {
	store.Store
	replica string
	writes  *nodeWrites
}

func (s recordingStore) UpsertNodes(ctx context.Context, runID string, nodes []store.Node) error {
	if err := s.Store.UpsertNodes(ctx, runID, nodes); err != nil {
		return err
	}
	for _, n := range nodes {
		s.writes.add(s.replica, runID, n)
	}
	return nil
}

// replica is one Kiln server of the Deployment: its own engine (informers), store connections
// and HTTP server, sharing the database and the API server with the others.
type replica struct {
	name string
	eng  *argoengine.Engine
	st   store.Store
	srv  *server.Server
	ts   *httptest.Server
	c    *client.Client
	once sync.Once
}

func startReplica(ctx context.Context, t *testing.T, env *kube.Env, dsn, name string, writes *nodeWrites) *replica {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := argoengine.New(ctx, argoengine.Config{RestConfig: env.Config, Namespace: leaderNamespace, Namespaces: []string{leaderNamespace}})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgres.Open(ctx, postgres.Options{DSN: dsn, MaxConns: 5})
	if err != nil {
		eng.Close()
		t.Fatal(err)
	}
	r := &replica{name: name, eng: eng, st: pg}
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), Engine: eng, Notebooks: false,
		Store:              recordingStore{Store: pg, replica: name, writes: writes},
		SchedulerInterval:  500 * time.Millisecond,
		LeaderScanInterval: 200 * time.Millisecond,
		Leader: &leader.Config{Client: cs.CoordinationV1(), Namespace: leaderNamespace, Identity: name,
			LeaseDuration: testLeaseDuration, RenewDeadline: testRenewDeadline, RetryPeriod: testRetryPeriod},
	})
	if err != nil {
		eng.Close()
		pg.Close()
		t.Fatal(err)
	}
	r.srv = srv
	r.ts = httptest.NewServer(srv.Handler())
	r.c = client.New(r.ts.URL, client.Options{})
	t.Cleanup(r.stop)
	return r
}

// stop shuts the replica down as a terminated pod does: the server stops (giving up the
// Lease), then its informers and connections.
func (r *replica) stop() {
	r.once.Do(func() {
		r.ts.Close()
		r.srv.Close()
		r.eng.Close()
		r.st.Close()
	})
}

// get returns the status code and body of a GET on the replica.
func (r *replica) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(r.ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// leading reports the replica's kiln_leader gauge.
func (r *replica) leading(t *testing.T) bool {
	t.Helper()
	code, body := r.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("%s /metrics: %d", r.name, code)
	}
	for _, line := range strings.Split(body, "\n") {
		switch line {
		case "kiln_leader 1":
			return true
		case "kiln_leader 0":
			return false
		}
	}
	t.Fatalf("%s /metrics has no kiln_leader gauge", r.name)
	return false
}

// eventually polls cond until it holds, failing after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

func leaseHolder(ctx context.Context, t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	l, err := cs.CoordinationV1().Leases(leaderNamespace).Get(ctx, leader.DefaultName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// waitSucceeded polls the run through c until it ends and checks that it succeeded with the
// node graph of its Workflow in the cluster, each node once.
func waitSucceeded(ctx context.Context, t *testing.T, c *client.Client, wfc wfclientset.Interface, id string) *api.Run {
	t.Helper()
	r, err := c.WaitRun(ctx, id, 200*time.Millisecond)
	if err != nil {
		t.Fatalf("wait for run %s: %v", id, err)
	}
	if r, err = c.GetRun(ctx, id); err != nil {
		t.Fatal(err)
	}
	if r.Phase != string(store.PhaseSucceeded) {
		t.Fatalf("run %s ended %s: %s", id, r.Phase, r.Message)
	}
	list, err := wfc.ArgoprojV1alpha1().Workflows(leaderNamespace).List(ctx, metav1.ListOptions{LabelSelector: argoengine.LabelRunID + "=" + id})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("workflow of run %s: %v (%d found)", id, err, len(list.Items))
	}
	want := map[string]string{}
	for nid, n := range list.Items[0].Status.Nodes {
		want[nid] = string(n.Phase)
	}
	got := map[string]string{}
	for _, n := range r.Nodes {
		if _, dup := got[n.ID]; dup {
			t.Errorf("run %s: node %s stored twice", id, n.ID)
		}
		got[n.ID] = n.Phase
	}
	if len(want) < 3 || !mapsEqual(want, got) {
		t.Errorf("run %s nodes = %v, want those of its Workflow %v", id, got, want)
	}
	return r
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestLeaderElection runs two replicas of the server on one PostgreSQL database and one API
// server, with Argo's workflow-controller and kwok running the pods: exactly one leads; a run
// submitted through the other is followed by the leader to Succeeded with every node record
// written once; a recurring run fires once per tick; and when the leader stops, the other
// takes the Lease within the lease duration and follows a run that was in flight.
func TestLeaderElection(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end through Argo's workflow-controller")
	}
	env := kube.Shared(t)
	dsn := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	kube.Skip(t, env.StartArgoController(ctx, leaderNamespace))
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	wfc, err := wfclientset.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	writes := &nodeWrites{writes: map[string][]string{}}
	// The first replica migrates the database before the second opens it.
	a := startReplica(ctx, t, env, dsn, "replica-a", writes)
	b := startReplica(ctx, t, env, dsn, "replica-b", writes)

	var lead, follower *replica
	eventually(t, 20*time.Second, "a leader", func() bool { return a.leading(t) || b.leading(t) })
	lead, follower = a, b
	if b.leading(t) {
		lead, follower = b, a
	}
	for range 5 { // a few renewals: never two leaders
		if a.leading(t) && b.leading(t) {
			t.Fatal("both replicas lead")
		}
		time.Sleep(testRetryPeriod)
	}
	if got := leaseHolder(ctx, t, cs); got != lead.name {
		t.Fatalf("Lease holder = %q, want the leading replica %q", got, lead.name)
	}
	for _, r := range []*replica{a, b} {
		if code, body := r.get(t, "/readyz"); code != http.StatusOK {
			t.Errorf("%s /readyz = %d %s, want 200 on leader and follower alike", r.name, code, body)
		}
	}
	t.Logf("%s leads, %s follows", lead.name, follower.name)

	p, err := follower.c.UploadPipeline(ctx, "replicas", "", []byte(leaderSpec))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("run submitted through the follower", func(t *testing.T) {
		run, err := follower.c.CreateRun(ctx, api.CreateRunRequest{Name: "via-follower", PipelineVersionID: p.Version.ID})
		if err != nil {
			t.Fatal(err)
		}
		waitSucceeded(ctx, t, follower.c, wfc, run.ID)
		if n, _ := writes.by(follower.name); n != 0 {
			t.Errorf("the follower wrote %d node records; only the leader follows runs", n)
		}
	})

	t.Run("recurring run fires once per tick", func(t *testing.T) {
		rr, err := follower.c.CreateRecurringRun(ctx, api.RecurringRun{Name: "every-2s", PipelineVersionID: p.Version.ID,
			Interval: "2s", Enabled: true, MaxConcurrency: 10})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		time.Sleep(7 * time.Second)
		if _, err := follower.c.SetRecurringRunEnabled(ctx, rr.ID, false); err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		time.Sleep(time.Second) // a pass that started before the disable has ended
		list, err := lead.c.ListRuns(ctx, client.ListRunsOptions{Filter: fmt.Sprintf("recurring_run_id == %q", rr.ID), PageOptions: client.PageOptions{PageSize: 100}})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range list.Runs {
			names = append(names, r.Name) // the name carries the tick's time
		}
		slices.Sort(names)
		if len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Errorf("a tick fired twice: %v", names)
		}
		if maxTicks := int(elapsed/(2*time.Second)) + 1; len(names) < 2 || len(names) > maxTicks {
			t.Errorf("%d runs fired in %v at a 2s interval, want 2..%d: %v", len(names), elapsed, maxTicks, names)
		}
		for _, r := range list.Runs {
			waitSucceeded(ctx, t, lead.c, wfc, r.ID)
		}
	})

	t.Run("leader stops", func(t *testing.T) {
		run, err := lead.c.CreateRun(ctx, api.CreateRunRequest{Name: "in-flight", PipelineVersionID: p.Version.ID,
			Parameters: map[string]string{"duration": "4s"}})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, "the run is Running", func() bool {
			r, err := lead.c.GetRun(ctx, run.ID)
			return err == nil && r.Phase == string(store.PhaseRunning)
		})
		lead.stop()
		took := eventually(t, testLeaseDuration, follower.name+" leads", func() bool { return follower.leading(t) })
		t.Logf("%s took over %v after %s stopped (lease duration %v)", follower.name, took, lead.name, testLeaseDuration)
		if got := leaseHolder(ctx, t, cs); got != follower.name {
			t.Errorf("Lease holder = %q, want %q", got, follower.name)
		}
		waitSucceeded(ctx, t, follower.c, wfc, run.ID)
	})

	na, dups := writes.by(a.name)
	nb, _ := writes.by(b.name)
	t.Logf("node records written: %s %d, %s %d", a.name, na, b.name, nb)
	if len(dups) > 0 {
		t.Errorf("node records written more than once:\n%s", strings.Join(dups, "\n"))
	}
}

// TestServerCommandElects starts `kiln server --engine kubernetes` twice (the command itself,
// in this process) on one database and API server: the flags' defaults elect a leader through
// the kiln-backend Lease in --leader-election-namespace, named after POD_NAME, and when the
// leader's command ends the other replica takes over.
func TestServerCommandElects(t *testing.T) {
	env := kube.Shared(t)
	dsn := pgtest.Start(t)
	kubeconfig, err := env.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "kiln-leader-cli-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("POD_NAME", "kiln-server-cli")
	type command struct {
		url  string
		stop func() int
	}
	start := func(name string) *command {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		logPath := filepath.Join(t.TempDir(), name+".log")
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cctx, ccancel := context.WithCancel(ctx)
		done := make(chan int, 1)
		go func() {
			done <- cli.Main(cctx, []string{"server", "--engine=kubernetes", "--kubeconfig=" + kubeconfig,
				"--kube-namespace=" + ns.Name, "--leader-election-namespace=" + ns.Name, "--db=" + dsn,
				"--data=" + t.TempDir(), "--addr=" + addr, "--notebooks=false", "--log-format=text"}, io.Discard, logFile)
		}()
		var once sync.Once
		code := 0
		c := &command{url: "http://" + addr, stop: func() int {
			once.Do(func() {
				ccancel()
				select {
				case code = <-done:
				case <-time.After(30 * time.Second):
					t.Errorf("kiln server %s did not stop", name)
				}
				logFile.Close()
			})
			return code
		}}
		t.Cleanup(func() { c.stop() })
		eventually(t, time.Minute, "kiln server "+name+" ready", func() bool {
			select {
			case code := <-done:
				b, _ := os.ReadFile(logPath)
				t.Fatalf("kiln server %s exited %d:\n%s", name, code, b)
			default:
			}
			resp, err := http.Get(c.url + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		return c
	}
	gauge := func(c *command) string {
		resp, err := http.Get(c.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "kiln_leader ") {
				return strings.TrimPrefix(line, "kiln_leader ")
			}
		}
		return "missing"
	}
	a := start("a") // the first one migrates the database
	b := start("b")
	eventually(t, 20*time.Second, "a leader", func() bool { return gauge(a) == "1" || gauge(b) == "1" })
	first, second := a, b
	if gauge(b) == "1" {
		first, second = b, a
	}
	if g := gauge(second); g != "0" {
		t.Fatalf("kiln_leader of the other replica = %s, want 0", g)
	}
	l, err := cs.CoordinationV1().Leases(ns.Name).Get(ctx, leader.DefaultName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := l.Spec.HolderIdentity; h == nil || !strings.HasPrefix(*h, "kiln-server-cli_") {
		t.Errorf("Lease holder = %v, want POD_NAME with a suffix", h)
	}
	if code := first.stop(); code != 0 {
		t.Errorf("the leader's kiln server exited %d", code)
	}
	took := eventually(t, leader.DefaultLeaseDuration, "the other replica leads", func() bool { return gauge(second) == "1" })
	t.Logf("took over %v after the leader's command ended", took)
}

// TestEmbeddedServerLeads: without leader election the one process leads.
func TestEmbeddedServerLeads(t *testing.T) {
	srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), SchedulerInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	r := &replica{name: "embedded", ts: ts}
	if !r.leading(t) {
		t.Error("kiln_leader = 0 on the embedded server, want 1")
	}
}

// TestServerRejectsInvalidLeaderConfig: a leader election that could never run fails New
// rather than leave the replica silently unable to lead.
func TestServerRejectsInvalidLeaderConfig(t *testing.T) {
	_, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), SchedulerInterval: -1,
		Leader: &leader.Config{LeaseDuration: time.Second, RenewDeadline: 2 * time.Second}})
	if !errors.Is(err, leader.ErrInvalidConfig) {
		t.Fatalf("New = %v, want ErrInvalidConfig", err)
	}
	for _, w := range []string{"client", "namespace", "renewDeadline"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %s", err, w)
		}
	}
}
