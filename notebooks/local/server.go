package local

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kilnml/kiln/notebooks"
)

// server is one supervised notebook server.
type server struct {
	namespace, name string
	dir, workspace  string
	token           string
	env             []string

	stopOnce sync.Once
	stopCh   chan struct{} // closed to ask the supervisor to stop
	done     chan struct{} // closed when the supervisor has exited and no process remains

	mu      sync.Mutex
	phase   notebooks.Phase
	message string
	events  []notebooks.Event
	port    int
}

const maxEvents = 20

func (srv *server) requestStop() { srv.stopOnce.Do(func() { close(srv.stopCh) }) }

func (srv *server) stopRequested() bool {
	select {
	case <-srv.stopCh:
		return true
	default:
		return false
	}
}

func (srv *server) set(phase notebooks.Phase, msg string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.phase, srv.message = phase, msg
}

func (srv *server) event(typ notebooks.EventType, reason, msg string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.events = append(srv.events, notebooks.Event{Time: time.Now().UTC(), Type: typ, Reason: reason, Message: msg})
	if len(srv.events) > maxEvents {
		srv.events = slices.Clone(srv.events[len(srv.events)-maxEvents:])
	}
}

func (srv *server) status() notebooks.Status {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	phase := srv.phase
	if srv.stopRequested() && phase != notebooks.PhaseStopped {
		phase = notebooks.PhaseStopping
	}
	return notebooks.Status{Phase: phase, Message: srv.message, Events: slices.Clone(srv.events)}
}

// supervise runs the server until a stop is requested, restarting it after crashes with
// exponential backoff up to MaxRestarts, then marks the notebook Failed.
func (s *Spawner) supervise(srv *server) {
	// Pdeathsig is delivered when the thread that started the child exits, not the process: keep
	// this goroutine on its own thread for the child's whole life so the signal means "Kiln died".
	runtime.LockOSThread()
	defer close(srv.done)
	restarts := 0
	for {
		started := time.Now()
		err := s.runOnce(srv)
		if err == nil {
			srv.set(notebooks.PhaseStopped, "")
			srv.event(notebooks.EventNormal, "Stopped", "server stopped")
			return
		}
		if time.Since(started) > 5*time.Minute {
			restarts = 0 // it ran fine for a while; this is a new problem, not a crash loop
		}
		restarts++
		s.log.Warn("notebook server exited", "namespace", srv.namespace, "name", srv.name, "err", err, "restart", restarts)
		if s.opts.MaxRestarts < 0 || restarts > s.opts.MaxRestarts {
			msg := fmt.Sprintf("server keeps failing, gave up after %d restarts: %v", restarts-1, err)
			srv.set(notebooks.PhaseFailed, msg)
			srv.event(notebooks.EventWarning, "CrashLoop", msg)
			return
		}
		backoff := time.Second << (restarts - 1)
		srv.set(notebooks.PhasePending, fmt.Sprintf("restarting in %s after: %v", backoff, err))
		srv.event(notebooks.EventWarning, "Restarting", fmt.Sprintf("server exited (%v); restart %d of %d in %s", err, restarts, s.opts.MaxRestarts, backoff))
		select {
		case <-srv.stopCh:
			srv.set(notebooks.PhaseStopped, "")
			return
		case <-time.After(backoff):
		}
	}
}

// runOnce starts Jupyter and supervises it until it exits (returning why) or a stop is requested
// (returning nil). Either way, on return no process it started remains.
func (s *Spawner) runOnce(srv *server) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(srv.dir, "jupyter.log")
	logf, err := openLog(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== kiln: %s starting %s on 127.0.0.1:%d\n", time.Now().UTC().Format(time.RFC3339), s.flavor.version, port)
	cmd := exec.Command(s.flavor.command[0], s.args(srv, port)...)
	cmd.Dir = srv.workspace
	cmd.Env = srv.env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start jupyter: %w", err)
	}
	pid := cmd.Process.Pid
	self, _ := identify(pid)
	_ = writePidFile(srv.dir, pidFile{Server: self, Port: port})
	defer os.Remove(filepath.Join(srv.dir, "server.json"))
	srv.mu.Lock()
	srv.port = port
	srv.phase, srv.message = notebooks.PhaseStarting, ""
	srv.mu.Unlock()

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(s.opts.StartTimeout)
	healthy := false
	var known []procID // descendants seen so far: after a crash they can no longer be found by ancestry
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case werr := <-exited:
			killAll(known)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			waitGone(known, 2*time.Second)
			return fmt.Errorf("jupyter exited: %v%s", werr, logTail(logPath))
		case <-srv.stopCh:
			s.terminate(pid, known, exited)
			return nil
		case <-tick.C:
			if merged := mergeProcs(known, descendants(pid)); len(merged) != len(known) {
				known = merged
				_ = writePidFile(srv.dir, pidFile{Server: self, Port: port, Children: known})
			}
			if healthy {
				continue
			}
			if err := probe(client, port, srv); err == nil {
				healthy = true
				tick.Reset(2 * time.Second)
				srv.set(notebooks.PhaseRunning, "")
				srv.event(notebooks.EventNormal, "Started", fmt.Sprintf("%s listening on 127.0.0.1:%d", s.flavor.version, port))
			} else if time.Now().After(deadline) {
				s.terminate(pid, known, exited)
				return fmt.Errorf("jupyter did not answer %sapi/status within %s: %v%s",
					notebooks.PathPrefix(srv.namespace, srv.name), s.opts.StartTimeout, err, logTail(logPath))
			}
		}
	}
}

// terminate asks Jupyter to shut down (SIGTERM to its group: it stops its kernels), kills it after
// StopGrace, then kills every process that was started below it and is still there.
func (s *Spawner) terminate(pid int, known []procID, exited <-chan error) {
	known = mergeProcs(known, descendants(pid))
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(s.opts.StopGrace):
		known = mergeProcs(known, descendants(pid))
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL) // whatever else stayed in the group
	if !waitGone(known, s.opts.StopGrace) {
		killAll(known)
		waitGone(known, 2*time.Second)
	}
}

func mergeProcs(a, b []procID) []procID {
	for _, p := range b {
		if !slices.Contains(a, p) {
			a = append(a, p)
		}
	}
	return a
}

// probe asks the server for /api/status with the token.
func probe(client *http.Client, port int, srv *server) error {
	u := "http://127.0.0.1:" + strconv.Itoa(port) + notebooks.PathPrefix(srv.namespace, srv.name) + "api/status"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "token "+srv.token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	return nil
}

// maxLogSize bounds jupyter.log; beyond it the log is restarted at the next server start.
const maxLogSize = 10 << 20

func openLog(path string) (*os.File, error) {
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLogSize {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open jupyter log: %w", err)
	}
	return f, nil
}

// logTail returns the last lines of the log, to make failures readable without opening it.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 2048 {
		_, _ = f.Seek(-2048, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimSpace(string(bytes.ToValidUTF8(b, nil))), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "; last log lines: " + strings.Join(lines, " | ")
}
