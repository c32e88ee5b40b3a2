package sandbox

import (
	"fmt"
	"os"
	"sync"
	"syscall"

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
		v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
		switch {
		case errno == unix.ENOSYS:
			abiErr = fmt.Errorf("%w: the kernel was built without it", ErrUnavailable)
		case errno == unix.EOPNOTSUPP:
			abiErr = fmt.Errorf("%w: it is disabled at boot (add landlock to the lsm= kernel parameter)", ErrUnavailable)
		case errno != 0:
			abiErr = fmt.Errorf("%w: %v", ErrUnavailable, errno)
		default:
			abi = int(v)
		}
	})
	return abi, abiErr
}

// disabled is set by tests that check what happens without a sandbox.
var disabled bool

// Available reports why commands cannot be confined here, or nil.
func Available() error {
	if disabled {
		return fmt.Errorf("%w: switched off for a test", ErrUnavailable)
	}
	_, err := ABI()
	return err
}

// confine restricts this process (all its threads) and what it will
// exec to the spec's files. Rights the kernel does not know (an older
// ABI) are left out, never the whole restriction: Available was checked.
func confine(s *Spec) error {
	var sys []string
	for _, d := range System {
		if _, err := os.Stat(d); err == nil {
			sys = append(sys, d)
		}
	}
	rules := []landlock.Rule{
		landlock.RODirs(sys...),
		landlock.PathAccess(ll.AccessFSReadFile|ll.AccessFSWriteFile|ll.AccessFSReadDir, "/dev"),
		landlock.RWDirs(s.Tmp),
	}
	if len(s.Read) > 0 {
		rules = append(rules, landlock.ROFiles(s.Read...))
	}
	if len(s.List) > 0 {
		rules = append(rules, landlock.PathAccess(ll.AccessFSReadDir, s.List...).IgnoreIfMissing())
	}
	if len(s.Write) > 0 {
		rules = append(rules, landlock.RWFiles(s.Write...))
	}
	cfg := landlock.V7.BestEffort()
	if err := cfg.RestrictPaths(rules...); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	// Signals and abstract sockets stay within the sandbox (ABI 6).
	if err := cfg.RestrictScoped(); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	return nil
}

func execShell(s *Spec) error {
	syscall.Umask(s.Umask)
	return syscall.Exec("/bin/sh", []string{"/bin/sh", "-c", s.Script}, s.Env)
}
