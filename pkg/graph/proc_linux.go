package graph

import "syscall"

// sysProcAttr puts a command in its own process group (so that cancelling
// kills everything it started) and has the kernel kill it if bethel dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
