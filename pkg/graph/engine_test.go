package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bethel/pkg/cache"
	"bethel/pkg/stage"
)

// funcStage is a stage whose Run is a closure.
type funcStage struct {
	name string
	run  func(ctx context.Context, r *stage.Run) error
}

func (s *funcStage) Name() string                                { return s.name }
func (s *funcStage) Version() string                             { return "1" }
func (s *funcStage) Run(ctx context.Context, r *stage.Run) error { return s.run(ctx, r) }

func build1(t *testing.T, root string, opts Options) (*Result, error) {
	t.Helper()
	return Build(context.Background(), load(t, root, opts.Registry), opts)
}

func TestStageFSRefusesUndeclaredPaths(t *testing.T) {
	root := workspace(t, map[string]string{
		"pipeline.toml": `
[[node]]
name = "sneaky"
stage = "sneaky"
inputs = ["src/a.txt"]
outputs = ["out/x.txt"]
`,
		"src/a.txt":      "a",
		"src/secret.txt": "s",
	})
	cases := []struct {
		name string
		run  func(r *stage.Run) error
		want string
	}{
		{"read undeclared", func(r *stage.Run) error {
			_, err := fs.ReadFile(r.FS, "src/secret.txt")
			return err
		}, "may read only its declared inputs and patches; add src/secret.txt"},
		{"read escaping", func(r *stage.Run) error {
			_, err := fs.ReadFile(r.FS, "../etc/passwd")
			return err
		}, "may read only"},
		{"write undeclared", func(r *stage.Run) error {
			_, err := r.Create("out/other.txt")
			return err
		}, "not a declared output"},
		{"write nothing", func(r *stage.Run) error { return nil }, "did not write declared output out/x.txt"},
		{"panic", func(r *stage.Run) error { panic("boom") }, "panicked: boom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &funcStage{name: "sneaky", run: func(_ context.Context, r *stage.Run) error { return c.run(r) }}
			res, err := build1(t, root, Options{Version: "t", Registry: stage.NewRegistry(st)})
			var be *BuildError
			if !errors.As(err, &be) || res == nil || len(res.Failed) != 1 {
				t.Fatalf("err = %v, res = %+v", err, res)
			}
			if got := res.Nodes[0].Err.Error(); !strings.Contains(got, c.want) {
				t.Fatalf("error %q does not contain %q", got, c.want)
			}
			if _, err := os.Stat(filepath.Join(root, "out/x.txt")); !os.IsNotExist(err) {
				t.Fatalf("a failed stage left its output: %v", err)
			}
			if tmp := temps(t, root); len(tmp) > 0 {
				t.Fatalf("temporary files left: %v", tmp)
			}
		})
	}
}

func temps(t *testing.T, root string) []string {
	var found []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && cache.IsTemp(d.Name()) {
			found = append(found, p)
		}
		return nil
	})
	return found
}

func TestPrivateOutputsAreOwnerOnly(t *testing.T) {
	root := workspace(t, map[string]string{
		"pipeline.toml": `
[[node]]
name = "stage"
stage = "concat"
inputs = ["src/a.txt"]
outputs = ["out/private/a.txt"]
visibility = "private"

[[node]]
name = "cmd"
run = "cat src/a.txt > out/private/b.txt"
inputs = ["src/a.txt"]
outputs = ["out/private/b.txt"]
visibility = "private"

[[node]]
name = "open"
run = "cat src/a.txt > out/c.txt"
inputs = ["src/a.txt"]
outputs = ["out/c.txt"]
visibility = "internal"
`,
		"src/a.txt": "a\n",
	})
	st := &concatStage{name: "concat", version: "1"}
	opts := Options{Version: "t", Registry: stage.NewRegistry(st)}
	check := func(when string) {
		t.Helper()
		for p, want := range map[string]os.FileMode{"out/private/a.txt": 0o600, "out/private/b.txt": 0o600, "out/c.txt": 0o644} {
			if got := mustStat(t, root, p).Mode().Perm(); got != want {
				t.Errorf("%s: %s mode %v, want %v", when, p, got, want)
			}
		}
	}
	mustBuild(t, root, opts)
	check("built")
	for _, p := range []string{"out/private/a.txt", "out/private/b.txt", "out/c.txt"} {
		os.Remove(filepath.Join(root, p))
	}
	res := mustBuild(t, root, opts)
	if len(res.Restored) != 3 {
		t.Fatalf("restored %v", res.Restored)
	}
	check("restored")
	for _, d := range []string{".bethel", ".bethel/cache", ".bethel/state", ".bethel/cache/blobs"} {
		if got := mustStat(t, root, d).Mode().Perm(); got != 0o700 {
			t.Errorf("%s mode %v, want 0700", d, got)
		}
	}
}

func TestFailureKeepsOldOutputsAndSkipsDependents(t *testing.T) {
	root, st, opts := newChain(t)
	mustBuild(t, root, opts)
	st.nodes()
	write(t, root, "src/a.txt", "a2\n")
	write(t, root, "src/c.txt", "c2\n")
	st.fail.Store(true)
	opts.Jobs = 1
	res, err := build1(t, root, opts)
	if err == nil || len(res.Failed) != 1 {
		t.Fatalf("err %v, failed %v", err, res.Failed)
	}
	// Without -k the build stops after the first failure.
	statuses := map[string]Status{}
	for _, n := range res.Nodes {
		statuses[n.Name] = n.Status
	}
	if statuses["last"] != Skipped {
		t.Fatalf("dependent of a failed node: %v", statuses)
	}
	if got := read(t, root, "out/mid.txt"); got != "a\nb\n" {
		t.Fatalf("failed stage touched its old output: %q", got)
	}
	// -k runs the independent node too.
	opts.KeepGoing = true
	res, _ = build1(t, root, opts)
	if len(res.Failed) != 2 {
		t.Fatalf("-k: failed %v, nodes %+v", res.Failed, res.Nodes)
	}
	st.fail.Store(false)
	st.nodes()
	mustBuild(t, root, opts)
	if got := st.nodes(); !reflect.DeepEqual(got, []string{"last", "mid", "side"}) {
		t.Fatalf("after fixing, ran %v", got)
	}
	if got := read(t, root, "out/last.txt"); got != "A2\nB\n" {
		t.Fatalf("last = %q", got)
	}
}

func TestInputChangedDuringRunIsNotRecorded(t *testing.T) {
	root := workspace(t, map[string]string{
		"pipeline.toml": "[[node]]\nname = \"n\"\nstage = \"racy\"\ninputs = [\"src/a.txt\"]\noutputs = [\"out/a.txt\"]\n",
		"src/a.txt":     "one\n",
	})
	var calls atomic.Int64
	st := &funcStage{name: "racy", run: func(_ context.Context, r *stage.Run) error {
		b, err := fs.ReadFile(r.FS, "src/a.txt")
		if err != nil {
			return err
		}
		if calls.Add(1) == 1 {
			// Someone saves the input while the node runs.
			os.WriteFile(filepath.Join(root, "src/a.txt"), []byte("two, longer\n"), 0o644)
		}
		w, err := r.Create("out/a.txt")
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}}
	opts := Options{Version: "t", Registry: stage.NewRegistry(st)}
	res := mustBuild(t, root, opts)
	if len(res.Nodes[0].Warnings) != 1 || !strings.Contains(res.Nodes[0].Warnings[0], "src/a.txt changed while node n ran") {
		t.Fatalf("warnings %v", res.Nodes[0].Warnings)
	}
	res = mustBuild(t, root, opts)
	if calls.Load() != 2 || len(res.Ran) != 1 {
		t.Fatalf("second build: calls %d, ran %v", calls.Load(), res.Ran)
	}
	if got := read(t, root, "out/a.txt"); got != "two, longer\n" {
		t.Fatalf("out = %q", got)
	}
	res = mustBuild(t, root, opts)
	if calls.Load() != 2 || len(res.UpToDate) != 1 {
		t.Fatalf("third build: calls %d, %+v", calls.Load(), res)
	}
}

func TestExplainReasons(t *testing.T) {
	root, st, opts := newChain(t)
	mustBuild(t, root, opts)
	p0 := read(t, root, "pipeline.toml")
	steps := []struct {
		name   string
		change func()
		node   string
		want   string
	}{
		{"input", func() { write(t, root, "src/b.txt", "B\n") }, "mid", "input src/b.txt changed: " + cache.Sum([]byte("b\n")).Short() + " -> " + cache.Sum([]byte("B\n")).Short()},
		{"patch added", func() { write(t, root, "patches/p1.toml", "x") }, "side", "patch file patches/p1.toml added"},
		{"patch changed", func() { write(t, root, "patches/p1.toml", "y") }, "side", "patch patches/p1.toml changed: "},
		{"patch removed", func() { os.Remove(filepath.Join(root, "patches/p1.toml")) }, "side", "patch file patches/p1.toml removed"},
		{"param", func() {
			write(t, root, "pipeline.toml", strings.Replace(p0, "params = { upper = true }", "params = { upper = false }", 1))
		}, "last", "param upper changed: true -> false"},
		{"param added", func() {
			write(t, root, "pipeline.toml", strings.Replace(p0, "params = { upper = true }", "params = { upper = true, n = 3 }", 1))
		}, "last", "param n added: 3"},
		{"output missing", func() { os.Remove(filepath.Join(root, "out/side.txt")) }, "side", "output out/side.txt is missing"},
		{"edited", func() { write(t, root, "out/side.txt", "hand\n") }, "side", "output out/side.txt was edited by hand"},
		{"stage version", func() { st.version = "2" }, "mid", "stage concat version changed: 1 -> 2"},
		{"bethel version", func() { opts.Version = "t2" }, "mid", "bethel version changed: test -> t2"},
		{"to command", func() {
			write(t, root, "pipeline.toml", strings.Replace(p0, `stage = "concat"
inputs = ["src/c.txt"]`, `run = "cat src/c.txt > out/side.txt"
inputs = ["src/c.txt"]`, 1))
		}, "side", "node changed between a stage and a command"},
		{"command", func() {
			write(t, root, "pipeline.toml", strings.Replace(p0, `stage = "concat"
inputs = ["src/c.txt"]`, `run = "cat src/c.txt src/c.txt > out/side.txt"
inputs = ["src/c.txt"]`, 1))
		}, "side", `command changed: "cat src/c.txt > out/side.txt" -> "cat src/c.txt src/c.txt > out/side.txt"`},
	}
	for _, s := range steps {
		s.change()
		p := load(t, root, opts.Registry)
		rs, err := Check(p, opts)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			if r.Name == s.node {
				got = r.Reasons
			}
		}
		if !strings.Contains(strings.Join(got, "\n"), s.want) {
			t.Errorf("%s: reasons of %s = %q, want one containing %q", s.name, s.node, got, s.want)
		}
		mustBuild(t, root, opts)
	}
}

func TestCheckWritesNothing(t *testing.T) {
	root, _, opts := newChain(t)
	p := load(t, root, opts.Registry)
	rs, err := Check(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || rs[0].Status != Stale || rs[0].Reasons[0] != "never built" {
		t.Fatalf("%+v", rs)
	}
	if _, err := os.Stat(filepath.Join(root, ".bethel")); !os.IsNotExist(err) {
		t.Fatalf("Check created .bethel: %v", err)
	}
	mustBuild(t, root, opts)
	write(t, root, "src/a.txt", "new\n")
	statBefore, _ := os.ReadFile(filepath.Join(root, ".bethel/state/stat"))
	logBefore, _ := os.ReadFile(filepath.Join(root, ".bethel/state/log"))
	rs, _ = Check(p, opts)
	if rs[0].Status != Stale || rs[1].Status != Stale || rs[2].Status != UpToDate {
		t.Fatalf("%+v", rs)
	}
	statAfter, _ := os.ReadFile(filepath.Join(root, ".bethel/state/stat"))
	logAfter, _ := os.ReadFile(filepath.Join(root, ".bethel/state/log"))
	if !bytes.Equal(statBefore, statAfter) || !bytes.Equal(logBefore, logAfter) {
		t.Fatal("Check changed the state")
	}
}

func TestDryRunPredictsRestores(t *testing.T) {
	root, st, opts := newChain(t)
	mustBuild(t, root, opts)
	write(t, root, "src/a.txt", "x\n")
	mustBuild(t, root, opts)
	write(t, root, "src/a.txt", "a\n")
	st.nodes()
	opts.DryRun = true
	res := mustBuild(t, root, opts)
	// mid is restorable; its cached output tells that last is too.
	if !reflect.DeepEqual(res.Restored, []string{"mid", "last"}) || len(res.Ran) != 0 {
		t.Fatalf("dry run: %+v", res)
	}
	if got := st.nodes(); len(got) != 0 {
		t.Fatalf("dry run ran %v", got)
	}
	if got := read(t, root, "out/mid.txt"); got != "x\nb\n" {
		t.Fatalf("dry run changed an output: %q", got)
	}
}

func TestLockWaitsOrRefuses(t *testing.T) {
	root, _, opts := newChain(t)
	os.MkdirAll(filepath.Join(root, ".bethel"), 0o700)
	unlock, err := lockWorkspace(root, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = build1(t, root, opts)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("another bethel (pid %d) is running in this workspace", os.Getpid())) {
		t.Fatalf("message: %v", err)
	}
	waited := make(chan int, 1)
	opts.LockWait = time.Minute
	opts.OnLockWait = func(pid int) { waited <- pid }
	go func() {
		<-waited
		unlock()
	}()
	if _, err := build1(t, root, opts); err != nil {
		t.Fatalf("waiting build: %v", err)
	}
}

func TestTargets(t *testing.T) {
	root, st, opts := newChain(t)
	opts.Targets = []string{"out/last.txt"}
	res := mustBuild(t, root, opts)
	if got := st.nodes(); !reflect.DeepEqual(got, []string{"last", "mid"}) || len(res.Nodes) != 2 {
		t.Fatalf("target out/last.txt ran %v", got)
	}
	opts.Targets = []string{"sidee"}
	_, err := build1(t, root, opts)
	var te *TargetError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), `did you mean "side"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestParallelAndEvents(t *testing.T) {
	// Two independent nodes must be able to run at the same time: each
	// waits (bounded) for the other to start.
	root := workspace(t, map[string]string{
		"pipeline.toml": `
[[node]]
name = "a"
stage = "meet"
outputs = ["out/a.txt"]

[[node]]
name = "b"
stage = "meet"
outputs = ["out/b.txt"]

[[node]]
name = "c"
stage = "meet"
inputs = ["out/a.txt", "out/b.txt"]
outputs = ["out/c.txt"]
`,
	})
	var started atomic.Int64
	st := &funcStage{name: "meet", run: func(_ context.Context, r *stage.Run) error {
		n := started.Add(1)
		if n <= 2 {
			deadline := time.Now().Add(10 * time.Second)
			for started.Load() < 2 {
				if time.Now().After(deadline) {
					return errors.New("the other node never started: nodes did not run in parallel")
				}
				time.Sleep(time.Millisecond)
			}
		}
		w, err := r.Create(r.Outputs[0])
		if err != nil {
			return err
		}
		fmt.Fprintln(w, r.Node)
		return nil
	}}
	var events []Event
	inHandler := atomic.Bool{}
	opts := Options{Version: "t", Registry: stage.NewRegistry(st), Jobs: 2, Events: func(e Event) {
		if !inHandler.CompareAndSwap(false, true) {
			t.Error("Events called concurrently")
		}
		events = append(events, e)
		inHandler.Store(false)
	}}
	mustBuild(t, root, opts)
	var finishes []string
	last := 0
	for _, e := range events {
		if e.Kind == Finish {
			finishes = append(finishes, e.Node)
			if e.Done != last+1 || e.Total != 3 {
				t.Fatalf("Done/Total %d/%d after %d", e.Done, e.Total, last)
			}
			last = e.Done
		}
	}
	if len(finishes) != 3 || finishes[2] != "c" {
		t.Fatalf("finish order %v", finishes)
	}
}

func TestDebugKeyLines(t *testing.T) {
	root, _, opts := newChain(t)
	var buf bytes.Buffer
	opts.DebugKey = &buf
	mustBuild(t, root, opts)
	out := buf.String()
	for _, want := range []string{
		"bethel: key mid ",
		"\tbethel test\n",
		"\tstage concat 1\n",
		"\tvisibility internal\n",
		"\tparam upper=true\n",
		"\toutput out/mid.txt\n",
		"\tinput src/a.txt " + cache.Sum([]byte("a\n")).String() + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("debug output lacks %q:\n%s", want, out)
		}
	}
}

func TestCanonParams(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{int64(1), "1"},
		{1.0, "1.0"},
		{1.5, "1.5"},
		{"a\"b", `"a\"b"`},
		{true, "true"},
		{[]any{int64(1), "x"}, `[1,"x"]`},
		{map[string]any{"b": int64(2), "a": map[string]any{"z": false, "y": 1.25}}, `{"a":{"y":1.25,"z":false},"b":2}`},
		{time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC), "datetime(2026-05-01T09:00:00Z)"},
	}
	for _, c := range cases {
		if got := canon(c.v); got != c.want {
			t.Errorf("canon(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestJournalTornAndCompacted(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "log")
	j := loadJournal(p)
	k1, k2 := cache.Sum([]byte("1")), cache.Sum([]byte("2"))
	out := []cache.Output{{Path: "out/a b\tc.txt", Hash: cache.Sum([]byte("a"))}}
	runs := compactAt(2)/2 + 1
	for i := 0; i < runs; i++ {
		j.start("n", k1)
		j.done("n", k1, out, 0)
	}
	j.start("m", k2)
	j.close(nil)
	if b, _ := os.ReadFile(p); strings.Count(string(b), "\n") != 3 {
		t.Fatalf("%d records of 2 nodes not compacted:\n%s", 2*runs+1, b)
	}
	// A torn record and a record with a bad checksum are ignored.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("D\tm\t" + k2.String() + "\tdeadbeef\n")
	f.WriteString("S\tn\t" + k2.String())
	f.Close()
	j = loadJournal(p)
	n, _ := j.get("n")
	m, _ := j.get("m")
	if n.interrupted || n.key != k1 || n.outputs[0] != (recordedOutput{"out/a b\tc.txt", out[0].Hash}) || !m.interrupted {
		t.Fatalf("n %+v m %+v", n, m)
	}
	j.done("m", k2, nil, 0) // appended after the torn line, on a line of its own
	j.close(nil)
	j = loadJournal(p)
	if m, _ := j.get("m"); m.interrupted || m.key != k2 {
		t.Fatalf("after the torn line m = %+v", m)
	}
	if n, _ := j.get("n"); n.key != k1 || n.interrupted {
		t.Fatalf("after the torn line n = %+v", n)
	}
}

// TestJournalRunTimes: a run's time is recorded with its end (R after D),
// read back, kept when the node is restored instead of run, kept by
// compaction, and ignored when it belongs to another key.
func TestJournalRunTimes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	j := loadJournal(p)
	k1, k2 := cache.Sum([]byte("1")), cache.Sum([]byte("2"))
	j.start("roster", k1)
	j.done("roster", k1, nil, 230*time.Millisecond)
	j.start("meals", k1)
	j.done("meals", k1, nil, 0) // never timed
	j.close(nil)
	ran := func(j *journal, name string) time.Duration {
		st, _ := j.get(name)
		return st.ran
	}
	j = loadJournal(p)
	if ran(j, "roster") != 230*time.Millisecond || ran(j, "meals") != 0 {
		t.Fatalf("read back: roster %v, meals %v", ran(j, "roster"), ran(j, "meals"))
	}
	// Restored under a new key: the last time known stays.
	j.start("roster", k2)
	j.done("roster", k2, nil, 0)
	j.close(nil)
	if j = loadJournal(p); ran(j, "roster") != 230*time.Millisecond {
		t.Fatalf("after a restore: %v", ran(j, "roster"))
	}
	// An R record of another key than the node's last D is not its time.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(formatRan("roster", k1, 5*time.Millisecond))
	f.Close()
	if j = loadJournal(p); ran(j, "roster") != 230*time.Millisecond {
		t.Fatalf("an R record of another key was taken: %v", ran(j, "roster"))
	}
	// Compaction keeps the times.
	for i := 0; i < compactAt(2); i++ {
		j.start("meals", k1)
		j.done("meals", k1, nil, 0)
	}
	j.close(nil)
	b, _ := os.ReadFile(p)
	if strings.Count(string(b), "\n") != 4 {
		t.Fatalf("not compacted:\n%s", b)
	}
	if j = loadJournal(p); ran(j, "roster") != 230*time.Millisecond {
		t.Fatalf("after compaction: %v", ran(j, "roster"))
	}
}

func TestCleanFingerprint(t *testing.T) {
	root, st, opts := newChain(t)
	var trace bytes.Buffer
	opts.DebugTime = &trace
	build := func() *Result {
		t.Helper()
		trace.Reset()
		return mustBuild(t, root, opts)
	}
	fast := func() bool { return !strings.Contains(trace.String(), "load state") }
	// settle builds until a no-op takes the fingerprint path: the first
	// no-op after a change cannot write the fingerprint while files are
	// as new as the file system's clock tick.
	settle := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if res := build(); fast() {
				if len(res.UpToDate) != 3 {
					t.Fatalf("%s: fingerprint path with %+v", what, res)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no-op builds never took the fingerprint path:\n%s", what, trace.String())
			}
			time.Sleep(time.Millisecond)
		}
	}
	build()
	settle("first build")
	if _, err := os.Stat(cleanPath(root)); err != nil {
		t.Fatalf("no fingerprint file: %v", err)
	}
	st.nodes()
	steps := []struct {
		name   string
		change func()
		ran    []string
	}{
		{"stage version", func() { st.version = "2" }, []string{"last", "mid", "side"}},
		{"interrupted run in the journal", func() {
			j := loadJournal(journalPath(root))
			j.start("side", cache.Sum([]byte("x")))
			j.close(nil)
		}, nil}, // restored from the cache
		{"same-size edit with the old mtime", func() {
			p := filepath.Join(root, "out/side.txt")
			fi, _ := os.Stat(p)
			os.WriteFile(p, []byte("C\n"), 0o644)
			os.Chtimes(p, fi.ModTime(), fi.ModTime())
		}, nil},
		{"new patch file", func() { write(t, root, "patches/a.toml", "p") }, []string{"side"}},
	}
	for _, s := range steps {
		settle(s.name)
		st.nodes()
		s.change()
		res := build()
		if fast() {
			t.Fatalf("%s: fingerprint path taken after the change", s.name)
		}
		if got := st.nodes(); !reflect.DeepEqual(got, s.ran) {
			t.Errorf("%s: ran %v, want %v (%+v)", s.name, got, s.ran, res)
		}
		if len(res.UpToDate) == 3 {
			t.Errorf("%s: every node up to date after the change", s.name)
		}
	}
	if got := read(t, root, "out/side.txt"); got != "c\np" {
		t.Fatalf("side = %q", got)
	}
}

func TestFailedCommandKeepsLastGoodOutputs(t *testing.T) {
	// The command truncates its output before it fails, as a shell
	// redirection does: the engine must put the last good version back.
	cmd := `: > %[1]s; if grep -q bad src/a.txt; then echo half >> %[1]s; exit 1; fi; cat src/a.txt > %[1]s`
	root := workspace(t, map[string]string{
		"pipeline.toml": fmt.Sprintf(`
[[node]]
name = "open"
run = %q
inputs = ["src/a.txt"]
outputs = ["out/b.txt"]

[[node]]
name = "secret"
run = %q
inputs = ["src/a.txt"]
outputs = ["out/private/c.txt"]
visibility = "private"
`, fmt.Sprintf(cmd, "out/b.txt"), fmt.Sprintf(cmd, "out/private/c.txt")),
		"src/a.txt": "good\n",
	})
	opts := Options{Version: "t", Registry: stage.NewRegistry(), KeepGoing: true}
	mustBuild(t, root, opts)

	write(t, root, "src/a.txt", "bad\n")
	res, err := build1(t, root, opts)
	if err == nil || len(res.Failed) != 2 {
		t.Fatalf("err %v, failed %v", err, res.Failed)
	}
	for p, mode := range map[string]os.FileMode{"out/b.txt": 0o644, "out/private/c.txt": 0o600} {
		if got := read(t, root, p); got != "good\n" {
			t.Errorf("%s after a failed run = %q, want the last good version", p, got)
		}
		if got := mustStat(t, root, p).Mode().Perm(); got != mode {
			t.Errorf("%s mode %v, want %v", p, got, mode)
		}
	}
	if !warned(res, "last good outputs are in place") {
		t.Errorf("no warning says the last good outputs were kept: %+v", res.Nodes)
	}
	// Still stale: the fix runs the nodes again.
	write(t, root, "src/a.txt", "better\n")
	res = mustBuild(t, root, opts)
	if len(res.Ran) != 2 || read(t, root, "out/b.txt") != "better\n" {
		t.Fatalf("after the fix: ran %v, out/b.txt %q", res.Ran, read(t, root, "out/b.txt"))
	}

	// Without the cache copies there is nothing to put back: say so.
	if err := os.RemoveAll(filepath.Join(root, ".bethel/cache/blobs")); err != nil {
		t.Fatal(err)
	}
	write(t, root, "src/a.txt", "bad\n")
	res, _ = build1(t, root, opts)
	if !warned(res, "no longer in the cache") {
		t.Errorf("a lost cache copy is not reported: %+v", res.Nodes)
	}
}

// warned reports whether some node of res has a warning containing s.
func warned(res *Result, s string) bool {
	for _, n := range res.Nodes {
		for _, w := range n.Warnings {
			if strings.Contains(w, s) {
				return true
			}
		}
	}
	return false
}

func TestStageSumIsTheKeyedHash(t *testing.T) {
	root := workspace(t, map[string]string{
		"pipeline.toml": `
[[node]]
name = "sums"
stage = "sums"
inputs = ["src/a.txt"]
patches = ["src/p/*.toml"]
outputs = ["out/x.txt"]
`,
		"src/a.txt":    "alpha\n",
		"src/p/1.toml": "# p\n",
	})
	var got []string
	st := &funcStage{name: "sums", run: func(ctx context.Context, r *stage.Run) error {
		for _, p := range []string{"src/a.txt", "src/p/1.toml", "out/x.txt"} {
			sum, ok := r.Sum(p)
			if !ok {
				got = append(got, p+" unknown")
				continue
			}
			got = append(got, fmt.Sprintf("%s %v", p, cache.Hash(sum) == cache.Sum([]byte(read(t, root, p)))))
		}
		w, err := r.Create("out/x.txt")
		if err != nil {
			return err
		}
		_, err = w.Write([]byte("x"))
		return err
	}}
	mustBuild(t, root, Options{Version: "t", Registry: stage.NewRegistry(st)})
	want := []string{"src/a.txt true", "src/p/1.toml true", "out/x.txt unknown"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Run.Sum: got %q, want %q", got, want)
	}
}

// TestCriticalPathFirst: with one worker, of two stale nodes ready at
// once, the one with the longer chain below it runs first, whatever the
// file order says.
func TestCriticalPathFirst(t *testing.T) {
	root := workspace(t, map[string]string{
		"pipeline.toml": `
[[node]]
name = "leaf"
stage = "copy"
inputs = ["src/a.txt"]
outputs = ["out/leaf.txt"]

[[node]]
name = "head"
stage = "copy"
inputs = ["src/a.txt"]
outputs = ["out/head.txt"]

[[node]]
name = "middle"
stage = "copy"
inputs = ["out/head.txt"]
outputs = ["out/middle.txt"]

[[node]]
name = "tail"
stage = "copy"
inputs = ["out/middle.txt"]
outputs = ["out/tail.txt"]
`,
		"src/a.txt": "a",
	})
	st := &funcStage{name: "copy", run: func(_ context.Context, r *stage.Run) error {
		w, err := r.Create(r.Outputs[0])
		if err != nil {
			return err
		}
		_, err = w.Write([]byte("x"))
		return err
	}}
	var started []string
	mustBuild(t, root, Options{Version: "t", Registry: stage.NewRegistry(st), Jobs: 1, Events: func(ev Event) {
		if ev.Kind == Start {
			started = append(started, ev.Node)
		}
	}})
	// tail and leaf tie (nothing below either): file order decides.
	if want := []string{"head", "middle", "leaf", "tail"}; !reflect.DeepEqual(started, want) {
		t.Fatalf("started %v, want %v", started, want)
	}
}

// TestEditRightAfterBuildIsSeen edits an output in place straight after
// the build that wrote it, with the same size: the engine trusts the stat
// data it recorded for its outputs without the racy-entry rehash (they are
// backdated, see cache.File.Backdate), so the edit must show through the
// modification time alone. (Whether the edit lands in the same clock tick
// as the write depends on the kernel's file times; on fine-grained ones it
// never does, and this test cannot tell a racy entry from a trusted one.)
func TestEditRightAfterBuildIsSeen(t *testing.T) {
	root, _, opts := newChain(t)
	for i := 0; i < 3; i++ {
		mustBuild(t, root, opts)
		abs := filepath.Join(root, "out", "side.txt")
		old := read(t, root, "out/side.txt")
		f, err := os.OpenFile(abs, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte(strings.Repeat("x", len(old))), 0)
		f.Close()
		p := load(t, root, opts.Registry)
		rs, err := Check(p, opts)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			if r.Name == "side" {
				got = r.Reasons
			}
		}
		if !strings.Contains(strings.Join(got, "\n"), "output out/side.txt was edited by hand") {
			t.Fatalf("round %d: reasons of side = %q", i, got)
		}
		os.Remove(abs)
	}
}
