//go:build !linux

package local

import "syscall"

// sysProcAttr puts Jupyter in its own process group so stop reaches it and its helpers at once.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
