package sandbox

import (
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/landlock-lsm/go-landlock/landlock"
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

// systemDirs are the directories of System that exist, looked up once
// per process rather than with a stat of each for every command.
var systemDirs = sync.OnceValue(func() []string {
	var sys []string
	for _, d := range System {
		if _, err := os.Stat(d); err == nil {
			sys = append(sys, d)
		}
	}
	return sys
})

// Run calls start, which must start the command (and may wait for it), on
// a fresh OS thread restricted to spec: everything start forks inherits
// the restriction. Rights the kernel does not know (an older ABI) are left
// out, never the whole restriction: Available must be nil.
func Run(spec *Spec, start func() error) error {
	if err := Available(); err != nil {
		return err
	}
	rules := []landlock.Rule{
		landlock.RODirs(systemDirs()...),
		landlock.PathAccess(ll.AccessFSReadFile|ll.AccessFSWriteFile|ll.AccessFSReadDir, "/dev"),
		landlock.RWDirs(spec.Tmp),
	}
	if len(spec.Read) > 0 {
		rules = append(rules, landlock.ROFiles(spec.Read...))
	}
	if len(spec.List) > 0 {
		rules = append(rules, landlock.PathAccess(ll.AccessFSReadDir, spec.List...).IgnoreIfMissing())
	}
	if len(spec.Write) > 0 {
		rules = append(rules, landlock.RWFiles(spec.Write...))
	}
	// Files, and (ABI 6) signals and abstract sockets stay within the
	// sandbox; the network is not restricted.
	cfg, err := landlock.NewConfig(landlock.V7.HandledAccessFS, landlock.V7.Scoped)
	if err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	fd, flags, err := cfg.BestEffort().NewRulesetFD(rules...)
	if err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	if fd < 0 {
		return fmt.Errorf("landlock: %w", ErrUnavailable)
	}
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine instead of
		// running others with the restriction.
		runtime.LockOSThread()
		err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
		if err == nil {
			err = ll.LandlockRestrictSelf(fd, flags)
		}
		unix.Close(fd)
		if err != nil {
			done <- fmt.Errorf("landlock: %w", err)
			return
		}
		done <- start()
	}()
	return <-done
}
