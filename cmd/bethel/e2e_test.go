package main

// Shared end-to-end harness: TestMain builds the real bethel binary once;
// tests run it on real workspaces in t.TempDir(). Any subcommand's tests
// may use bethelBin and runBethel.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// bethelBin is the path of the binary TestMain built.
var bethelBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bethel-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bethelBin = filepath.Join(dir, "bethel")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if out, err := exec.Command(gobin, "build", "-o", bethelBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building bethel: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runResult is one run of the binary.
type runResult struct {
	stdout, stderr string
	code           int
}

// runBethel runs the binary in dir with args and returns what it printed
// and its exit code.
func runBethel(t testing.TB, dir string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(bethelBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BETHEL_DEBUG=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// A command node's stray background process could hold the output
	// pipes open after bethel exits; do not let it hang the suite.
	cmd.WaitDelay = 30 * time.Second
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("bethel %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return runResult{out.String(), errb.String(), code}
}
