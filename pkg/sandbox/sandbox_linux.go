package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

var (
	abiOnce sync.Once
	abi     int
	abiErr  error
)

// ABI is the kernel's Landlock ABI version (0 with an error when it has
// none).
func ABI() (int, error) {
	abiOnce.Do(func() {
		v, err := ll.LandlockGetABIVersion()
		switch {
		case err == unix.ENOSYS:
			abiErr = fmt.Errorf("%w: the kernel was built without it", ErrUnavailable)
		case err == unix.EOPNOTSUPP:
			abiErr = fmt.Errorf("%w: it is disabled at boot (add landlock to the lsm= kernel parameter)", ErrUnavailable)
		case err != nil:
			abiErr = fmt.Errorf("%w: %v", ErrUnavailable, err)
		case v < 1:
			abiErr = ErrUnavailable
		default:
			abi = v
		}
	})
	return abi, abiErr
}

// Available reports why commands cannot be confined here, or nil.
func Available() error {
	_, err := ABI()
	return err
}

// Access rights, as go-landlock's RODirs, RWDirs, ROFiles and RWFiles
// give them.
const (
	accessRead  = ll.AccessFSExecute | ll.AccessFSReadFile | ll.AccessFSReadDir
	accessWrite = ll.AccessFSWriteFile | ll.AccessFSRemoveDir | ll.AccessFSRemoveFile | ll.AccessFSMakeChar |
		ll.AccessFSMakeDir | ll.AccessFSMakeReg | ll.AccessFSMakeSock | ll.AccessFSMakeFifo |
		ll.AccessFSMakeBlock | ll.AccessFSMakeSym | ll.AccessFSTruncate
	accessFile = ll.AccessFSExecute | ll.AccessFSWriteFile | ll.AccessFSTruncate | ll.AccessFSReadFile
	accessDev  = ll.AccessFSReadFile | ll.AccessFSWriteFile | ll.AccessFSReadDir
)

// fixed is what every command's ruleset shares, prepared once per
// process rather than for every command: the rights this kernel handles
// (those of Landlock ABI 7 that it knows: rights it does not know are left
// out, never the whole restriction), and the system directories that
// exist and /dev, opened with O_PATH and kept open for the rules.
type fixed struct {
	attr ll.RulesetAttr
	sys  []systemRule // System's directories and Proc's entries
	dev  int          // /dev: accessDev, or -1
}

// systemRule is a system path open with O_PATH and what it allows.
type systemRule struct {
	fd     int
	access uint64
}

var prepared = sync.OnceValues(func() (*fixed, error) {
	v, err := ABI()
	if err != nil {
		return nil, err
	}
	f := &fixed{dev: -1}
	// ABI 1 knows 13 file system rights, 2 adds refer, 3 truncate, 4
	// TCP bind and connect, 5 ioctl on devices; 6 scopes signals and
	// abstract sockets. ABI 7 handles no more of them.
	bits := 13
	switch {
	case v >= 5:
		bits = 16
	case v >= 3:
		bits = 15
	case v >= 2:
		bits = 14
	}
	f.attr.HandledAccessFS = 1<<bits - 1
	if v >= 4 {
		// No rule allows any port: a command connects nowhere over
		// TCP, and binds no port the kernel checks. What it could send
		// is what it may read, private inputs included.
		f.attr.HandledAccessNet = ll.AccessNetBindTCP | ll.AccessNetConnectTCP
	}
	if v >= 6 {
		f.attr.Scoped = ll.ScopeAbstractUnixSocket | ll.ScopeSignal
	}
	for _, d := range systemDirs() {
		if fd, err := unix.Open(d, unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
			f.sys = append(f.sys, systemRule{fd, accessRead})
		}
	}
	for _, p := range Proc {
		var st unix.Stat_t
		if unix.Stat(p, &st) != nil {
			continue
		}
		access := uint64(accessRead & accessFile)
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			access = accessRead
		}
		if fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
			f.sys = append(f.sys, systemRule{fd, access})
		}
	}
	if fd, err := unix.Open("/dev", unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
		f.dev = fd
	}
	return f, nil
})

// systemDirs are System's directories that exist, as their real paths,
// less those beneath another (outermost): where /bin, /sbin and /lib are
// links into /usr, the rule for /usr covers them, and every command's
// ruleset is four rules shorter.
func systemDirs() []string {
	var real []string
	for _, d := range System {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			real = append(real, r)
		}
	}
	return outermost(real)
}

// outermost returns the paths of dirs (absolute and clean) that are not
// beneath another of them, each once, in their order.
func outermost(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		covered := slices.Contains(out, d)
		for _, o := range dirs {
			if o != d && strings.HasPrefix(d, strings.TrimSuffix(o, "/")+"/") {
				covered = true
			}
		}
		if !covered {
			out = append(out, d)
		}
	}
	return out
}

// addRule allows access beneath the file or directory open as fd, within
// what the ruleset handles.
func (f *fixed) addRule(ruleset, fd int, access uint64) error {
	return ll.LandlockAddPathBeneathRule(ruleset, &ll.PathBeneathAttr{AllowedAccess: access & f.attr.HandledAccessFS, ParentFd: fd}, 0)
}

// addPath is addRule for a path, opened for the call.
func (f *fixed) addPath(ruleset int, path string, access uint64) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if err := f.addRule(ruleset, fd, access); err != nil {
		return &os.PathError{Op: "landlock_add_rule", Path: path, Err: err}
	}
	return nil
}

// base makes a ruleset of the rules every command shares: the system's
// paths and /dev.
func (f *fixed) base() (int, error) {
	fd, err := ll.LandlockCreateRuleset(&f.attr, 0)
	if err != nil {
		return -1, err
	}
	for _, s := range f.sys {
		if err := f.addRule(fd, s.fd, s.access); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	if f.dev >= 0 {
		if err := f.addRule(fd, f.dev, accessDev); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// primed is a base ruleset made ahead by Prime for the next command, or
// -1. A ruleset's rules only ever grow, so each one serves one command.
var primed = struct {
	sync.Mutex
	fd int
}{fd: -1}

// Prime makes the rules every command shares ahead, while nothing waits
// for them (the caller's command runs), so that the next Start or Run
// adds only its own: a system call per shared rule, and one to create the
// ruleset, fewer between two commands. One ruleset is kept at most.
func Prime() {
	f, err := prepared()
	if err != nil {
		return
	}
	primed.Lock()
	have := primed.fd >= 0
	primed.Unlock()
	if have {
		return
	}
	fd, err := f.base()
	if err != nil {
		return
	}
	primed.Lock()
	if primed.fd < 0 {
		primed.fd, fd = fd, -1
	}
	primed.Unlock()
	if fd >= 0 {
		unix.Close(fd)
	}
}

// ruleset builds spec's ruleset: the shared rules (primed, or made now),
// then spec's paths.
func (f *fixed) ruleset(spec *Spec) (fd int, err error) {
	primed.Lock()
	fd, primed.fd = primed.fd, -1
	primed.Unlock()
	if fd < 0 {
		if fd, err = f.base(); err != nil {
			return -1, err
		}
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
			fd = -1
		}
	}()
	if err := f.addPath(fd, spec.Tmp, accessRead|accessWrite); err != nil {
		return -1, err
	}
	for _, p := range spec.Read {
		if err := f.addPath(fd, p, accessRead&accessFile); err != nil {
			return -1, err
		}
	}
	for _, p := range spec.List {
		err := f.addPath(fd, p, ll.AccessFSReadDir)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return -1, err
		}
	}
	for _, p := range spec.Write {
		if err := f.addPath(fd, p, (accessRead|accessWrite)&accessFile); err != nil {
			return -1, err
		}
	}
	return fd, nil
}

// Run calls start, which must start the command (and may wait for it), on
// a fresh OS thread restricted to spec: everything start forks inherits
// the restriction. Rights the kernel does not know (an older ABI) are left
// out, never the whole restriction: Available must be nil.
func Run(spec *Spec, start func() error) error {
	return confine(spec, func(done chan<- error) { done <- start() })
}

// Start is Run for a caller that waits for the process itself: start
// starts one process and returns its pid, on a fresh OS thread restricted
// to spec, and Start returns as soon as it has. The process's exit then
// wakes the caller's own thread directly (os/exec's Wait), where waiting
// on the restricted thread would hand the caller over from one thread to
// another after every command: a wake-up that costs as much as the rest of
// bethel's work around a small command (scripts/bench-engine.sh, the
// per-node overhead). The restricted thread stays, idle, until the process
// has exited, because a child's parent-death signal follows the thread
// that forked it, and then ends.
func Start(spec *Spec, start func() (pid int, err error)) error {
	return confine(spec, func(done chan<- error) {
		pid, err := start()
		if err != nil {
			done <- err
			return
		}
		// Opened before the caller can reap the process, so that it is
		// this process's, whatever reuses its number later.
		pidfd, perr := unix.PidfdOpen(pid, 0)
		done <- nil
		if perr != nil {
			// No pidfd (a filter refused it): wait for the exit without
			// reaping it; the caller reaps.
			var info unix.Siginfo
			for unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
			}
			return
		}
		// A pidfd is readable once its process has exited.
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				break
			}
		}
		unix.Close(pidfd)
	})
}

// confine builds spec's ruleset, then runs body on a fresh OS thread
// restricted to it; body sends what the caller returns on done. The
// thread ends with body: it is never unlocked, so the Go runtime never
// runs another goroutine with the restriction.
func confine(spec *Spec, body func(done chan<- error)) error {
	f, err := prepared()
	if err != nil {
		return err
	}
	fd, err := f.ruleset(spec)
	if err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
		if err == nil {
			err = ll.LandlockRestrictSelf(fd, 0)
		}
		unix.Close(fd)
		if err != nil {
			done <- fmt.Errorf("landlock: %w", err)
			return
		}
		body(done)
	}()
	return <-done
}
