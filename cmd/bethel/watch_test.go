package main

// End-to-end tests of `bethel watch`: the real binary on a copy of
// testdata/watch (a small command-node pipeline) and, once it exists, of the
// sample event at the repository root. Edits are made the way editors make
// them; every wait is a deadline on an event (a JSON line, an HTTP event, a
// process exit), never a fixed sleep.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bethel/pkg/pipeline"
	"bethel/pkg/serve"
	"bethel/pkg/stages"
)

// watchDeadline bounds every wait for the watch to react. Reactions take
// well under a second; the margin is for a loaded CI machine.
const watchDeadline = 30 * time.Second

// wCopyTree copies src into dst (created), keeping modes.
func wCopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// wBuffer collects a stream that a test polls while it is written.
type wBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *wBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *wBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// watchProc is a running `bethel watch --json`.
type watchProc struct {
	t      *testing.T
	dir    string
	cmd    *exec.Cmd
	lines  chan string
	stderr *wBuffer
	exited chan error
	builds int // JSON lines read
}

// waitIdle waits until the watch has finished with every build read so
// far and is waiting for changes: only then is an event known to come
// after what those builds read, and a no-op event (touch) can be dropped.
func (w *watchProc) waitIdle() {
	w.t.Helper()
	deadline := time.Now().Add(watchDeadline)
	for strings.Count(w.stderr.String(), "bethel: watch: idle\n") < w.builds {
		if time.Now().After(deadline) {
			w.t.Fatalf("watch never idle after %d builds:\n%s", w.builds, w.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startWatch(t *testing.T, dir string, args ...string) *watchProc {
	t.Helper()
	// 100 ms of debounce (the default is 30 ms) keeps the two syscalls of
	// a delete-and-recreate in one batch even on a loaded machine.
	cmd := exec.Command(bethelBin, append([]string{"watch", "--json", "--debounce", "100ms"}, args...)...)
	cmd.Dir = dir
	// BETHEL_DEBUG=watch traces when the watcher knows a build is over
	// ("watch: idle"), which waitIdle uses.
	cmd.Env = append(os.Environ(), "BETHEL_DEBUG=watch")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w := &watchProc{t: t, dir: dir, cmd: cmd, lines: make(chan string, 100), stderr: &wBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = w.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		close(w.lines)
		w.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			// Drain the lines nobody read, or the reader could block on a
			// full channel and never reach Wait; and never hang the suite.
			lines, deadline := w.lines, time.After(30*time.Second)
		wait:
			for {
				select {
				case _, ok := <-lines:
					if !ok {
						lines = nil
					}
				case <-w.exited:
					break wait
				case <-deadline:
					t.Errorf("the watch process did not exit 30 s after it was killed")
					break wait
				}
			}
		}
		if t.Failed() {
			t.Logf("watch stderr:\n%s", w.stderr.String())
		}
	})
	return w
}

// next returns the next build's JSON line.
func (w *watchProc) next() watchJSON {
	w.t.Helper()
	select {
	case l, ok := <-w.lines:
		if !ok {
			w.t.Fatalf("watch exited; stderr:\n%s", w.stderr.String())
		}
		w.builds++
		var rec watchJSON
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			w.t.Fatalf("bad JSON line %q: %v", l, err)
		}
		return rec
	case <-time.After(watchDeadline):
		w.t.Fatalf("no build within %v; stderr:\n%s", watchDeadline, w.stderr.String())
	}
	return watchJSON{}
}

// stop sends SIGTERM and expects a clean exit.
func (w *watchProc) stop() {
	w.t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		w.t.Fatal(err)
	}
	for range w.lines {
	}
	select {
	case err := <-w.exited:
		if err != nil {
			w.t.Fatalf("watch exited with %v after SIGTERM; stderr:\n%s", err, w.stderr.String())
		}
	case <-time.After(watchDeadline):
		w.t.Fatal("watch did not exit after SIGTERM")
	}
}

// waitStderr polls the watch's stderr until re matches, and returns the
// first submatch.
func (w *watchProc) waitStderr(re *regexp.Regexp) string {
	w.t.Helper()
	deadline := time.Now().Add(watchDeadline)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(w.stderr.String()); m != nil {
			if len(m) > 1 {
				return m[1]
			}
			return m[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.t.Fatalf("stderr never matched %s:\n%s", re, w.stderr.String())
	return ""
}

func wRead(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wSave writes content the way vim, VS Code and most IDEs do: a
// temporary next to the file (with an editor's swap file around), then a
// rename over it.
func wSave(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	swap := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".swp")
	os.WriteFile(swap, []byte("swap"), 0o644)
	tmp := p + ".tmp.4242"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	os.Remove(swap)
}

func wWorkspace(t *testing.T) string {
	dir := t.TempDir()
	wCopyTree(t, "testdata/watch", dir)
	return dir
}

func wSameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestWatchRebuildsWhatChanged(t *testing.T) {
	dir := wWorkspace(t)
	w := startWatch(t, dir)
	first := w.next()
	if len(first.Changed) != 0 || len(first.Ran) != 6 || len(first.Failed) != 0 {
		t.Fatalf("initial build: %+v", first)
	}
	program := wRead(t, dir, "out/program.txt")
	cases := []struct {
		name    string
		edit    func()
		changed []string
		ran     []string // ran or restored
		check   func()
	}{
		{"patch edited by an editor's atomic save", func() {
			wSave(t, dir, "patches/01-bob.txt", "bob=bobby\n")
		}, []string{"patches/01-bob.txt"}, []string{"names", "count", "site"}, func() {
			if got := wRead(t, dir, "out/names.txt"); got != "alice\nbobby\ncarol\n" {
				t.Errorf("out/names.txt = %q", got)
			}
		}},
		{"sed -i (a temporary in the directory, renamed over the file)", func() {
			cmd := exec.Command("sed", "-i", "s/bob=bobby/bob=bobbie/", "patches/01-bob.txt")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("sed: %v\n%s", err, out)
			}
		}, []string{"patches/01-bob.txt"}, []string{"names", "count", "site"}, func() {
			if got := wRead(t, dir, "out/names.txt"); got != "alice\nbobbie\ncarol\n" {
				t.Errorf("out/names.txt = %q", got)
			}
		}},
		{"vim, headless, with its swap and backup files", func() {
			vim, err := exec.LookPath("vim")
			if err != nil {
				t.Skip("no vim on this machine")
			}
			cmd := exec.Command(vim, "-u", "NONE", "-i", "NONE", "-N", "-es",
				"-c", "set writebackup backupcopy=no swapfile", "-c", "%s/bob=bobbie/bob=bobby/", "-c", "wq", "patches/01-bob.txt")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("vim: %v\n%s", err, out)
			}
		}, []string{"patches/01-bob.txt"}, []string{"names", "count", "site"}, func() {
			if got := wRead(t, dir, "out/names.txt"); got != "alice\nbobby\ncarol\n" {
				t.Errorf("out/names.txt = %q", got)
			}
		}},
		{"new patch file matching the glob", func() {
			wSave(t, dir, "patches/02-carol.txt", "carol=caroline\n")
		}, []string{"patches/02-carol.txt"}, []string{"names", "count", "site"}, func() {
			if got := wRead(t, dir, "out/names.txt"); got != "alice\nbobby\ncaroline\n" {
				t.Errorf("out/names.txt = %q", got)
			}
		}},
		{"touch and an unchanged save rebuild nothing; a real edit after them comes alone", func() {
			w.waitIdle()
			later := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(dir, "inputs/names.txt"), later, later)
			wSave(t, dir, "scripts/apply.sh", wRead(t, dir, "scripts/apply.sh"))
			wSave(t, dir, "inputs/program.txt", "opening\nbanquet\nchoir\nclosing\n")
		}, []string{"inputs/program.txt"}, []string{"program", "site"}, func() {
			if got := wRead(t, dir, "out/program.txt"); got != "banquet\nchoir\nclosing\nopening\n" {
				t.Errorf("out/program.txt = %q", got)
			}
		}},
		{"patch file removed", func() {
			if err := os.Remove(filepath.Join(dir, "patches/02-carol.txt")); err != nil {
				t.Fatal(err)
			}
		}, []string{"patches/02-carol.txt"}, []string{"names", "count", "site"}, nil},
		{"input deleted and recreated", func() {
			os.Remove(filepath.Join(dir, "inputs/names.txt"))
			os.WriteFile(filepath.Join(dir, "inputs/names.txt"), []byte("alice\nbob\ncarol\ndora\n"), 0o644)
		}, []string{"inputs/names.txt"}, []string{"names", "count", "site"}, func() {
			if got := wRead(t, dir, "out/count.txt"); got != "4\n" {
				t.Errorf("out/count.txt = %q", got)
			}
		}},
		{"new file in a new subdirectory matching a ** glob", func() {
			p := filepath.Join(dir, "extra/new/deep/b.txt")
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, []byte("second extra\n"), 0o644)
		}, []string{"extra/new/deep/b.txt"}, []string{"extras"}, func() {
			if got := wRead(t, dir, "out/extras.txt"); got != "first extra\nsecond extra\n" {
				t.Errorf("out/extras.txt = %q", got)
			}
		}},
		{"file in the new subdirectory edited", func() {
			wSave(t, dir, "extra/new/deep/b.txt", "second extra, edited\n")
		}, []string{"extra/new/deep/b.txt"}, []string{"extras"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.edit()
			rec := w.next()
			if !wSameSet(rec.Changed, c.changed) {
				t.Fatalf("changed = %v, want %v", rec.Changed, c.changed)
			}
			did := append(slices.Clone(rec.Ran), rec.Restored...)
			if !wSameSet(did, c.ran) {
				t.Fatalf("ran+restored = %v, want %v (%+v)", did, c.ran, rec)
			}
			if len(rec.Failed) != 0 {
				t.Fatalf("failed: %+v", rec)
			}
			if c.check != nil {
				c.check()
			}
		})
	}
	if got := wRead(t, dir, "out/program.txt"); got == program {
		t.Error("out/program.txt never changed although inputs/program.txt did")
	}
	w.stop()
}

func TestWatchIgnoresOwnOutputsAndEditorFiles(t *testing.T) {
	dir := wWorkspace(t)
	w := startWatch(t, dir)
	w.next()
	// Writes under out/ and .bethel/, swap files and backups next to
	// sources: none of them may start a build. A real edit after them must
	// be the only change of the next build.
	os.WriteFile(filepath.Join(dir, "out/stray.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, ".bethel/stray"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "patches/.01-bob.txt.swp"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "patches/01-bob.txt~"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "patches/#01-bob.txt#"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "patches/4913"), []byte(""), 0o644)
	os.WriteFile(filepath.Join(dir, "unrelated.md"), []byte("notes"), 0o644)
	wSave(t, dir, "inputs/program.txt", "z\n")
	rec := w.next()
	if !slices.Equal(rec.Changed, []string{"inputs/program.txt"}) || !wSameSet(rec.Ran, []string{"program", "site"}) {
		t.Fatalf("build after ignored writes: %+v", rec)
	}
	w.stop()
}

func TestWatchBrokenPatchKeepsOutputsAndRecovers(t *testing.T) {
	dir := wWorkspace(t)
	w := startWatch(t, dir)
	w.next()
	count := wRead(t, dir, "out/count.txt")
	site := wRead(t, dir, "out/site/index.html")

	wSave(t, dir, "patches/03-bad.txt", "# a typo\nbroken line\n")
	rec := w.next()
	if !slices.Equal(rec.Failed, []string{"names"}) || rec.Error == "" {
		t.Fatalf("broken patch: %+v", rec)
	}
	// stderr and the JSON line on stdout travel separate pipes: wait.
	w.waitStderr(regexp.MustCompile(regexp.QuoteMeta("patches/03-bad.txt:2:")))
	// Outputs downstream of the failed node keep their last good version.
	if wRead(t, dir, "out/count.txt") != count || wRead(t, dir, "out/site/index.html") != site {
		t.Fatal("outputs changed by a failed build")
	}
	// The watch is alive: the fix recovers.
	wSave(t, dir, "patches/03-bad.txt", "# a typo\nalice=alicia\n")
	rec = w.next()
	if len(rec.Failed) != 0 || rec.Error != "" || !slices.Contains(rec.Ran, "names") {
		t.Fatalf("after the fix: %+v", rec)
	}
	if got := wRead(t, dir, "out/names.txt"); got != "alicia\nrobert\ncarol\n" {
		t.Fatalf("out/names.txt = %q", got)
	}
	if !strings.Contains(wRead(t, dir, "out/site/index.html"), "alicia") {
		t.Fatal("site not rebuilt after the fix")
	}
	w.stop()
}

func TestWatchBrokenPipelineRecoversAndRewatches(t *testing.T) {
	dir := wWorkspace(t)
	w := startWatch(t, dir)
	w.next()
	good := wRead(t, dir, "pipeline.toml")
	names := wRead(t, dir, "out/names.txt")
	wSave(t, dir, "pipeline.toml", good+"\n[[node]]\nname = \"x\"\nbogus = 1\n")
	rec := w.next()
	if !strings.HasPrefix(rec.Error, "pipeline.toml:") || !slices.Equal(rec.Changed, []string{"pipeline.toml"}) {
		t.Fatalf("broken pipeline: %+v", rec)
	}
	if wRead(t, dir, "out/names.txt") != names {
		t.Fatal("outputs changed while the pipeline was broken")
	}
	// Fixed, with a new node reading a new file: the watch set follows.
	os.MkdirAll(filepath.Join(dir, "notes"), 0o755)
	os.WriteFile(filepath.Join(dir, "notes/todo.txt"), []byte("one\n"), 0o644)
	wSave(t, dir, "pipeline.toml", good+`
[[node]]
name    = "todo"
run     = "cp notes/todo.txt out/todo.txt"
inputs  = ["notes/todo.txt"]
outputs = ["out/todo.txt"]
`)
	for {
		// The notes/ file may land in its own batch before the pipeline
		// names it; wait for the build that has the new node.
		rec = w.next()
		if slices.Contains(rec.Ran, "todo") {
			break
		}
		if rec.Error != "" {
			t.Fatalf("fixed pipeline: %+v", rec)
		}
	}
	wSave(t, dir, "notes/todo.txt", "two\n")
	rec = w.next()
	if !slices.Equal(rec.Changed, []string{"notes/todo.txt"}) || !slices.Equal(rec.Ran, []string{"todo"}) {
		t.Fatalf("edit of a file the reloaded pipeline reads: %+v", rec)
	}
	if got := wRead(t, dir, "out/todo.txt"); got != "two\n" {
		t.Fatalf("out/todo.txt = %q", got)
	}
	w.stop()
}

// TestWatchJSONErrorScrubbed: the error a --json line carries goes
// through the scrubber, as the build report's does. A pipeline file that
// does not load quotes its own source line, and an organizer may have typed
// a name or a phone number there.
func TestWatchJSONErrorScrubbed(t *testing.T) {
	dir := sampleClone(t)
	w := startWatch(t, dir)
	if rec := w.next(); rec.Error != "" || len(rec.Failed) != 0 {
		t.Fatalf("first build: %+v", rec)
	}
	good := wRead(t, dir, "pipeline.toml")
	bad := strings.Replace(good, "name       = \"housing\"\n", "name       = \"housing\"\ndescription = Talcroft 559-555-0120\n", 1)
	if bad == good {
		t.Fatal("the sample has no housing node to break")
	}
	wSave(t, dir, "pipeline.toml", bad)
	rec := w.next()
	if !strings.HasPrefix(rec.Error, "pipeline.toml:") || !strings.Contains(rec.Error, "<withheld>") {
		t.Fatalf("broken pipeline: %+v", rec)
	}
	for _, private := range []string{"Talcroft", "0120"} {
		if strings.Contains(rec.Error, private) {
			t.Errorf("the --json error holds %q: %s", private, rec.Error)
		}
	}
	w.waitIdle()
	if s := w.stderr.String(); strings.Contains(s, "Talcroft") || strings.Contains(s, "0120") {
		t.Errorf("stderr holds a private value:\n%s", s)
	}
	w.stop()
}

func TestWatchBurstOfSaves(t *testing.T) {
	dir := wWorkspace(t)
	w := startWatch(t, dir)
	w.next()
	// 50 saves in about 200 ms, as an editor's autosave or a script would.
	start := time.Now()
	for i := range 50 {
		wSave(t, dir, "patches/01-bob.txt", fmt.Sprintf("bob=bob%d\n", i))
		if d := time.Until(start.Add(time.Duration(i+1) * 4 * time.Millisecond)); d > 0 {
			time.Sleep(d) // pacing of the burst, not an assertion
		}
	}
	builds, superseded := 0, 0
	// A command node's output is missing while it runs: read without
	// failing, and only trust what a finished build left.
	names := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "out/names.txt"))
		return string(b)
	}
	for names() != "alice\nbob49\ncarol\n" {
		rec := w.next()
		builds++
		// A node whose input was saved again while it ran may fail (a
		// confined command cannot open the new file): that is superseded,
		// and the next build runs it. Any other failure is real.
		if len(rec.Failed) != 0 || (rec.Error != "" && len(rec.Superseded) == 0) {
			t.Fatalf("build failed during the burst: %+v", rec)
		}
		superseded += len(rec.Superseded)
	}
	// Any build of the burst still queued comes before the build of the
	// next edit.
	wSave(t, dir, "inputs/program.txt", "z\n")
	for {
		rec := w.next()
		if slices.Contains(rec.Changed, "inputs/program.txt") {
			break
		}
		builds++
	}
	t.Logf("50 saves in %v gave %d builds, %d nodes superseded", time.Since(start).Round(time.Millisecond), builds, superseded)
	if builds > 4 {
		t.Fatalf("%d builds for one burst of 50 saves, want at most 4", builds)
	}
	if got := wRead(t, dir, "out/count.txt"); got != "3\n" {
		t.Fatalf("out/count.txt = %q", got)
	}
	w.stop()
}

func TestWatchStopsCleanly(t *testing.T) {
	dir := wWorkspace(t)
	w := startWatch(t, dir)
	w.next()
	w.stop()
	if !strings.Contains(w.stderr.String(), "watch stopped") {
		t.Errorf("stderr:\n%s", w.stderr.String())
	}
	// The lock is free: a make that refuses to wait runs at once.
	if r := runBethel(t, dir, "make", "--wait", "0"); r.code != 0 {
		t.Fatalf("make after the watch: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestWatchStopsDuringBuild(t *testing.T) {
	dir := wWorkspace(t)
	w := startWatch(t, dir)
	w.next()
	old := wRead(t, dir, "out/delay.txt")
	started := filepath.Join(dir, "out/slow.started")
	os.Remove(started)
	wSave(t, dir, "inputs/delay.txt", "60\n")
	deadline := time.Now().Add(watchDeadline)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow node never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t0 := time.Now()
	w.stop() // fails unless the exit is clean (status 0)
	if d := time.Since(t0); d > 20*time.Second {
		t.Fatalf("stopping took %v: the 60 s command was waited for", d)
	}
	// The interrupted node's output is the old one or absent, never torn,
	// and the next build (lock free at once) brings it up to date.
	if b, err := os.ReadFile(filepath.Join(dir, "out/delay.txt")); err == nil && string(b) != old {
		t.Fatalf("out/delay.txt = %q after an interrupted build", b)
	}
	wSave(t, dir, "inputs/delay.txt", "0\n")
	if r := runBethel(t, dir, "make", "--wait", "0"); r.code != 0 {
		t.Fatalf("make after the interrupted watch: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := wRead(t, dir, "out/delay.txt"); got != "0\n" {
		t.Fatalf("out/delay.txt = %q", got)
	}
}

// wSSE reads event names from a server-sent event stream.
func wSSE(t *testing.T, url string) func() string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "event: ") {
				events <- strings.TrimPrefix(l, "event: ")
			} else if strings.HasPrefix(l, ": connected") {
				events <- "connected"
			}
		}
		close(events)
	}()
	return func() string {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				return "EOF"
			}
			return e
		case <-time.After(watchDeadline):
			t.Fatal("no server-sent event before the deadline")
		}
		return ""
	}
}

func wGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

func TestWatchServe(t *testing.T) {
	dir := wWorkspace(t)
	w := startWatch(t, dir, "--serve", "127.0.0.1:0")
	w.next()
	addr := w.waitStderr(regexp.MustCompile(`serving out/site/ at (http://[^/\s]+)/`))
	page := wGet(t, addr+"/")
	if !strings.Contains(page, serve.Script) || !strings.Contains(page, "robert") {
		t.Fatalf("served page lacks the reload script or the content:\n%s", page)
	}
	if strings.Contains(wRead(t, dir, "out/site/index.html"), "EventSource") {
		t.Fatal("the reload script was written into out/site/index.html")
	}
	next := wSSE(t, addr+serve.EventsPath)
	if e := next(); e != "connected" {
		t.Fatalf("first event %q", e)
	}
	wSave(t, dir, "patches/01-bob.txt", "bob=roberto\n")
	w.next()
	if e := next(); e != "reload" {
		t.Fatalf("event after a rebuild: %q, want reload", e)
	}
	if page := wGet(t, addr+"/"); !strings.Contains(page, "roberto") {
		t.Fatalf("page after the rebuild:\n%s", page)
	}
	// A failed build does not reload the page (it would show nothing new);
	// the following good build does.
	wSave(t, dir, "patches/03-bad.txt", "broken\n")
	if rec := w.next(); len(rec.Failed) == 0 {
		t.Fatalf("expected a failed build: %+v", rec)
	}
	os.Remove(filepath.Join(dir, "patches/03-bad.txt"))
	w.next()
	if e := next(); e != "reload" {
		t.Fatalf("event after the recovering build: %q", e)
	}
	w.stop()
}

// TestWatchServeAnswersItsOwnAddressOnly: the real preview refuses a
// DNS-rebinding Host (421), serves no symlink planted in out/site/, and
// sends the policy headers with its pages.
func TestWatchServeAnswersItsOwnAddressOnly(t *testing.T) {
	dir := wWorkspace(t)
	w := startWatch(t, dir, "--serve", "127.0.0.1:0")
	w.next()
	addr := w.waitStderr(regexp.MustCompile(`serving out/site/ at (http://[^/\s]+)/`))
	get := func(path, host string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", addr+path, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(addr, "http://"))
	if resp := get("/", "attacker.test:"+port); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("rebinding Host: %s, want 421", resp.Status)
	}
	resp := get("/", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != serve.Policy ||
		resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("page: %s, headers %v", resp.Status, resp.Header)
	}
	if err := os.Symlink("/", filepath.Join(dir, "out", "site", "root")); err != nil {
		t.Fatal(err)
	}
	if resp := get("/root/etc/hostname", ""); resp.StatusCode != 404 {
		t.Errorf("symlink to /: %s, want 404", resp.Status)
	}
	w.stop()
}

func TestWatchServeRefusesPublicAddress(t *testing.T) {
	dir := wWorkspace(t)
	r := runBethel(t, dir, "watch", "--serve", "0.0.0.0:0")
	if r.code != 2 || !strings.Contains(r.stderr, "--public-serve-ok") || !strings.Contains(r.stderr, "internal") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	// With the flag it starts, and warns.
	w := startWatch(t, dir, "--serve", "0.0.0.0:0", "--public-serve-ok")
	w.next()
	w.waitStderr(regexp.MustCompile(`warning: serving on 0\.0\.0\.0:0, which other machines can reach`))
	w.stop()
}

func TestWatchServePlaceholder(t *testing.T) {
	dir := wWorkspace(t)
	// A pipeline without the site node: out/site/ never exists.
	p := wRead(t, dir, "pipeline.toml")
	i := strings.Index(p, "[[node]]\nname    = \"site\"")
	j := strings.Index(p, "[[node]]\nname    = \"extras\"")
	os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(p[:i]+p[j:]), 0o644)
	w := startWatch(t, dir, "--serve=127.0.0.1:0")
	w.next()
	addr := w.waitStderr(regexp.MustCompile(`serving out/site/ at (http://[^/\s]+)/`))
	page := wGet(t, addr+"/")
	if !strings.Contains(page, "has not been built") || !strings.Contains(page, serve.Script) {
		t.Fatalf("placeholder:\n%s", page)
	}
	w.stop()
}

func TestWatchStartsWithBrokenPipeline(t *testing.T) {
	dir := wWorkspace(t)
	good := wRead(t, dir, "pipeline.toml")
	os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(good+"\n[[node]]\nname = 3\n"), 0o644)
	w := startWatch(t, dir)
	if rec := w.next(); !strings.HasPrefix(rec.Error, "pipeline.toml:") {
		t.Fatalf("first line with a broken pipeline: %+v", rec)
	}
	wSave(t, dir, "pipeline.toml", good)
	rec := w.next()
	if rec.Error != "" || len(rec.Ran) != 6 {
		t.Fatalf("after the fix: %+v", rec)
	}
	// The sources of the now loaded pipeline are watched.
	wSave(t, dir, "inputs/program.txt", "y\n")
	if rec := w.next(); !slices.Equal(rec.Changed, []string{"inputs/program.txt"}) {
		t.Fatalf("edit after the fix: %+v", rec)
	}
	w.stop()
}

func TestWatchUnknownTarget(t *testing.T) {
	dir := wWorkspace(t)
	r := runBethel(t, dir, "watch", "nosuchnode")
	if r.code != 2 || !strings.Contains(r.stderr, "nosuchnode") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestWatchTargetsLimitWhatIsWatched(t *testing.T) {
	dir := wWorkspace(t)
	w := startWatch(t, dir, "out/program.txt")
	if rec := w.next(); !slices.Equal(rec.Ran, []string{"program"}) {
		t.Fatalf("initial build of one target: %+v", rec)
	}
	// A patch is not read by the target: no build; the program edit after
	// it is the next build, alone.
	wSave(t, dir, "patches/01-bob.txt", "bob=bert\n")
	wSave(t, dir, "inputs/program.txt", "x\n")
	if rec := w.next(); !slices.Equal(rec.Changed, []string{"inputs/program.txt"}) || !slices.Equal(rec.Ran, []string{"program"}) {
		t.Fatalf("build after edits: %+v", rec)
	}
	w.stop()
}

func TestWatchStopsWhileWaitingForLock(t *testing.T) {
	dir := wWorkspace(t)
	os.MkdirAll(filepath.Join(dir, ".bethel"), 0o700)
	f, err := os.OpenFile(filepath.Join(dir, ".bethel/lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Another bethel holds the workspace: the initial build waits.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, dir)
	w.waitStderr(regexp.MustCompile(`waiting for another bethel`))
	w.stop()
}

func TestWatchHumanOutput(t *testing.T) {
	dir := wWorkspace(t)
	cmd := exec.Command(bethelBin, "watch", "--debounce", "100ms")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BETHEL_DEBUG=")
	var out, errb wBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	summary := regexp.MustCompile(`(?m)^bethel: \d+ ran, \d+ restored, \d+ up to date, \d+ failed(, \d+ skipped)? in \d+\.\d\ds$`)
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(watchDeadline)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("never printed %s; stdout:\n%s\nstderr:\n%s", what, out.String(), errb.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("the first summary", func() bool { return len(summary.FindAllString(out.String(), -1)) == 1 })
	wSave(t, dir, "patches/01-bob.txt", "broken\n")
	waitFor("the failed build's block", func() bool { return len(summary.FindAllString(out.String(), -1)) == 2 })
	wSave(t, dir, "patches/01-bob.txt", "bob=bobby\n")
	waitFor("the recovering build's block", func() bool { return len(summary.FindAllString(out.String(), -1)) == 3 })
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	o, e := out.String(), errb.String()
	for _, want := range []string{"\nbethel: changed: patches/01-bob.txt\n", "ran names\n", "1 failed, 2 skipped in "} {
		if !strings.Contains(o, want) {
			t.Errorf("stdout lacks %q:\n%s", want, o)
		}
	}
	for _, want := range []string{"patches/01-bob.txt:1: patch line has no '='", "FAILED names", "build failed; waiting for the next save", "watch stopped"} {
		if !strings.Contains(e, want) {
			t.Errorf("stderr lacks %q:\n%s", want, e)
		}
	}
}

// snapshot reads every file under out/.
func wSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	// The build report describes every build, failed ones too; it is no
	// output (TestBuildReport checks it).
	report := ""
	if p, err := pipeline.Load(dir, "pipeline.toml", stages.Registry().Names()); err == nil {
		report = p.Report
	}
	root := filepath.Join(dir, "out")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if err == nil && !d.IsDir() && filepath.ToSlash(rel) != report {
			b, _ := os.ReadFile(p)
			m[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return m
}

func wDiff(a, b map[string]string) []string {
	var d []string
	for p, v := range a {
		if w, ok := b[p]; !ok || w != v {
			d = append(d, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			d = append(d, p)
		}
	}
	slices.Sort(d)
	return d
}

// TestWatchSampleEvent runs the watch on a copy of the sample event at the
// repository root, editing patches as an organizer would.
func TestWatchSampleEvent(t *testing.T) {
	repo, _ := filepath.Abs("../..")
	if d := os.Getenv("BETHEL_SAMPLE_DIR"); d != "" {
		repo = d // another event workspace laid out like the sample
	}
	if _, err := os.Stat(filepath.Join(repo, "pipeline.toml")); err != nil {
		t.Skip("no sample pipeline.toml at the repository root yet")
	}
	dir := t.TempDir()
	for _, d := range []string{"inputs", "config", "patches", "scripts"} {
		if _, err := os.Stat(filepath.Join(repo, d)); err == nil {
			wCopyTree(t, filepath.Join(repo, d), filepath.Join(dir, d))
		}
	}
	wCopyTree(t, filepath.Join(repo, "pipeline.toml"), filepath.Join(dir, "pipeline.toml"))
	w := startWatch(t, dir)
	if rec := w.next(); len(rec.Failed) != 0 || rec.Error != "" {
		t.Fatalf("initial build of the sample: %+v", rec)
	}
	before := wSnapshot(t, dir)

	// A new patch file changing one registration's t-shirt size.
	f, err := os.Open(filepath.Join(dir, "out/private/registrations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wCSVRows(f)
	f.Close()
	if err != nil || len(rows) < 2 {
		t.Fatalf("out/private/registrations.csv: %v", err)
	}
	col := func(name string) int {
		for i, h := range rows[0] {
			if strings.TrimPrefix(h, "\ufeff") == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	id, size := rows[1][col("registration_id")], rows[1][col("tshirt_size")]
	newSize := "S"
	if size == "S" {
		newSize = "M"
	}
	patch := fmt.Sprintf("[[patch]]\nid     = \"watch-test-size\"\ntarget = \"registrations\"\nmatch  = { registration_id = %q }\n"+
		"set    = { tshirt_size = %q }\nreason = \"watch test\"\nauthor = \"test\"\ndate   = 2026-05-01\n", id, newSize)
	wSave(t, dir, "patches/registrations/99-watch-test.toml", patch)
	rec := w.next()
	if len(rec.Failed) != 0 || !slices.Equal(rec.Changed, []string{"patches/registrations/99-watch-test.toml"}) || len(rec.Ran) == 0 {
		t.Fatalf("patch edit: %+v", rec)
	}
	edited := wSnapshot(t, dir)
	changed := wDiff(before, edited)
	if !slices.Contains(changed, "out/private/registrations.csv") {
		t.Fatalf("registrations not rebuilt; changed: %v", changed)
	}
	for _, p := range changed {
		if strings.HasPrefix(p, "out/program/") {
			t.Errorf("a registrations patch changed %s", p)
		}
	}
	if _, ok := before["out/summary/tshirts.csv"]; ok && !slices.Contains(changed, "out/summary/tshirts.csv") {
		t.Errorf("out/summary/tshirts.csv did not follow the size change; changed: %v", changed)
	}

	// A broken patch (orphan: no such record) fails the build and leaves
	// every output as it was.
	wSave(t, dir, "patches/registrations/98-broken.toml", "[[patch]]\nid     = \"watch-test-orphan\"\ntarget = \"registrations\"\n"+
		"match  = { registration_id = \"R-99999999\" }\nset    = { tshirt_size = \"M\" }\nreason = \"watch test\"\nauthor = \"test\"\ndate   = 2026-05-01\n")
	rec = w.next()
	if len(rec.Failed) == 0 || rec.Error == "" {
		t.Fatalf("broken patch: %+v", rec)
	}
	w.waitStderr(regexp.MustCompile(regexp.QuoteMeta("patches/registrations/98-broken.toml:")))
	if d := wDiff(edited, wSnapshot(t, dir)); len(d) != 0 {
		t.Fatalf("a failed build changed %v", d)
	}
	// Removing it recovers: the outputs are those of the good state again.
	if err := os.Remove(filepath.Join(dir, "patches/registrations/98-broken.toml")); err != nil {
		t.Fatal(err)
	}
	rec = w.next()
	if len(rec.Failed) != 0 || rec.Error != "" {
		t.Fatalf("after removing the broken patch: %+v", rec)
	}
	if d := wDiff(edited, wSnapshot(t, dir)); len(d) != 0 {
		t.Fatalf("outputs after recovery differ from the good state: %v", d)
	}
	// A program patch (the program is locked: it says after_lock) reruns
	// the program node and what shows the program (the workbook, the
	// corrections log and the review site), and leaves the registrations
	// side alone but for the public attendance: a public.table reads the
	// pipeline's graph, which lists the new patch file (its output is
	// the same bytes, so nothing after it runs).
	wSave(t, dir, "patches/program/90-watch-test.toml", "[[patch]]\nid         = \"watch-test-title\"\ntarget     = \"program\"\n"+
		"match      = { id = \"S-002\" }\nset        = { title = \"Opening Ceremony (watch test)\" }\nreason     = \"watch test\"\n"+
		"author     = \"test\"\ndate       = 2026-06-02\nafter_lock = true\n")
	rec = w.next()
	if len(rec.Failed) != 0 || !slices.Equal(rec.Ran, []string{"public-attendance", "program", "workbook", "corrections", "site"}) {
		t.Fatalf("program patch: %+v", rec)
	}
	changed = wDiff(edited, wSnapshot(t, dir))
	if len(changed) == 0 {
		t.Fatal("the program patch changed no output")
	}
	for _, p := range changed {
		if !strings.HasPrefix(p, "out/program/") && !strings.HasPrefix(p, "out/site/") && p != "out/summary/patches.json" && p != "out/summary/summary.xlsx" {
			t.Errorf("a program patch changed %s", p)
		}
	}
	if err := os.Remove(filepath.Join(dir, "patches/program/90-watch-test.toml")); err != nil {
		t.Fatal(err)
	}
	if rec := w.next(); len(rec.Failed) != 0 {
		t.Fatalf("program patch removed: %+v", rec)
	}

	// Reverting the first edit brings the first outputs back (restored
	// from the cache).
	os.Remove(filepath.Join(dir, "patches/registrations/99-watch-test.toml"))
	rec = w.next()
	if len(rec.Failed) != 0 || len(rec.Ran) != 0 {
		t.Fatalf("revert: %+v (want everything restored or up to date)", rec)
	}
	if d := wDiff(before, wSnapshot(t, dir)); len(d) != 0 {
		t.Fatalf("outputs after the revert differ from the first build: %v", d)
	}
	w.stop()
}

func wCSVRows(r io.Reader) ([][]string, error) {
	return csv.NewReader(r).ReadAll()
}
