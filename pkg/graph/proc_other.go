//go:build !linux

package graph

import (
	"os"
	"syscall"
)

// sysProcAttr puts a command in its own process group, so that cancelling
// kills everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// bootID is unknown here: records of process groups are trusted as they
// are.
func bootID() string { return "-" }

func procStart(int) uint64 { return 0 }

// endGroup kills the process group; without /proc, a reused group number
// cannot be told apart.
func endGroup(pgid int, _ uint64) int {
	if syscall.Kill(-pgid, syscall.SIGKILL) == nil {
		return 1
	}
	return 0
}

func processExists(pid int) bool { return syscall.Kill(pid, 0) == nil }

// memfd is nil: runGroup uses an unlinked temporary file.
func memfd(string) *os.File { return nil }
