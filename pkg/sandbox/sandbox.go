// Package sandbox runs a command node's shell command confined by the
// kernel's Landlock LSM: it may read its declared inputs and the system's
// programs and libraries, write only its declared outputs and a private
// temporary directory, and sees an environment of a few allowed variables.
// Nothing else of the workspace, and nothing of bethel's cache and state,
// is reachable.
//
// Landlock restricts a thread and everything it starts. Run and Start
// restrict a fresh OS thread of their own (locked to one goroutine and
// never given back, so the Go runtime ends it afterwards) and start the
// command from it: the command inherits the restriction at fork, bethel's
// other threads never have it, and no helper process is executed in
// between. Run also waits there; Start lets the caller wait on its own
// thread. Either way the thread stays until the command ends, because a
// child's parent-death signal follows the thread that forked it.
package sandbox

import (
	"errors"
	"sort"
)

// Spec describes one confined command's reach. Paths are absolute.
type Spec struct {
	// Read are the files the command may read (its declared inputs).
	Read []string
	// List are directories whose entries (names, not contents) it may
	// list, so that a script can glob its declared patches.
	List []string
	// Write are the files it may read and write (its declared outputs,
	// created empty beforehand: a new file cannot be allowed by path).
	Write []string
	// Tmp is the private temporary directory it may use freely; HOME
	// and TMPDIR point there.
	Tmp string
}

// System are the directories every command may read and execute from:
// programs, libraries and their configuration. Missing ones are skipped.
var System = []string{"/bin", "/sbin", "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/nix/store"}

// Proc are the files and directories of /proc a command may read: the
// machine's, never a process's. /proc as a whole would let a command read
// any process's environment and command line; the kernel refuses that to
// a confined command of an ordinary user, but not when bethel runs as root
// (as it often does in CI), and bethel's environment holds what commands
// must not see, such as the shared cache's token. Landlock cannot allow a
// command its own /proc/PID, which does not exist before it starts, so
// /proc/self (and /dev/fd, /dev/stdin, which lead there) is closed too.
var Proc = []string{"/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/loadavg", "/proc/uptime", "/proc/version",
	"/proc/filesystems", "/proc/swaps", "/proc/sys"}

// Allowed are the variables a command inherits from bethel's environment
// besides those its node declares; HOME and TMPDIR are set to the private
// temporary directory.
var Allowed = []string{"PATH", "LANG", "LC_ALL", "TZ"}

// Environ builds a command's environment: Allowed and the node's declared
// names, taken from env where set, then HOME and TMPDIR. Sorted, so that
// it is the same in every run.
func Environ(env func(string) (string, bool), declared []string, tmp string) []string {
	seen := map[string]bool{"HOME": true, "TMPDIR": true}
	out := []string{"HOME=" + tmp, "TMPDIR=" + tmp}
	for _, list := range [][]string{Allowed, declared} {
		for _, k := range list {
			if seen[k] {
				continue
			}
			seen[k] = true
			if v, ok := env(k); ok {
				out = append(out, k+"="+v)
			}
		}
	}
	if _, ok := env("PATH"); !ok {
		out = append(out, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	sort.Strings(out)
	return out
}

// ErrUnavailable is returned by Available when the kernel has no usable
// Landlock.
var ErrUnavailable = errors.New("Landlock is not available on this system")
