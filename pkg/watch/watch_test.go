package watch

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// wait is how long a test waits for a batch before failing. It is a
// deadline, not a delay: batches normally arrive within the debounce.
const wait = 10 * time.Second

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// saveAtomic saves like vim (backupcopy=no), VS Code and most IDEs: write a
// temporary in the same directory, then rename it over the file.
func saveAtomic(t *testing.T, root, rel, tmpName, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	tmp := filepath.Join(filepath.Dir(p), tmpName)
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, root string, in Interest) *Watcher {
	t.Helper()
	w, err := New(Config{Root: root, Interest: in, Debounce: 20 * time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func next(t *testing.T, w *Watcher) Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	b, err := w.Next(ctx)
	if err != nil {
		t.Fatalf("no batch within %v: %v", wait, err)
	}
	return b
}

// expectOnly writes a sentinel file and expects the next batch to hold
// exactly want and the sentinel: nothing else was pending.
func expectOnly(t *testing.T, w *Watcher, root, sentinel string, want ...string) {
	t.Helper()
	write(t, root, sentinel, time.Now().String())
	b := next(t, w)
	want = append(want, sentinel)
	slices.Sort(want)
	if !reflect.DeepEqual(b.Paths, want) {
		t.Fatalf("batch = %v, want %v", b.Paths, want)
	}
}

func sample(t *testing.T) string {
	root := t.TempDir()
	write(t, root, "pipeline.toml", "# pipeline\n")
	write(t, root, "inputs/program.csv", "id,title\n1,Opening\n")
	write(t, root, "config/schedule.toml", "x = 1\n")
	write(t, root, "patches/registrations/01-fix.toml", "[[patch]]\n")
	write(t, root, "out/site/index.html", "<html></html>\n")
	return root
}

func sampleInterest() Interest {
	return Interest{
		Files:  []string{"pipeline.toml", "inputs/program.csv", "config/schedule.toml", "patches/registrations/01-fix.toml"},
		Globs:  []string{"patches/registrations/*.toml", "patches/program/*.toml"},
		Ignore: []string{"out/site", "out/summary/attendance.csv"},
	}
}

func TestEditorSaves(t *testing.T) {
	cases := []struct {
		name string
		edit func(t *testing.T, root string)
		want []string
	}{
		{"plain write", func(t *testing.T, root string) {
			write(t, root, "inputs/program.csv", "id,title\n1,Welcome\n")
		}, []string{"inputs/program.csv"}},
		{"vim rename save with backup and 4913 probe", func(t *testing.T, root string) {
			p := filepath.Join(root, "config/schedule.toml")
			write(t, root, "config/4913", "")
			os.Remove(filepath.Join(root, "config/4913"))
			write(t, root, "config/.schedule.toml.swp", "swap")
			if err := os.Rename(p, p+"~"); err != nil {
				t.Fatal(err)
			}
			write(t, root, "config/schedule.toml", "x = 2\n")
			os.Remove(p + "~")
		}, []string{"config/schedule.toml"}},
		{"vscode temp and rename", func(t *testing.T, root string) {
			saveAtomic(t, root, "inputs/program.csv", "program.csv.tmp.1234", "id,title\n2,Choir\n")
		}, []string{"inputs/program.csv"}},
		{"jetbrains safe write", func(t *testing.T, root string) {
			saveAtomic(t, root, "patches/registrations/01-fix.toml", "01-fix.toml___jb_tmp___", "[[patch]]\nid = \"a\"\n")
		}, []string{"patches/registrations/01-fix.toml"}},
		{"gedit goutputstream", func(t *testing.T, root string) {
			saveAtomic(t, root, "pipeline.toml", ".goutputstream-ABC123", "# pipeline v2\n")
		}, []string{"pipeline.toml"}},
		{"emacs lock and autosave", func(t *testing.T, root string) {
			write(t, root, "patches/registrations/#02-new.toml#", "draft")
			if err := os.Symlink("user@host.1234", filepath.Join(root, "patches/registrations/.#02-new.toml")); err != nil {
				t.Fatal(err)
			}
			write(t, root, "patches/registrations/02-new.toml", "[[patch]]\n")
		}, []string{"patches/registrations/02-new.toml"}},
		{"delete and recreate", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "inputs/program.csv")); err != nil {
				t.Fatal(err)
			}
			write(t, root, "inputs/program.csv", "id,title\n3,Banquet\n")
		}, []string{"inputs/program.csv"}},
		{"removed file", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "patches/registrations/01-fix.toml")); err != nil {
				t.Fatal(err)
			}
		}, []string{"patches/registrations/01-fix.toml"}},
		{"new file matching a glob in a new directory", func(t *testing.T, root string) {
			write(t, root, "patches/program/01-move.toml", "[[patch]]\n")
		}, []string{"patches/program/01-move.toml"}},
		{"directory deleted and recreated", func(t *testing.T, root string) {
			if err := os.RemoveAll(filepath.Join(root, "patches")); err != nil {
				t.Fatal(err)
			}
			write(t, root, "patches/registrations/01-fix.toml", "[[patch]]\nid = \"b\"\n")
		}, []string{"patches/registrations/01-fix.toml"}},
		{"LibreOffice lock file and own temp", func(t *testing.T, root string) {
			write(t, root, "patches/registrations/.~lock.01-fix.toml#", "lock")
			saveAtomic(t, root, "patches/registrations/01-fix.toml", "lu12345.tmp", "[[patch]]\nid = \"c\"\n")
		}, []string{"patches/registrations/01-fix.toml"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := sample(t)
			w := start(t, root, sampleInterest())
			c.edit(t, root)
			var got []string
			deadline := time.Now().Add(wait)
			// A slow machine may split one edit over two batches; collect
			// until every wanted path was seen.
			for !subset(c.want, got) && time.Now().Before(deadline) {
				got = union(got, next(t, w).Paths)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("changed = %v, want %v", got, c.want)
			}
			// Nothing else is pending: a sentinel edit comes alone.
			expectOnly(t, w, root, "patches/registrations/zz-sentinel.toml")
		})
	}
}

func subset(want, got []string) bool {
	for _, p := range want {
		if !slices.Contains(got, p) {
			return false
		}
	}
	return true
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, p := range b {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func TestIgnored(t *testing.T) {
	root := sample(t)
	in := sampleInterest()
	in.Globs = append(in.Globs, "**/*.csv") // would match out/ and .bethel/ if they were not ignored
	w := start(t, root, in)
	for _, d := range w.Dirs() {
		if under(d, "out") || under(d, ".bethel") {
			t.Fatalf("watching %s", d)
		}
	}
	write(t, root, "out/summary/attendance.csv", "a,b\n")
	write(t, root, "out/private/new.csv", "a,b\n")
	write(t, root, ".bethel/state/x.csv", "a\n")
	write(t, root, "inputs/.program.csv.swp", "swap")
	write(t, root, "inputs/program.csv~", "backup")
	write(t, root, "inputs/~$program.csv", "office")
	expectOnly(t, w, root, "inputs/zz.csv")
}

func TestNewSubdirectoryGlob(t *testing.T) {
	root := sample(t)
	in := sampleInterest()
	in.Globs = []string{"patches/**/*.toml"}
	w := start(t, root, in)
	// mkdir -p and an immediate write: the file exists before the watch
	// on its directory does, so only the walk after adding it can see it.
	write(t, root, "patches/a/b/c/new.toml", "[[patch]]\n")
	got := next(t, w).Paths
	if !slices.Contains(got, "patches/a/b/c/new.toml") {
		t.Fatalf("changed = %v, want patches/a/b/c/new.toml", got)
	}
	// A directory prepared elsewhere and moved in produces one event for
	// the directory only.
	outside := t.TempDir()
	write(t, outside, "moved/deep/p.toml", "[[patch]]\n")
	if err := os.Rename(filepath.Join(outside, "moved"), filepath.Join(root, "patches/moved")); err != nil {
		t.Fatal(err)
	}
	got = next(t, w).Paths
	if !reflect.DeepEqual(got, []string{"patches/moved/deep/p.toml"}) {
		t.Fatalf("changed = %v, want [patches/moved/deep/p.toml]", got)
	}
	// Files in the new directories are watched from now on.
	write(t, root, "patches/a/b/c/new.toml", "[[patch]]\nid = \"x\"\n")
	if got := next(t, w).Paths; !reflect.DeepEqual(got, []string{"patches/a/b/c/new.toml"}) {
		t.Fatalf("changed = %v", got)
	}
	// Moving a directory away reports what was in it.
	if err := os.Rename(filepath.Join(root, "patches/moved"), filepath.Join(outside, "gone")); err != nil {
		t.Fatal(err)
	}
	if got := next(t, w).Paths; !reflect.DeepEqual(got, []string{"patches/moved/deep/p.toml"}) {
		t.Fatalf("changed = %v", got)
	}
	// And the moved directory's old watches do not report under stale names.
	write(t, outside, "gone/deep/p.toml", "changed elsewhere")
	expectOnly(t, w, root, "patches/zz.toml")
}

func TestBurstCoalesced(t *testing.T) {
	root := sample(t)
	w := start(t, root, sampleInterest())
	// 50 saves in about 200 ms, each an atomic rename like an editor's.
	for i := range 50 {
		saveAtomic(t, root, "inputs/program.csv", ".goutputstream-X", "id,title\n"+string(rune('a'+i%26))+"\n")
		time.Sleep(4 * time.Millisecond) // pacing of the burst, not an assertion
	}
	write(t, root, "inputs/program.csv", "id,title\nfinal\n")
	write(t, root, "pipeline.toml", "# sentinel\n")
	batches := 0
	for {
		b := next(t, w)
		if slices.Contains(b.Paths, "inputs/program.csv") {
			batches++
		}
		if slices.Contains(b.Paths, "pipeline.toml") {
			break
		}
	}
	if batches == 0 || batches > 3 {
		t.Fatalf("%d batches for one burst, want 1 to 3", batches)
	}
}

func TestChangesDuringBuildNotLost(t *testing.T) {
	root := sample(t)
	w := start(t, root, sampleInterest())
	write(t, root, "inputs/program.csv", "id,title\nv2\n")
	if got := next(t, w).Paths; !reflect.DeepEqual(got, []string{"inputs/program.csv"}) {
		t.Fatalf("changed = %v", got)
	}
	// The caller is now "building". An edit made meanwhile, then reverted
	// to the handed-out content before the build ends: the build may have
	// read the intermediate version, so the path must come again.
	write(t, root, "inputs/program.csv", "id,title\nv3\n")
	write(t, root, "config/schedule.toml", "x = 9\n")
	write(t, root, "inputs/program.csv", "id,title\nv2\n")
	got := next(t, w).Paths
	if !reflect.DeepEqual(got, []string{"config/schedule.toml", "inputs/program.csv"}) {
		t.Fatalf("changed = %v, want both files", got)
	}
}

func TestTouchDropped(t *testing.T) {
	root := sample(t)
	w := start(t, root, sampleInterest())
	// The first Next ends the "initial build"; only then is a touch known
	// to leave content the build has seen.
	write(t, root, "config/schedule.toml", "x = 3\n")
	next(t, w)
	// Wait, in a second Next, until the watcher knows the caller is idle.
	idle := make(chan struct{}, 1)
	w.onIdle = func() { idle <- struct{}{} }
	done := make(chan Batch, 1)
	go func() {
		b, _ := w.Next(context.Background())
		done <- b
	}()
	select {
	case <-idle:
	case <-time.After(wait):
		t.Fatal("watcher never saw its barrier")
	}
	later := time.Now().Add(time.Hour)
	for _, p := range []string{"inputs/program.csv", "pipeline.toml", "config/schedule.toml"} {
		if err := os.Chtimes(filepath.Join(root, p), later, later); err != nil {
			t.Fatal(err)
		}
	}
	// Same content written again (an editor's :w with no change).
	write(t, root, "inputs/program.csv", "id,title\n1,Opening\n")
	write(t, root, "patches/registrations/zz.toml", "new")
	select {
	case b := <-done:
		if !reflect.DeepEqual(b.Paths, []string{"patches/registrations/zz.toml"}) {
			t.Fatalf("batch = %v, want only the new file", b.Paths)
		}
	case <-time.After(wait):
		t.Fatal("no batch")
	}
}

func TestOverflowRescans(t *testing.T) {
	root := sample(t)
	w := start(t, root, sampleInterest())
	// The kernel reports a queue overflow through fsnotify's error channel;
	// deliver one through the real loop.
	w.fsw.Errors <- fsnotify.ErrEventOverflow
	b := next(t, w)
	if !b.Rescan {
		t.Fatal("Rescan not set after overflow")
	}
	want := []string{"config/schedule.toml", "inputs/program.csv", "patches/registrations/01-fix.toml", "pipeline.toml"}
	if !reflect.DeepEqual(b.Paths, want) {
		t.Fatalf("paths = %v, want %v", b.Paths, want)
	}
}

func TestSetInterest(t *testing.T) {
	root := sample(t)
	w := start(t, root, Interest{Files: []string{"pipeline.toml"}})
	write(t, root, "pipeline.toml", "# reloaded\n")
	next(t, w)
	in := sampleInterest()
	in.Files = append(in.Files, "scripts/tool.sh")
	if err := w.SetInterest(in); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(w.Dirs(), "inputs") {
		t.Fatalf("dirs = %v, want inputs", w.Dirs())
	}
	// A file in a directory that does not exist yet is found when it is created.
	write(t, root, "scripts/tool.sh", "echo hi\n")
	write(t, root, "inputs/program.csv", "id,title\nnew\n")
	got := next(t, w).Paths
	if !reflect.DeepEqual(got, []string{"inputs/program.csv", "scripts/tool.sh"}) {
		t.Fatalf("changed = %v", got)
	}
	// Interest dropped: no longer watched.
	if err := w.SetInterest(Interest{Files: []string{"pipeline.toml"}}); err != nil {
		t.Fatal(err)
	}
	if d := w.Dirs(); !reflect.DeepEqual(d, []string{"."}) {
		t.Fatalf("dirs = %v, want [.]", d)
	}
}

func TestNextCancel(t *testing.T) {
	root := sample(t)
	w := start(t, root, sampleInterest())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Next(ctx); err == nil {
		t.Fatal("Next on a cancelled context returned no error")
	}
	w.Close()
	if _, err := w.Next(context.Background()); err == nil {
		t.Fatal("Next after Close returned no error")
	}
}
