//go:build !linux

package graph

import "syscall"

// sysProcAttr puts a command in its own process group, so that cancelling
// kills everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
