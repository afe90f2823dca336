package local

import "syscall"

// sysProcAttr puts Jupyter in its own process group (so stop reaches it and its helpers at once)
// and has the kernel kill it if Kiln dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
