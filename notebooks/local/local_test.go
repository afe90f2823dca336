package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kilnml/kiln/notebooks"
	"github.com/kilnml/kiln/notebooks/local"
)

// requireJupyter skips (or fails under CI=true) when Jupyter is not installed.
func requireJupyter(t *testing.T) {
	t.Helper()
	_, err1 := exec.LookPath("jupyter")
	_, err2 := exec.LookPath("jupyter-notebook")
	if err1 == nil && err2 == nil {
		return
	}
	msg := "jupyter notebook not found: install Debian's jupyter-notebook (apt-get install jupyter-notebook)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// env is a Manager with the local spawner behind a real HTTP server.
type env struct {
	t       *testing.T
	mgr     *notebooks.Manager
	spawner *local.Spawner
	srv     *httptest.Server
}

// users maps bearer tokens to users and users to the namespaces they may use.
var users = map[string][]string{"alice": {"team-a"}, "bob": {"team-b"}}

func auth() notebooks.Authorizer {
	return notebooks.AuthorizerFunc(func(r *http.Request, ns string) (string, error) {
		user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		nss, known := users[user]
		if !ok || !known {
			return "", notebooks.ErrUnauthenticated
		}
		for _, n := range nss {
			if n == ns {
				return user, nil
			}
		}
		return "", fmt.Errorf("user %s may not use namespace %s: %w", user, ns, notebooks.ErrForbidden)
	})
}

func newEnv(t *testing.T, opts notebooks.Options) *env {
	t.Helper()
	requireJupyter(t)
	dir := t.TempDir()
	sp, err := local.New(context.Background(), local.Options{Dir: filepath.Join(dir, "notebooks"), StopGrace: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := notebooks.NewFileRepository(filepath.Join(dir, "records"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Repository, opts.Spawner = repo, sp
	mgr, err := notebooks.NewManager(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mgr.Handler(auth()))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := sp.Close(ctx); err != nil {
			t.Errorf("close spawner: %v", err)
		}
	})
	return &env{t: t, mgr: mgr, spawner: sp, srv: srv}
}

// do sends a request as user and decodes a JSON answer into out (if not nil); it returns the status.
func (e *env) do(user, method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+user)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", e.srv.URL)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

// waitPhase polls the API until the notebook reaches phase.
func (e *env) waitPhase(user, ns, name string, phase notebooks.Phase, within time.Duration) *notebooks.Notebook {
	e.t.Helper()
	deadline := time.Now().Add(within)
	var nb notebooks.Notebook
	for time.Now().Before(deadline) {
		if code := e.do(user, "GET", "/api/v1/notebooks/"+ns+"/"+name, nil, &nb); code != http.StatusOK {
			e.t.Fatalf("get %s/%s: HTTP %d", ns, name, code)
		}
		if nb.Status.Phase == phase {
			return &nb
		}
		if nb.Status.Phase == notebooks.PhaseFailed {
			e.t.Fatalf("notebook %s/%s failed: %s (events %+v)", ns, name, nb.Status.Message, nb.Status.Events)
		}
		time.Sleep(150 * time.Millisecond)
	}
	e.t.Fatalf("notebook %s/%s is %s after %s, want %s (message %q, events %+v)", ns, name, nb.Status.Phase, within, phase, nb.Status.Message, nb.Status.Events)
	return nil
}

// serverPID reads the pid of the running Jupyter from the spawner's pid file.
func (e *env) serverPID(ns, name string) (pid, port int) {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(e.spawner.WorkspaceDir(ns, name)), "server.json"))
	if err != nil {
		e.t.Fatalf("read pid file: %v", err)
	}
	var pf struct {
		Server struct{ PID int } `json:"server"`
		Port   int               `json:"port"`
	}
	if err := json.Unmarshal(b, &pf); err != nil {
		e.t.Fatal(err)
	}
	return pf.Server.PID, pf.Port
}

// treeOf returns pid and all its descendants, from /proc.
func treeOf(pid int) []int {
	out := []int{pid}
	entries, _ := os.ReadDir("/proc")
	parent := map[int][]int{}
	for _, en := range entries {
		var p int
		if _, err := fmt.Sscan(en.Name(), &p); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + en.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		var pp int
		fmt.Sscan(f[1], &pp)
		parent[pp] = append(parent[pp], p)
	}
	for i := 0; i < len(out); i++ {
		out = append(out, parent[out[i]]...)
	}
	return out
}

// assertGone fails if any pid still runs (zombies count as gone) or the port is still bound.
func assertGone(t *testing.T, pids []int, port int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil || strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))[0] == "Z" {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("process %d still runs: %s", pid, b)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Connections the peer has not closed yet can hold the port for a moment after the server died.
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	for i := 0; err != nil && i < 30; i++ {
		time.Sleep(100 * time.Millisecond)
		l, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	}
	if err != nil {
		out, _ := exec.Command("ss", "-ltnp").CombinedOutput()
		t.Errorf("port %d is still in use: %v\n%s", port, err, out)
		return
	}
	l.Close()
}

// startKernel creates a kernel through the proxy and returns its id.
func (e *env) startKernel(user, ns, name string) string {
	e.t.Helper()
	var k struct{ ID string }
	if code := e.do(user, "POST", notebooks.PathPrefix(ns, name)+"api/kernels", map[string]string{"name": "python3"}, &k); code != http.StatusCreated {
		e.t.Fatalf("create kernel: HTTP %d", code)
	}
	return k.ID
}

// execute runs code in a kernel over the proxied WebSocket (Jupyter's messaging protocol v5) and
// returns the text of stdout streams and execute results.
func (e *env) execute(user, ns, name, kernel, code string) string {
	e.t.Helper()
	wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + notebooks.PathPrefix(ns, name) + "api/kernels/" + kernel + "/channels?session_id=kiln-test"
	h := http.Header{"Authorization": {"Bearer " + user}, "Origin": {e.srv.URL}}
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		e.t.Fatalf("dial kernel websocket: %v (HTTP %d)", err, status)
	}
	defer conn.Close()
	msgID := fmt.Sprintf("exec-%d", time.Now().UnixNano())
	req := map[string]any{
		"header": map[string]any{"msg_id": msgID, "username": user, "session": "kiln-test",
			"msg_type": "execute_request", "version": "5.3", "date": time.Now().UTC().Format(time.RFC3339)},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell", "buffers": []any{},
		"content": map[string]any{"code": code, "silent": false, "store_history": true,
			"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
	}
	if err := conn.WriteJSON(req); err != nil {
		e.t.Fatalf("send execute_request: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var out strings.Builder
	for {
		var msg struct {
			Channel string `json:"channel"`
			Header  struct {
				MsgType string `json:"msg_type"`
			}
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
			Content json.RawMessage
		}
		if err := conn.ReadJSON(&msg); err != nil {
			e.t.Fatalf("read kernel message: %v (output so far %q)", err, out.String())
		}
		if msg.ParentHeader.MsgID != msgID {
			continue
		}
		var c struct {
			Text      string            `json:"text"`
			Data      map[string]string `json:"data"`
			Status    string            `json:"status"`
			EValue    string            `json:"evalue"`
			ExecState string            `json:"execution_state"`
		}
		_ = json.Unmarshal(msg.Content, &c)
		switch msg.Header.MsgType {
		case "stream":
			out.WriteString(c.Text)
		case "execute_result":
			out.WriteString(c.Data["text/plain"])
		case "error":
			e.t.Fatalf("kernel error: %s", c.EValue)
		case "status":
			if c.ExecState == "idle" {
				return out.String()
			}
		}
	}
}

func TestLocalNotebookLifecycleThroughProxy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, notebooks.Options{})
	var created notebooks.Notebook
	code := e.do("alice", "POST", "/api/v1/notebooks/team-a", notebooks.CreateRequest{Name: "nb1",
		Spec: notebooks.Spec{Env: []notebooks.EnvVar{{Name: "GREETING", Value: "hello"}}}}, &created)
	if code != http.StatusCreated {
		t.Fatalf("create: HTTP %d", code)
	}
	if created.Owner != "alice" {
		t.Errorf("owner = %q, want alice", created.Owner)
	}
	nb := e.waitPhase("alice", "team-a", "nb1", notebooks.PhaseRunning, 60*time.Second)
	if want := "/notebook/team-a/nb1/"; nb.Status.URL != want {
		t.Errorf("url = %q, want %q", nb.Status.URL, want)
	}

	// Jupyter answers through the proxy; the browser never sends its token.
	var st struct {
		Started string `json:"started"`
	}
	if code := e.do("alice", "GET", "/notebook/team-a/nb1/api/status", nil, &st); code != http.StatusOK || st.Started == "" {
		t.Fatalf("proxied /api/status: HTTP %d, %+v", code, st)
	}
	// The tree page renders behind the prefix (no 404 for the UI).
	if code := e.do("alice", "GET", "/notebook/team-a/nb1/tree", nil, nil); code != http.StatusOK {
		t.Errorf("proxied /tree: HTTP %d", code)
	}

	// Auth: bob may not reach team-a's notebook; nobody without a token either.
	if code := e.do("bob", "GET", "/notebook/team-a/nb1/api/status", nil, nil); code != http.StatusForbidden {
		t.Errorf("bob through proxy: HTTP %d, want 403", code)
	}
	if code := e.do("bob", "GET", "/api/v1/notebooks/team-a/nb1", nil, nil); code != http.StatusForbidden {
		t.Errorf("bob get: HTTP %d, want 403", code)
	}
	if code := e.do("mallory", "GET", "/notebook/team-a/nb1/api/status", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("unknown user through proxy: HTTP %d, want 401", code)
	}

	// A kernel runs code over the proxied WebSocket; the code writes a file into the workspace.
	kernel := e.startKernel("alice", "team-a", "nb1")
	got := e.execute("alice", "team-a", "nb1", kernel,
		"import os\nopen('kept.txt', 'w').write('before stop')\nprint(os.environ['GREETING'], os.environ['KILN_NAMESPACE'])\n6*7")
	if want := "hello team-a\n42"; got != want {
		t.Errorf("kernel output = %q, want %q", got, want)
	}

	// A WebSocket from a foreign origin is refused before it reaches Jupyter.
	wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/notebook/team-a/nb1/api/kernels/" + kernel + "/channels"
	_, resp, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Authorization": {"Bearer alice"}, "Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin websocket: err %v, resp %v; want 403", err, resp)
	}

	var logs []byte
	resp, err = http.DefaultClient.Do(func() *http.Request {
		r, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/notebooks/team-a/nb1/logs?tailLines=100", nil)
		r.Header.Set("Authorization", "Bearer alice")
		return r
	}())
	if err == nil {
		logs, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if !bytes.Contains(logs, []byte("=== kiln:")) || !bytes.Contains(logs, []byte("/notebook/team-a/nb1/")) {
		t.Errorf("logs do not show the server start: %q (%v)", logs, err)
	}
	if bytes.Contains(logs, []byte("token=")) && !bytes.Contains(logs, []byte("token=...")) {
		t.Errorf("logs show the token: %q", logs)
	}

	pid, port := e.serverPID("team-a", "nb1")
	procs := treeOf(pid)
	if len(procs) < 2 {
		t.Errorf("expected jupyter and a kernel below pid %d, found %v", pid, procs)
	}

	// Stop: every process goes, the port is released, the phase is Stopped.
	if code := e.do("alice", "POST", "/api/v1/notebooks/team-a/nb1/stop", nil, &created); code != http.StatusOK {
		t.Fatalf("stop: HTTP %d", code)
	}
	e.waitPhase("alice", "team-a", "nb1", notebooks.PhaseStopped, 10*time.Second)
	assertGone(t, procs, port)
	if code := e.do("alice", "GET", "/notebook/team-a/nb1/api/status", nil, nil); code != http.StatusServiceUnavailable {
		t.Errorf("proxy to stopped notebook: HTTP %d, want 503", code)
	}

	// Start again: the file written before the stop is still there, through Jupyter's API.
	if code := e.do("alice", "POST", "/api/v1/notebooks/team-a/nb1/start", nil, nil); code != http.StatusOK {
		t.Fatalf("start: HTTP %d", code)
	}
	e.waitPhase("alice", "team-a", "nb1", notebooks.PhaseRunning, 60*time.Second)
	var content struct{ Content string }
	if code := e.do("alice", "GET", "/notebook/team-a/nb1/api/contents/kept.txt?content=1", nil, &content); code != http.StatusOK || content.Content != "before stop" {
		t.Errorf("kept.txt after restart: HTTP %d, content %q", code, content.Content)
	}

	// Delete removes processes and the workspace.
	pid, port = e.serverPID("team-a", "nb1")
	procs = treeOf(pid)
	if code := e.do("alice", "DELETE", "/api/v1/notebooks/team-a/nb1", nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: HTTP %d", code)
	}
	assertGone(t, procs, port)
	if _, err := os.Stat(e.spawner.WorkspaceDir("team-a", "nb1")); !os.IsNotExist(err) {
		t.Errorf("workspace after delete: %v, want it gone", err)
	}
	if code := e.do("alice", "GET", "/api/v1/notebooks/team-a/nb1", nil, nil); code != http.StatusNotFound {
		t.Errorf("get after delete: HTTP %d, want 404", code)
	}
}

func TestLocalCullAndRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, notebooks.Options{CullInterval: 300 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- e.mgr.Run(ctx) }()
	defer func() { cancel(); <-runDone }()

	idle := &notebooks.Duration{Duration: 5 * time.Second}
	if code := e.do("bob", "POST", "/api/v1/notebooks/team-b", notebooks.CreateRequest{Name: "idle",
		Spec: notebooks.Spec{IdleTimeout: idle}}, nil); code != http.StatusCreated {
		t.Fatalf("create: HTTP %d", code)
	}
	never := &notebooks.Duration{}
	if code := e.do("bob", "POST", "/api/v1/notebooks/team-b", notebooks.CreateRequest{Name: "keep",
		Spec: notebooks.Spec{IdleTimeout: never}}, nil); code != http.StatusCreated {
		t.Fatalf("create: HTTP %d", code)
	}
	e.waitPhase("bob", "team-b", "idle", notebooks.PhaseRunning, 60*time.Second)
	// Write a file through Jupyter's contents API (activity, and something to find after restart).
	put := map[string]string{"type": "file", "format": "text", "content": "x"}
	if code := e.do("bob", "PUT", "/notebook/team-b/idle/api/contents/work.txt", put, nil); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("write work.txt: HTTP %d", code)
	}
	pid, port := e.serverPID("team-b", "idle")
	procs := treeOf(pid)
	e.waitPhase("bob", "team-b", "keep", notebooks.PhaseRunning, 60*time.Second)

	nb := e.waitPhase("bob", "team-b", "idle", notebooks.PhaseStopped, 20*time.Second)
	if !hasReason(nb.Status.Events, "Culled") {
		t.Errorf("events %+v, want a Culled event", nb.Status.Events)
	}
	if nb.Status.LastActivity.IsZero() {
		t.Error("last activity not recorded")
	}
	assertGone(t, procs, port)
	var keep notebooks.Notebook
	e.do("bob", "GET", "/api/v1/notebooks/team-b/keep", nil, &keep)
	if keep.Status.Phase != notebooks.PhaseRunning {
		t.Errorf("notebook with idle timeout 0 is %s, want Running", keep.Status.Phase)
	}

	// A culled notebook starts again, is not culled at once, and has its workspace.
	if code := e.do("bob", "POST", "/api/v1/notebooks/team-b/idle/start", nil, nil); code != http.StatusOK {
		t.Fatalf("start: HTTP %d", code)
	}
	e.waitPhase("bob", "team-b", "idle", notebooks.PhaseRunning, 60*time.Second)
	if b, err := os.ReadFile(filepath.Join(e.spawner.WorkspaceDir("team-b", "idle"), "work.txt")); err != nil || string(b) != "x" {
		t.Errorf("work.txt after restart: %q, %v", b, err)
	}
}

func hasReason(evs []notebooks.Event, reason string) bool {
	for _, ev := range evs {
		if ev.Reason == reason {
			return true
		}
	}
	return false
}

func TestLocalNoOrphansAfterShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, notebooks.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- e.mgr.Run(ctx) }()
	for _, name := range []string{"a", "b"} {
		if code := e.do("alice", "POST", "/api/v1/notebooks/team-a", notebooks.CreateRequest{Name: name}, nil); code != http.StatusCreated {
			t.Fatalf("create %s: HTTP %d", name, code)
		}
	}
	var pids, ports []int
	for _, name := range []string{"a", "b"} {
		e.waitPhase("alice", "team-a", name, notebooks.PhaseRunning, 60*time.Second)
		k := e.startKernel("alice", "team-a", name)
		e.execute("alice", "team-a", name, k, "1")
		pid, port := e.serverPID("team-a", name)
		pids = append(pids, treeOf(pid)...)
		ports = append(ports, port)
	}
	if len(pids) < 4 {
		t.Fatalf("expected two servers with a kernel each, found processes %v", pids)
	}
	cancel()
	if err := <-runDone; err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, port := range ports {
		assertGone(t, pids, port)
	}
}

func TestLocalCrashRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, notebooks.Options{})
	if code := e.do("alice", "POST", "/api/v1/notebooks/team-a", notebooks.CreateRequest{Name: "crashy"}, nil); code != http.StatusCreated {
		t.Fatalf("create: HTTP %d", code)
	}
	e.waitPhase("alice", "team-a", "crashy", notebooks.PhaseRunning, 60*time.Second)
	k := e.startKernel("alice", "team-a", "crashy")
	e.execute("alice", "team-a", "crashy", k, "1")
	pid, port := e.serverPID("team-a", "crashy")
	procs := treeOf(pid)
	time.Sleep(2500 * time.Millisecond) // let the supervisor see the kernel
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The kernel of the crashed server is cleaned up and a new server comes up on a new process.
	assertGone(t, procs, port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		nb := e.waitPhase("alice", "team-a", "crashy", notebooks.PhaseRunning, 60*time.Second)
		if newPID, _ := e.serverPID("team-a", "crashy"); newPID != pid {
			if !hasReason(nb.Status.Events, "Restarting") {
				t.Errorf("events %+v, want a Restarting event", nb.Status.Events)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server was not restarted")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code := e.do("alice", "GET", "/notebook/team-a/crashy/api/status", nil, nil); code != http.StatusOK {
		t.Errorf("proxy after restart: HTTP %d", code)
	}
}

// TestLeftoverFromPreviousLife: a server (and its kernel) left running by an earlier life of Kiln
// is killed by the next spawner on the same directory.
func TestLeftoverFromPreviousLife(t *testing.T) {
	t.Parallel()
	requireJupyter(t)
	ctx := context.Background()
	dir := t.TempDir()
	old, err := local.New(ctx, local.Options{Dir: dir, MaxRestarts: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close(ctx)
	if err := old.Start(ctx, &notebooks.Notebook{Name: "nb", Namespace: "ns"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, _ := old.Status(ctx, "ns", "nb")
		if st.Phase == notebooks.PhaseRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old server is %s: %s", st.Phase, st.Message)
		}
		time.Sleep(100 * time.Millisecond)
	}
	target, token, err := old.Endpoint(ctx, "ns", "nb")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", target.String()+"/notebook/ns/nb/api/kernels", strings.NewReader(`{"name":"python3"}`))
	req.Header.Set("Authorization", "token "+token)
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("start kernel: %v %v", err, resp)
	}
	resp.Body.Close()
	e := &env{t: t, spawner: old}
	pid, port := e.serverPID("ns", "nb")
	var procs []int
	for time.Now().Before(deadline) { // wait for the kernel to appear and be recorded
		procs = treeOf(pid)
		b, _ := os.ReadFile(filepath.Join(dir, "ns", "nb", "server.json"))
		if len(procs) >= 2 && strings.Contains(string(b), "children") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(procs) < 2 {
		t.Fatalf("no kernel below %d", pid)
	}

	next, err := local.New(ctx, local.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := next.Stop(ctx, "ns", "nb"); err != nil {
		t.Fatal(err)
	}
	assertGone(t, procs, port)
}
