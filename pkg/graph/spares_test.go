package graph

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"bethel/pkg/cache"
	"bethel/pkg/sandbox"
	"bethel/pkg/stage"
)

// TestSpareOutputs runs confined commands one after another, private and
// public ones alternating, so that each gets its outputs from the spares
// made while the one before it ran: every output has its own visibility's
// mode, one never written is reported missing and removed, and no spare is
// left in the state directory when the build ends.
func TestSpareOutputs(t *testing.T) {
	if err := sandbox.Available(); err != nil {
		t.Skip(err)
	}
	root := workspace(t, map[string]string{"pipeline.toml": `
[[node]]
name = "pub1"
run = "echo 1 > out/pub1.txt"
outputs = ["out/pub1.txt"]

[[node]]
name = "priv1"
run = "echo 2 > out/private/a.txt; echo 3 > out/private/b.txt"
outputs = ["out/private/a.txt", "out/private/b.txt"]
visibility = "private"

[[node]]
name = "pub2"
run = "echo 4 > out/pub2.txt; echo 5 > out/pub3.txt"
outputs = ["out/pub2.txt", "out/pub3.txt"]

[[node]]
name = "priv2"
run = "echo 6 > out/private/c.txt"
outputs = ["out/private/c.txt"]
visibility = "private"

[[node]]
name = "lazy"
run = "true"
outputs = ["out/lazy.txt"]
`})
	opts := Options{Version: "t", Registry: stage.NewRegistry(), Jobs: 1, KeepGoing: true}
	_, err := Build(context.Background(), load(t, root, opts.Registry), opts)
	if err == nil || !strings.Contains(errString(err), "lazy") {
		t.Fatalf("build: %v, want node lazy failed", err)
	}
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	for _, tc := range []struct {
		path, content string
		mode          os.FileMode
	}{
		{"out/pub1.txt", "1\n", 0o644},
		{"out/private/a.txt", "2\n", 0o600},
		{"out/private/b.txt", "3\n", 0o600},
		{"out/pub2.txt", "4\n", 0o644},
		{"out/pub3.txt", "5\n", 0o644},
		{"out/private/c.txt", "6\n", 0o600},
	} {
		if got := read(t, root, tc.path); got != tc.content {
			t.Errorf("%s holds %q, want %q", tc.path, got, tc.content)
		}
		if got, want := mustStat(t, root, tc.path).Mode().Perm(), tc.mode&^os.FileMode(umask); got != want {
			t.Errorf("%s has mode %04o, want %04o", tc.path, got, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "out/lazy.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("out/lazy.txt, never written, is still there: %v", err)
	}
	ents, err := os.ReadDir(stateDir(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range ents {
		if cache.IsTemp(ent.Name()) {
			t.Errorf("left in the state directory: %s", ent.Name())
		}
	}
}

func errString(err error) string {
	var be *BuildError
	if errors.As(err, &be) {
		return strings.Join(be.Failed, " ")
	}
	return err.Error()
}

// TestSpareTake checks spareFiles on its own: a spare is renamed into a
// path that does not exist, never over one that does, and one that cannot
// be renamed there (another file system) turns the spares off.
func TestSpareTake(t *testing.T) {
	dir := t.TempDir()
	s := spareFiles{dir: dir}
	s.fill(0o644, 2)
	dst := filepath.Join(dir, "out.txt")
	if !s.take(dst, 0o644) {
		t.Fatal("no spare taken")
	}
	if st, err := os.Stat(dst); err != nil || st.Size() != 0 {
		t.Fatalf("taken spare: %v %v", st, err)
	}
	if s.take(dst, 0o600) {
		t.Error("a spare of another mode was taken")
	}
	if err := os.WriteFile(dst, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s.take(dst, 0o644) {
		t.Error("a spare replaced an existing file")
	}
	if got := read(t, dir, "out.txt"); got != "kept" {
		t.Errorf("the existing file holds %q", got)
	}
	s.close()
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("after close the directory holds %v", ents)
	}

	// Another file system: /dev/shm where it is a tmpfs apart from dir.
	other, err := os.MkdirTemp("/dev/shm", "bethel-spare-test-")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	defer os.RemoveAll(other)
	var a, b syscall.Stat_t
	if syscall.Stat(other, &a) != nil || syscall.Stat(dir, &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm is on the same file system as the test's directory")
	}
	s = spareFiles{dir: other}
	s.fill(0o644, 1)
	if s.take(filepath.Join(dir, "far.txt"), 0o644) {
		t.Fatal("a spare was renamed across file systems")
	}
	if !s.off {
		t.Error("spares still on after a rename across file systems failed")
	}
	s.fill(0o644, 1)
	if ents, _ := os.ReadDir(other); len(ents) != 0 {
		t.Errorf("spares made or left after they were turned off: %v", ents)
	}
}
