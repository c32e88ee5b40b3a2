package sandbox

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfined runs commands in the sandbox that try to reach what they
// must not: an undeclared private file of the workspace, bethel's cache,
// a file outside the declared outputs, and the environment.
func TestConfined(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	ws := t.TempDir()
	write := func(rel, s string) string {
		p := filepath.Join(ws, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	in := write("out/summary/attendance.csv", "bethel,total\n1,3\n")
	write("out/private/registrations.csv", "name\nSECRET-NAME\n")
	write(".bethel/cache/blob", "SECRET-CACHE\n")
	out := write("out/leak/out.txt", "")
	t.Setenv("BETHEL_TEST_SECRET", "SECRET-ENV")
	t.Setenv("BETHEL_TEST_DECLARED", "declared-value")

	run := func(script string) (string, error) {
		tmp := t.TempDir()
		env := Environ(os.LookupEnv, []string{"BETHEL_TEST_DECLARED"}, tmp)
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Dir, cmd.Env = ws, env
		var b bytes.Buffer
		cmd.Stdout, cmd.Stderr = &b, &b
		err := Run(&Spec{Read: []string{in}, List: []string{filepath.Dir(in)}, Write: []string{out}, Tmp: tmp}, cmd.Run)
		return b.String(), err
	}

	for _, tc := range []struct {
		name, script string
		ok           bool
		want, never  string
	}{
		{"reads its input and writes its output", "cut -d, -f2 out/summary/attendance.csv > out/leak/out.txt && cat out/leak/out.txt", true, "total", ""},
		{"appends to its output", "echo more >> out/leak/out.txt", true, "", ""},
		{"cannot read an undeclared private file", "cat out/private/registrations.csv", false, "", "SECRET-NAME"},
		{"cannot read the cache", "cat .bethel/cache/blob", false, "", "SECRET-CACHE"},
		{"cannot list the workspace", "ls out/private", false, "", "registrations"},
		{"cannot write beside its output", "echo x > out/leak/other.txt", false, "", ""},
		{"cannot overwrite another node's output", "echo x > out/summary/attendance.csv", false, "", ""},
		{"environment is the allowlist and the declared", "env", true, "BETHEL_TEST_DECLARED=declared-value", "SECRET-ENV"},
		{"cannot read another process through /proc", "cat /proc/$PPID/cmdline /proc/1/environ", false, "", ""},
		{"reads the machine's /proc files", "grep -c . /proc/cpuinfo /proc/meminfo >/dev/null && cat /proc/sys/kernel/ostype", true, "Linux", ""},
		{"has a private temporary directory as HOME", `echo hi > "$HOME/x" && cat "$TMPDIR/x"`, true, "hi", ""},
		{"runs system programs", "sort --version | head -1", true, "sort", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := run(tc.script)
			if tc.ok && err != nil {
				t.Fatalf("failed: %v\n%s", err, got)
			}
			if !tc.ok && err == nil {
				t.Fatalf("succeeded, want refused:\n%s", got)
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, got)
			}
			if tc.never != "" && strings.Contains(got, tc.never) {
				t.Errorf("output holds %q:\n%s", tc.never, got)
			}
		})
	}
	// bethel's own threads are not restricted.
	if _, err := os.ReadFile(filepath.Join(ws, "out/private/registrations.csv")); err != nil {
		t.Errorf("the test process itself lost access: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "out/summary/attendance.csv")); string(b) != "bethel,total\n1,3\n" {
		t.Errorf("input changed: %q", b)
	}
}

// TestProcEnvironHidden: a confined command cannot read the environment
// bethel was started with through /proc/PPID/environ, whoever runs it (a
// root user is not held back by the kernel's own checks). The test runs
// itself again with a secret in its starting environment, which is what
// /proc shows; a variable set later (t.Setenv) would not be there to leak.
func TestProcEnvironHidden(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	const secret = "SECRET-STARTING-ENV"
	if os.Getenv("BETHEL_SANDBOX_PROC_CHILD") == "1" {
		tmp := t.TempDir()
		cmd := exec.Command("/bin/sh", "-c", "cat /proc/$PPID/environ; cat /proc/$PPID/task/*/environ; tr '\\0' ' ' < /proc/$PPID/cmdline")
		cmd.Env = Environ(os.LookupEnv, nil, tmp)
		out, _ := cmd.CombinedOutput()
		var b bytes.Buffer
		err := Run(&Spec{Tmp: tmp}, func() error {
			c := exec.Command("/bin/sh", "-c", "cat /proc/$PPID/environ; cat /proc/$PPID/task/*/environ")
			c.Env = Environ(os.LookupEnv, nil, tmp)
			c.Stdout, c.Stderr = &b, &b
			return c.Run()
		})
		if err == nil || strings.Contains(b.String(), secret) {
			t.Fatalf("the confined command read the starting environment (%v):\n%s", err, b.String())
		}
		// The same command unconfined does read it: the check can fail.
		if !strings.Contains(string(out), secret) {
			t.Fatalf("the unconfined command did not read the starting environment:\n%s", out)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestProcEnvironHidden$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BETHEL_SANDBOX_PROC_CHILD=1", "BETHEL_TEST_SECRET="+secret)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestNoNetwork: a confined command cannot connect to a TCP port, where
// the kernel's Landlock handles TCP (ABI 4). The command is this test
// binary, run again to dial the test's listener.
func TestNoNetwork(t *testing.T) {
	if addr := os.Getenv("BETHEL_SANDBOX_DIAL"); addr != "" {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			os.Exit(10)
		}
		os.Exit(12)
	}
	if v, err := ABI(); err != nil || v < 4 {
		t.Skipf("Landlock ABI %d handles no TCP (%v)", v, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(confined bool) int {
		cmd := exec.Command(exe, "-test.run=^TestNoNetwork$")
		cmd.Env = append(os.Environ(), "BETHEL_SANDBOX_DIAL="+l.Addr().String())
		var err error
		if confined {
			err = Run(&Spec{Read: []string{exe}, Tmp: t.TempDir()}, cmd.Run)
		} else {
			err = cmd.Run()
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("confined %v: %v", confined, err)
		}
		return ee.ExitCode()
	}
	if code := run(false); code != 10 {
		t.Fatalf("unconfined, the dial exited %d, want 10 (connected): the check cannot fail", code)
	}
	if code := run(true); code != 12 {
		t.Errorf("confined, exit %d; want 12 (not connected)", code)
	}
}

func TestEnviron(t *testing.T) {
	env := map[string]string{"PATH": "/bin", "HOME": "/root", "SECRET": "x", "LANG": "C.UTF-8", "PYTHONPATH": "/p"}
	look := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got := strings.Join(Environ(look, []string{"PYTHONPATH", "MISSING"}, "/tmp/t"), " ")
	if want := "HOME=/tmp/t LANG=C.UTF-8 PATH=/bin PYTHONPATH=/p TMPDIR=/tmp/t"; got != want {
		t.Errorf("Environ = %s, want %s", got, want)
	}
}

// BenchmarkRun measures what confining one command adds besides the
// command itself: building and applying the rules on a fresh thread, with
// the shared rules made then (fresh) or ahead (primed, Prime).
func BenchmarkRun(b *testing.B) {
	if err := Available(); err != nil {
		b.Skip(err)
	}
	dir := b.TempDir()
	in := filepath.Join(dir, "in")
	out := filepath.Join(dir, "out")
	for _, p := range []string{in, out} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	spec := &Spec{Read: []string{in}, Write: []string{out}, List: []string{dir}, Tmp: dir}
	for _, primed := range []bool{false, true} {
		b.Run(map[bool]string{false: "fresh", true: "primed"}[primed], func(b *testing.B) {
			// Timed around Run alone (ns/run): priming happens while
			// the previous command runs.
			var d time.Duration
			for i := 0; i < b.N; i++ {
				if primed {
					Prime()
				}
				t := time.Now()
				if err := Run(spec, func() error { return nil }); err != nil {
					b.Fatal(err)
				}
				d += time.Since(t)
			}
			b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "ns/run")
		})
	}
}

// TestEachRunItsOwnRestriction alternates two specs that allow different
// files: every command gets exactly its own spec's rights, however the
// threads it is started from were made (fresh, or waiting for it).
func TestEachRunItsOwnRestriction(t *testing.T) {
	alternateSpecs(t, 10, false)
}

// twoFiles writes the files a and b, each holding its own name, in a new
// directory.
func twoFiles(t *testing.T) (a, b string) {
	t.Helper()
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(filepath.Base(p)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// alternateSpecs runs /bin/cat runs times under two alternating specs that
// each allow one of two files, priming the shared rules first when prime
// is set: each run reads its own file and is refused the other.
func alternateSpecs(t *testing.T, runs int, prime bool) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	a, b := twoFiles(t)
	cat := func(allowed, read string) error {
		cmd := exec.Command("/bin/cat", read)
		cmd.Env = Environ(os.LookupEnv, nil, t.TempDir())
		if prime {
			Prime()
		}
		return Run(&Spec{Read: []string{allowed}, Tmp: t.TempDir()}, cmd.Run)
	}
	for i := 0; i < runs; i++ {
		allowed, other := a, b
		if i%2 == 1 {
			allowed, other = b, a
		}
		if err := cat(allowed, allowed); err != nil {
			t.Fatalf("run %d: reading its declared %s: %v", i, filepath.Base(allowed), err)
		}
		if err := cat(allowed, other); err == nil {
			t.Fatalf("run %d: read %s, which only another run may", i, filepath.Base(other))
		}
	}
}

// BenchmarkRunCommand is BenchmarkRun with a real command (/bin/true)
// started and waited for: while it runs, the thread for the next one is
// made.
func BenchmarkRunCommand(b *testing.B) {
	if err := Available(); err != nil {
		b.Skip(err)
	}
	dir := b.TempDir()
	spec := &Spec{Tmp: dir}
	env := Environ(os.LookupEnv, nil, dir)
	for b.Loop() {
		cmd := exec.Command("/bin/true")
		cmd.Env = env
		if err := Run(spec, cmd.Run); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStart starts commands with Start and waits for them here, on an
// unrestricted thread: each is confined to its own spec all the same,
// and the waiting thread keeps its rights.
func TestStart(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	a, b := twoFiles(t)
	for _, tc := range []struct {
		allowed, read string
		ok            bool
	}{
		{a, a, true},
		{a, b, false},
		{b, b, true},
		{b, a, false},
	} {
		cmd := exec.Command("/bin/cat", tc.read)
		cmd.Env = Environ(os.LookupEnv, nil, t.TempDir())
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := Start(&Spec{Read: []string{tc.allowed}, Tmp: t.TempDir()}, func() (int, error) {
			if err := cmd.Start(); err != nil {
				return 0, err
			}
			return cmd.Process.Pid, nil
		})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		err = cmd.Wait()
		if got := err == nil; got != tc.ok {
			t.Errorf("cat %s allowed %s: err %v, want ok %v\n%s", filepath.Base(tc.read), filepath.Base(tc.allowed), err, tc.ok, out.String())
		}
		if tc.ok && out.String() != filepath.Base(tc.read) {
			t.Errorf("cat %s printed %q", filepath.Base(tc.read), out.String())
		}
	}
	if _, err := os.ReadFile(a); err != nil {
		t.Errorf("the waiting thread lost access: %v", err)
	}
}

// TestStartRefused is Start whose start function fails: the error comes
// back and nothing is left waiting.
func TestStartRefused(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	want := errors.New("no command")
	if err := Start(&Spec{Tmp: t.TempDir()}, func() (int, error) { return 0, want }); err != want {
		t.Errorf("Start = %v, want %v", err, want)
	}
}

// TestPrimedRulesetIsFresh primes the shared rules before each run of
// two alternating specs: a primed ruleset carries the shared rules only,
// never a file the run before it was allowed.
func TestPrimedRulesetIsFresh(t *testing.T) {
	alternateSpecs(t, 6, true)
	// The system's programs stay readable with a primed ruleset.
	cmd := exec.Command("/bin/sh", "-c", "sort --version >/dev/null")
	cmd.Env = Environ(os.LookupEnv, nil, t.TempDir())
	Prime()
	if err := Run(&Spec{Tmp: t.TempDir()}, cmd.Run); err != nil {
		t.Errorf("a system program under a primed ruleset: %v", err)
	}
}
