package graph

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"bethel/pkg/cache"
)

// sysProcAttr puts a command in its own process group (so that cancelling
// kills everything it started) and has the kernel kill it if bethel dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// bootID identifies this boot of the machine; process numbers and start
// times mean nothing across boots. It is the stat cache's (read once per
// process), "-" when unknown.
func bootID() string {
	if id := cache.BootID(); id != "" {
		return id
	}
	return "-"
}

// readProcStat reads /proc/<pid>/stat with one open(2) (cache.OpenPlain)
// and no fstat, which os.ReadFile would add: it is read for every command
// started.
func readProcStat(pid int) ([]byte, error) {
	f, err := cache.OpenPlain("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// procStat returns a process's group and start time (clock ticks after
// boot) from /proc/<pid>/stat.
func procStat(pid int) (pgrp int, start uint64, ok bool) {
	b, err := readProcStat(pid)
	if err != nil {
		return 0, 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state): pgrp is field 5, starttime field 22.
	if len(f) < 20 {
		return 0, 0, false
	}
	pg, err1 := strconv.Atoi(string(f[2]))
	st, err2 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return pg, st, true
}

// procStart is the start time of pid, 0 when unknown.
func procStart(pid int) uint64 {
	_, st, _ := procStat(pid)
	return st
}

// endGroup kills every process of group pgid and waits briefly for them
// to go; it returns how many it killed. The kernel gives no process a
// number still in use as a group's, so the group is ours unless a live
// process with its number started at another time than the recorded
// leader (the group died out and the number was reused).
func endGroup(pgid int, leaderStart uint64) int {
	if _, st, ok := procStat(pgid); ok && leaderStart != 0 && st != leaderStart {
		return 0
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var pids []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if pg, _, ok := procStat(pid); ok && pg == pgid {
			if unix.Kill(pid, unix.SIGKILL) == nil {
				pids = append(pids, pid)
			}
		}
	}
	waitGone(pids, time.Second)
	return len(pids)
}

// processExists reports whether pid is still a live process (a zombie
// counts as gone: it can write nothing).
func processExists(pid int) bool {
	b, err := readProcStat(pid)
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// memfd is a new file in memory (memfd_create), or nil.
func memfd(name string) *os.File {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(fd), name)
}
