package graph

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LockedError says that another bethel holds the workspace lock.
type LockedError struct {
	PID  int // 0 when the holder's pid could not be read
	Root string
}

func (e *LockedError) Error() string {
	who := "another bethel"
	if e.PID > 0 {
		who = fmt.Sprintf("another bethel (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s is running in this workspace (%s); wait for it to finish and try again", who, e.Root)
}

// lockPoll is how often a waiting bethel retries the lock.
const lockPoll = 10 * time.Millisecond

// lockWorkspace takes the exclusive flock on .bethel/lock (creating
// .bethel/ when needed), waiting up to wait (0: not at all). The holder
// writes its pid into the file so that a refused bethel can say who holds
// it; the kernel drops the lock when the holder dies, so a crash never
// leaves the workspace locked.
func lockWorkspace(root string, wait time.Duration, onWait func(pid int)) (unlock func(), err error) {
	unlock, _, err = lockWorkspaceAt(root, wait, onWait)
	return unlock, err
}

// lockWorkspaceAt also returns the lock file's modification time (in
// nanoseconds, from the file system's clock) once the holder's pid is
// written: a time stamp taken before anything of the build is stat'ed, for
// the clean fingerprint's racy check.
func lockWorkspaceAt(root string, wait time.Duration, onWait func(pid int)) (unlock func(), at int64, err error) {
	if err := os.MkdirAll(bethelDir(root), 0o700); err != nil {
		return nil, 0, err
	}
	path := lockPath(root)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, err
	}
	deadline := time.Now().Add(wait)
	waited := false
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, 0, fmt.Errorf("lock %s: %w", path, err)
		}
		pid := readPID(path)
		if wait <= 0 || time.Now().After(deadline) {
			f.Close()
			return nil, 0, &LockedError{PID: pid, Root: root}
		}
		if !waited && onWait != nil {
			onWait(pid)
		}
		waited = true
		time.Sleep(lockPoll)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	if fi, err := f.Stat(); err == nil {
		at = fi.ModTime().UnixNano()
	}
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, at, nil
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
