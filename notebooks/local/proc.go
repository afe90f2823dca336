package local

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procID identifies a process across pid reuse: the pid and its start time in clock ticks since boot.
type procID struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime"`
}

// procStat is the part of /proc/<pid>/stat the spawner needs.
type procStat struct {
	ppid, pgid int
	startTime  uint64
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) may contain spaces and parentheses; fields after it are fixed.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: no command", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	st, err3 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	if f[0] == "Z" {
		// A zombie has exited; it only waits to be reaped.
		return procStat{ppid: ppid, pgid: pgid, startTime: st}, errZombie
	}
	return procStat{ppid: ppid, pgid: pgid, startTime: st}, nil
}

var errZombie = errors.New("zombie process")

// identify returns the procID of a live process.
func identify(pid int) (procID, error) {
	st, err := readStat(pid)
	if err != nil {
		return procID{}, err
	}
	return procID{PID: pid, StartTime: st.startTime}, nil
}

// alive reports whether the process still runs and is the same process (not a reused pid).
func (p procID) alive() bool {
	st, err := readStat(p.PID)
	return err == nil && st.startTime == p.StartTime
}

// descendants returns every live process below root in the process tree. Kernels run in their own
// sessions (jupyter_client uses start_new_session), so the process group alone does not find them.
func descendants(root int) []procID {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]procID{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil {
			continue
		}
		children[st.ppid] = append(children[st.ppid], procID{PID: pid, StartTime: st.startTime})
	}
	var out []procID
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out
}

// killAll sends SIGKILL to each process that is still the one recorded.
func killAll(procs []procID) {
	for _, p := range procs {
		if p.alive() {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
}

// waitGone waits until none of procs is alive or the deadline passes.
func waitGone(procs []procID, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		live := false
		for _, p := range procs {
			if p.alive() {
				live = true
				break
			}
		}
		if !live {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort asks the kernel for an unused loopback port. Jupyter binds it with --port-retries=0;
// if another process takes it first, Jupyter exits and the supervisor retries with a new port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
