// Package sandbox runs a command node's shell command confined by the
// kernel's Landlock LSM: it may read its declared inputs and the system's
// programs and libraries, write only its declared outputs and a private
// temporary directory, and sees an environment of a few allowed variables.
// Nothing else of the workspace, and nothing of bethel's cache and state,
// is reachable.
//
// Landlock restricts the calling thread and everything it starts, and a Go
// program cannot run code between fork and exec, so the restriction is
// applied in a helper: the engine starts its own executable again with
// BETHEL_SANDBOX_EXEC naming a spec file, and this package's init, which
// runs in every binary that links the engine, recognizes it, applies the
// rules and replaces itself with /bin/sh. The check at init is one
// environment lookup.
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

// execEnv names the spec file of a helper run.
const execEnv = "BETHEL_SANDBOX_EXEC"

// Spec describes one confined command. Paths are absolute.
type Spec struct {
	// Script is run with /bin/sh -c, in Dir.
	Script string
	Dir    string
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
	// Env is the complete environment, NAME=value.
	Env []string
	// Umask is applied before the command starts.
	Umask int
}

// System are the directories every command may read and execute from:
// programs, libraries, their configuration, and the process's own view
// of itself. Missing ones are skipped.
var System = []string{"/bin", "/sbin", "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/nix/store", "/proc"}

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

// CommandContext returns the helper command that runs spec confined. The
// spec file is written into spec.Tmp (and removed by the helper before
// the command starts). The caller sets the process attributes and runs it.
func CommandContext(ctx context.Context, spec *Spec) (*exec.Cmd, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	f := filepath.Join(spec.Tmp, ".bethel-sandbox.json")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Args = []string{"bethel-sandbox"}
	cmd.Dir = spec.Dir
	// The helper reads only its spec; the command gets spec.Env.
	cmd.Env = []string{execEnv + "=" + f}
	return cmd, nil
}

// helperFailed is the exit status of a helper that could not confine or
// start the command; its message is on stderr.
const helperFailed = 126

func init() {
	if f := os.Getenv(execEnv); f != "" {
		os.Exit(helper(f))
	}
}

// helper is the helper process: read the spec, confine, exec the shell.
// It returns only on failure.
func helper(file string) int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "bethel sandbox: %v\n", err)
		return helperFailed
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fail(err)
	}
	os.Remove(file)
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return fail(err)
	}
	if err := os.Chdir(s.Dir); err != nil {
		return fail(err)
	}
	if err := confine(&s); err != nil {
		return fail(err)
	}
	return fail(execShell(&s))
}
