package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"bethel/pkg/cache"
	"bethel/pkg/graph/graphtest"
)

// layered is a generated workspace; its builds' reports say which
// commands ran, so that a test counts exactly those. (A command cannot
// log itself to a shared file: the sandbox lets it write only its
// declared outputs.)
type layered struct {
	t   *testing.T
	dir string
	g   graphtest.Layered
	ran []string
}

func newLayered(t *testing.T, nodes, width int) *layered {
	t.Helper()
	w := &layered{t: t, dir: t.TempDir(), g: graphtest.Layered{Nodes: nodes, Width: width}}
	if err := w.g.Write(w.dir); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *layered) run(args ...string) runResult {
	w.t.Helper()
	return runBethel(w.t, w.dir, args...)
}

// make runs bethel make and fails the test unless it exits 0.
func (w *layered) make(args ...string) runResult {
	w.t.Helper()
	r := w.run(append([]string{"make"}, args...)...)
	if r.code != 0 {
		w.t.Fatalf("bethel make %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	if !slices.Contains(args, "-n") { // a dry run's report lists what would run
		w.record(r.stdout)
	}
	return r
}

// record notes the nodes a build's output (text or --json) says ran.
func (w *layered) record(out string) {
	var js struct{ Ran []string }
	if json.Unmarshal([]byte(out), &js) == nil {
		w.ran = append(w.ran, js.Ran...)
		return
	}
	for _, line := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(line, "] ran "); ok && strings.HasPrefix(line, "[") {
			w.ran = append(w.ran, strings.TrimSpace(rest))
		}
	}
}

// execs returns the sorted node names whose commands ran since the last
// call.
func (w *layered) execs() []string {
	names := w.ran
	w.ran = nil
	sort.Strings(names)
	return names
}

func (w *layered) write(rel, content string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, rel), []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

func (w *layered) read(rel string) string {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, rel))
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

// checkOutputs compares every output with the simulation of the graph.
func (w *layered) checkOutputs() {
	w.t.Helper()
	want, err := w.g.Expected(w.dir)
	if err != nil {
		w.t.Fatal(err)
	}
	for p, c := range want {
		if got := w.read(p); got != c {
			w.t.Fatalf("%s = %q, want %q", p, got, c)
		}
	}
}

// contents is every source and the output each must have (simulated).
func (w *layered) contents() map[string]string {
	w.t.Helper()
	m, err := w.g.Contents(w.dir)
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

// tempFiles lists bethel's temporary files anywhere in the workspace.
func (w *layered) tempFiles() []string {
	var found []string
	filepath.WalkDir(w.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && cache.IsTemp(d.Name()) {
			found = append(found, p)
		}
		return nil
	})
	return found
}

func names(ns ...string) []string {
	sort.Strings(ns)
	return ns
}

func TestMakeMinimalRebuilds(t *testing.T) {
	w := newLayered(t, 60, 6)
	w.make()
	if got := len(w.execs()); got != 60 {
		t.Fatalf("full build ran %d commands, want 60", got)
	}
	w.checkOutputs()

	w.make()
	if got := w.execs(); len(got) != 0 {
		t.Fatalf("no-op build ran %v", got)
	}

	// Touch every file any node reads (sources and intermediate outputs).
	later := time.Now().Add(time.Minute)
	filepath.WalkDir(filepath.Join(w.dir, "src"), func(p string, d fs.DirEntry, err error) error {
		if !d.IsDir() {
			os.Chtimes(p, later, later)
		}
		return nil
	})
	for _, n := range w.g.Graph() {
		os.Chtimes(filepath.Join(w.dir, n.Output), later, later)
	}
	w.make()
	if got := w.execs(); len(got) != 0 {
		t.Fatalf("touch-only build ran %v", got)
	}

	// Same number of lines: the wc node's output is unchanged, so the
	// nodes above it are cut off.
	w.write("src/s0.txt", "source 0\nline TWO\n")
	w.make()
	if got, want := w.execs(), names("n0_0", "n1_0"); !reflect.DeepEqual(got, want) {
		t.Fatalf("line-preserving change ran %v, want %v", got, want)
	}
	w.checkOutputs()

	// A new line propagates upwards until a wc node's count is unchanged.
	before := w.contents()
	w.write("src/s3.txt", "source 3\nline two\nline three\n")
	want := w.g.Rerun(before, w.contents())
	if len(want) < 5 {
		t.Fatalf("test graph too small: a new line reruns only %v", want)
	}
	w.make()
	if got := w.execs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("one change ran %v, want exactly the nodes whose inputs changed %v", got, want)
	}
	w.checkOutputs()

	// Reverting both restores from the cache and runs nothing.
	w.write("src/s0.txt", "source 0\nline two\n")
	w.write("src/s3.txt", "source 3\nline two\n")
	r := w.make("--json")
	if got := w.execs(); len(got) != 0 {
		t.Fatalf("revert ran %v", got)
	}
	var res jsonResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	wantRestored := append(want, "n0_0", "n1_0")
	sort.Strings(wantRestored)
	got := append([]string(nil), res.Restored...)
	sort.Strings(got)
	if !reflect.DeepEqual(got, wantRestored) {
		t.Fatalf("revert restored %v, want %v", got, wantRestored)
	}
	w.checkOutputs()
}

func TestMakeCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 trials take seconds")
	}
	w := newLayered(t, 40, 5)
	start := time.Now()
	w.make("-j", "4")
	full := time.Since(start)
	w.execs()
	rng := rand.New(rand.NewSource(1))
	const trials = 24
	for trial := 0; trial < trials; trial++ {
		// Change a few sources, sometimes their line count.
		for k := 0; k < 1+rng.Intn(3); k++ {
			i := rng.Intn(5)
			lines := 1 + rng.Intn(3)
			w.write(fmt.Sprintf("src/s%d.txt", i), strings.Repeat(fmt.Sprintf("trial %d\n", trial), lines))
		}
		cmd := exec.Command(bethelBin, "make", "-j", "4")
		cmd.Dir = w.dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int63n(int64(full))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		w.make("-j", "4")
		w.checkOutputs()
		if tmp := w.tempFiles(); len(tmp) > 0 {
			t.Fatalf("trial %d: temporary files left: %v", trial, tmp)
		}
		w.execs()
		w.make()
		if got := w.execs(); len(got) != 0 {
			t.Fatalf("trial %d: build after recovery ran %v", trial, got)
		}
	}
}

func TestMakeCorruptBlob(t *testing.T) {
	w := newLayered(t, 12, 3)
	w.make()
	old := w.read("out/0/1.txt")
	w.write("src/s1.txt", "changed\n")
	w.make()
	w.execs()
	// Corrupt the cached copy of the old out/0/1.txt, then revert.
	blob := filepath.Join(w.dir, ".bethel/cache/blobs", cache.Sum([]byte(old)).String()[:2], cache.Sum([]byte(old)).String())
	os.Chmod(blob, 0o600)
	if err := os.WriteFile(blob, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.write("src/s1.txt", old)
	r := w.make("--explain")
	if got := w.execs(); !contains(got, "n0_1") {
		t.Fatalf("corrupt blob: n0_1 did not run (ran %v)\n%s", got, r.stdout)
	}
	if !strings.Contains(r.stdout, "corrupt") {
		t.Fatalf("--explain does not mention the corrupt blob:\n%s", r.stdout)
	}
	w.checkOutputs()
	if b, err := os.ReadFile(blob); err != nil || string(b) != old {
		t.Fatalf("corrupt blob not replaced by the rebuilt output: %q %v", b, err)
	}
}

func contains(s []string, x string) bool {
	for _, e := range s {
		if e == x {
			return true
		}
	}
	return false
}

func TestMakeConcurrent(t *testing.T) {
	w := newLayered(t, 30, 5)
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for i := 0; i < 2; i++ {
		cmd := exec.Command(bethelBin, "make")
		cmd.Dir = w.dir
		var b strings.Builder
		cmd.Stdout, cmd.Stderr = &b, &b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		outs = append(outs, &b)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("make %d: %v\n%s", i, err, outs[i])
		}
		w.record(outs[i].String())
	}
	// The second waited for the first and found everything up to date.
	if got := len(w.execs()); got != 30 {
		t.Fatalf("two concurrent builds ran %d commands, want 30", got)
	}
	w.checkOutputs()
	w.make()
	if got := w.execs(); len(got) != 0 {
		t.Fatalf("build after concurrent builds ran %v", got)
	}
}

func TestMakeLockBusy(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(`
[[node]]
name = "slow"
run = "while [ ! -e go ]; do sleep 0.01; done; echo done > out/done.txt"
outputs = ["out/done.txt"]
`), 0o644)
	cmd := exec.Command(bethelBin, "make")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
	// Poll until the first bethel holds the lock (it writes its pid into
	// the lock file), then a second one with --wait 0 must refuse, naming
	// the holder's pid.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, ".bethel/lock"))
		if strings.TrimSpace(string(b)) == fmt.Sprint(cmd.Process.Pid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first bethel never took the lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := runBethel(t, dir, "make", "--wait", "0")
	if r.code != 1 || !strings.Contains(r.stderr, fmt.Sprintf("another bethel (pid %d) is running in this workspace", cmd.Process.Pid)) {
		t.Fatalf("second bethel: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestMakeHandEditedOutput(t *testing.T) {
	w := newLayered(t, 12, 3)
	w.make()
	w.execs()
	w.write("out/1/0.txt", "999\n")
	st := w.run("status")
	if st.code != 1 || !strings.Contains(st.stdout, "out/1/0.txt was edited by hand") {
		t.Fatalf("status does not report the edit (exit %d):\n%s", st.code, st.stdout)
	}
	r := w.make()
	if !strings.Contains(r.stderr, "out/1/0.txt was edited by hand") || !strings.Contains(r.stderr, "patch") {
		t.Fatalf("make does not report the edit:\n%s", r.stderr)
	}
	kept := filepath.Join(".bethel/edited/out/1/0.txt." + cache.Sum([]byte("999\n")).Short())
	if !strings.Contains(r.stderr, kept) {
		t.Fatalf("make does not say where the edit went (%s):\n%s", kept, r.stderr)
	}
	if got := w.read(kept); got != "999\n" {
		t.Fatalf("edited copy = %q", got)
	}
	if got := w.execs(); len(got) != 0 {
		t.Fatalf("restoring the edited output ran %v (it should come from the cache)", got)
	}
	w.checkOutputs()
}

func TestMakeJSON(t *testing.T) {
	w := newLayered(t, 4, 2)
	check := func(r runResult) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
			t.Fatalf("--json output is not one JSON object: %v\n%s", err, r.stdout)
		}
		var keys []string
		for k, v := range m {
			keys = append(keys, k)
			if k != "seconds" {
				if _, ok := v.([]any); !ok {
					t.Fatalf("%s is %T (%v), want a list", k, v, v)
				}
			}
		}
		sort.Strings(keys)
		if want := []string{"failed", "ran", "restored", "restored_remote", "seconds", "uptodate"}; !reflect.DeepEqual(keys, want) {
			t.Fatalf("keys %v, want %v", keys, want)
		}
		return m
	}
	m := check(w.make("--json"))
	if len(m["ran"].([]any)) != 4 {
		t.Fatalf("ran = %v", m["ran"])
	}
	m = check(w.make("--json"))
	if len(m["uptodate"].([]any)) != 4 || len(m["ran"].([]any)) != 0 {
		t.Fatalf("no-op = %v", m)
	}
	// A failing node: exit 1, still one object, failed filled.
	w.write("pipeline.toml", w.read("pipeline.toml")+"[[node]]\nname = \"bad\"\nrun = \"echo oops >&2; exit 3\"\noutputs = [\"out/bad.txt\"]\n")
	r := w.run("make", "--json", "-k")
	if r.code != 1 {
		t.Fatalf("failing build exit %d", r.code)
	}
	m = check(r)
	if !reflect.DeepEqual(m["failed"], []any{"bad"}) {
		t.Fatalf("failed = %v", m["failed"])
	}
	if !strings.Contains(r.stderr, "bad: oops") {
		t.Fatalf("stderr does not show the node's output with its name:\n%s", r.stderr)
	}
}

// snapshot records every file under dir: content, mode and mtime.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		s := fmt.Sprintf("%v %d", fi.Mode(), fi.ModTime().UnixNano())
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			s += " " + cache.Sum(b).Short()
		}
		m[p] = s
		return nil
	})
	return m
}

func TestDryRunAndStatusChangeNothing(t *testing.T) {
	w := newLayered(t, 12, 3)
	w.make()
	w.execs()
	w.write("src/s2.txt", "new\ncontent\nhere\n")
	w.write("out/1/0.txt", "edited\n")
	os.Remove(filepath.Join(w.dir, "out/1/1.txt"))
	before := snapshot(t, w.dir)
	r := w.make("-n")
	if !strings.Contains(r.stdout, "would run n0_2") || !strings.Contains(r.stdout, "dry run") {
		t.Fatalf("make -n output:\n%s", r.stdout)
	}
	w.run("status")
	w.run("status", "--debug-key")
	w.make("-n", "--json")
	if after := snapshot(t, w.dir); !reflect.DeepEqual(before, after) {
		for k, v := range after {
			if before[k] != v {
				t.Errorf("changed: %s", k)
			}
		}
		for k := range before {
			if _, ok := after[k]; !ok {
				t.Errorf("removed: %s", k)
			}
		}
		t.Fatal("make -n or status changed the workspace")
	}
	if got := w.execs(); len(got) != 0 {
		t.Fatalf("dry run ran %v", got)
	}
}

func TestStatusExitCodes(t *testing.T) {
	w := newLayered(t, 6, 3)
	if r := w.run("status"); r.code != 1 || !strings.Contains(r.stdout, "never built") {
		t.Fatalf("before any build: exit %d\n%s", r.code, r.stdout)
	}
	w.make()
	if r := w.run("status"); r.code != 0 || !strings.Contains(r.stdout, "all 6 nodes up to date") {
		t.Fatalf("after a build: exit %d\n%s", r.code, r.stdout)
	}
	w.write("src/s1.txt", "other\n")
	r := w.run("status")
	if r.code != 1 || !strings.Contains(r.stdout, "stale n0_1") || !strings.Contains(r.stdout, "input src/s1.txt changed: ") {
		t.Fatalf("after a change: exit %d\n%s", r.code, r.stdout)
	}
	if r := w.run("status", "nosuchnode"); r.code != 2 {
		t.Fatalf("unknown target: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	w.write("pipeline.toml", "[[node]]\nname = 3\n")
	if r := w.run("status"); r.code != 2 || !strings.Contains(r.stderr, "pipeline.toml:") {
		t.Fatalf("broken pipeline: exit %d\n%s", r.code, r.stderr)
	}
	if r := w.run("make"); r.code != 2 {
		t.Fatalf("make with a broken pipeline: exit %d", r.code)
	}
	if r := w.run("make", "-j", "x"); r.code != 2 {
		t.Fatalf("bad flag: exit %d", r.code)
	}
}

func TestMakeFailureKeepGoing(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(`
[[node]]
name = "bad"
run = "echo 'something broke' >&2; exit 1"
outputs = ["out/bad.txt"]

[[node]]
name = "after-bad"
run = "cat out/bad.txt > out/after.txt"
inputs = ["out/bad.txt"]
outputs = ["out/after.txt"]

[[node]]
name = "lazy"
run = "true"
outputs = ["out/lazy.txt"]

[[node]]
name = "good"
run = "echo ok > out/good.txt"
outputs = ["out/good.txt"]
`), 0o644)
	r := runBethel(t, dir, "make", "-k", "-j", "1")
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	for _, want := range []string{"bad: something broke", "FAILED bad", "FAILED lazy", "did not write declared output out/lazy.txt", "skipped after-bad"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out/good.txt")); err != nil {
		t.Fatalf("-k did not build the independent node: %v", err)
	}
	if !strings.Contains(r.stdout, "1 ran, 0 restored, 0 up to date, 2 failed, 1 skipped") {
		t.Fatalf("summary:\n%s", r.stdout)
	}
}

func TestCleanThenRestore(t *testing.T) {
	w := newLayered(t, 12, 3)
	w.make()
	w.execs()
	r := w.run("clean")
	if r.code != 0 || !strings.Contains(r.stdout, "removed 12 outputs") {
		t.Fatalf("clean: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "out")); !os.IsNotExist(err) {
		t.Fatalf("clean left out/: %v", err)
	}
	w.make()
	if got := w.execs(); len(got) != 0 {
		t.Fatalf("make after clean ran %v; it should restore from the cache", got)
	}
	w.checkOutputs()
}

func TestGCKeepsCurrentOutputs(t *testing.T) {
	w := newLayered(t, 12, 3)
	w.make()
	orig := w.read("src/s0.txt")
	w.write("src/s0.txt", "v2\nv2\nv2\n")
	w.make()
	w.execs()
	r := w.run("gc", "--max-size", "0")
	if r.code != 0 || !strings.Contains(r.stdout, "removed") {
		t.Fatalf("gc: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Everything current survives: clean + make restores all of it.
	w.run("clean")
	w.make()
	if got := w.execs(); len(got) != 0 {
		t.Fatalf("after gc, restoring current outputs ran %v", got)
	}
	// The old version was trimmed: reverting must run again.
	w.write("src/s0.txt", orig)
	w.make()
	if got := w.execs(); len(got) == 0 {
		t.Fatal("after gc --max-size 0, the trimmed old version was still restored")
	}
	w.checkOutputs()
	if r := w.run("gc", "--max-size", "lots"); r.code != 2 {
		t.Fatalf("bad size: exit %d", r.code)
	}
}

// TestMakeInterrupt sends SIGINT to the real binary while a command runs:
// bethel's interrupt handling, installed when the build first runs a node
// (not at start-up), ends the command's process group and reports the
// node interrupted, instead of the process dying by the signal.
func TestMakeInterrupt(t *testing.T) {
	dir := t.TempDir()
	pipe := "[[node]]\nname = \"slow\"\nrun = \"sleep 30; echo x > out/slow.txt\"\noutputs = [\"out/slow.txt\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(pipe), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bethelBin, "make")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The command is running once the build's process log names it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, _ := os.ReadFile(filepath.Join(dir, ".bethel/state/procs/build")); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the command never started:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Exited() {
		t.Fatalf("bethel did not exit by itself after SIGINT: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "node slow: interrupted") {
		t.Errorf("no interrupted node reported:\n%s", out.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out/slow.txt")); len(b) > 0 {
		t.Errorf("out/slow.txt holds %q: the command was not ended", b)
	}
}
