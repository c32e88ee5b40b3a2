package graph

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bethel/pkg/sandbox"
	"bethel/pkg/stage"
)

// TestUnconfinedCommands checks what happens where commands cannot be
// confined: a command reading a private file is refused unless the
// privacy declaration opts out with a reason; one that reads nothing
// private runs, with a note.
func TestUnconfinedCommands(t *testing.T) {
	defer func(f func() error) { sandboxAvailable = f }(sandboxAvailable)
	sandboxAvailable = func() error { return fmt.Errorf("%w: switched off for a test", sandbox.ErrUnavailable) }
	pipe := `
[[node]]
name = "badges"
run = "wc -l < inputs/regs.csv > out/private/n.txt"
inputs = ["inputs/regs.csv"]
outputs = ["out/private/n.txt"]

[[node]]
name = "rooms"
run = "wc -l < config/rooms.csv > out/rooms.txt"
inputs = ["config/rooms.csv"]
outputs = ["out/rooms.txt"]
`
	root := workspace(t, map[string]string{"pipeline.toml": pipe, "inputs/regs.csv": "a\nb\n", "config/rooms.csv": "r\n"})
	opts := Options{Version: "t", Registry: stage.NewRegistry(), KeepGoing: true}
	var stderr strings.Builder
	opts.Events = func(ev Event) { stderr.Write(ev.Stderr) }
	res, err := Build(context.Background(), load(t, root, opts.Registry), opts)
	var be *BuildError
	if !errors.As(err, &be) || len(res.Failed) != 1 || res.Failed[0] != "badges" {
		t.Fatalf("want badges failed alone, got %v (%+v)", err, res)
	}
	if msg := res.Nodes[0].Err; msg == nil || !strings.Contains(msg.Error(), "reads private inputs/regs.csv, and commands cannot be confined here") {
		t.Errorf("badges error: %v", msg)
	}
	if !strings.Contains(stderr.String(), "warning: command runs unconfined") {
		t.Errorf("rooms ran without the note: %q", stderr.String())
	}

	write(t, root, "config/privacy.toml", "unsandboxed = \"badge printing laptop has no Landlock; reviewed\"\n")
	if _, err := Build(context.Background(), load(t, root, opts.Registry), opts); err != nil {
		t.Fatalf("with unsandboxed: %v", err)
	}
	if got := read(t, root, "out/private/n.txt"); strings.TrimSpace(got) != "2" {
		t.Errorf("n.txt = %q", got)
	}
}

// TestKilledBuildTmpSwept: what a killed build left in .bethel/tmp (a
// command's scratch files, possibly as private as its inputs) is removed
// by the next build, even one with nothing to do, and a command's TMPDIR
// is there, not in the system's temporary directory.
func TestKilledBuildTmpSwept(t *testing.T) {
	pipe := `
[[node]]
name = "a"
run = "echo \"$TMPDIR\" > out/a.txt"
outputs = ["out/a.txt"]
`
	root := workspace(t, map[string]string{"pipeline.toml": pipe})
	opts := Options{Version: "t", Registry: stage.NewRegistry()}
	mustBuild(t, root, opts)
	if got := strings.TrimSpace(read(t, root, "out/a.txt")); !strings.HasPrefix(got, filepath.Join(root, ".bethel", "tmp")+"/") {
		t.Errorf("TMPDIR %q, want a directory under .bethel/tmp", got)
	}
	left := filepath.Join(root, ".bethel", "tmp", "cmd-123", "scratch.csv")
	if err := os.MkdirAll(filepath.Dir(left), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(left, []byte("private\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := mustBuild(t, root, opts); len(res.Ran) != 0 {
		t.Fatalf("ran %v, want nothing", res.Ran)
	}
	if _, err := os.Lstat(filepath.Join(root, ".bethel", "tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a killed build's .bethel/tmp is still there: %v", err)
	}
	// A bethel killed while it wrote the compiled pipeline (before any
	// lock) leaves its temporary files; the next build removes them.
	clock := filepath.Join(root, ".bethel", "compiled", "clock.bethel-tmp-123")
	os.MkdirAll(filepath.Dir(clock), 0o700)
	if err := os.WriteFile(clock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	mustBuild(t, root, opts)
	if _, err := os.Lstat(clock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the compiled pipeline's temporary file is still there: %v", err)
	}
}

// TestCommandTmpIsPrivate checks the temporary directories commands are
// lent: each command starts with an empty one, whatever the commands
// before it left in theirs (files, a changed mode), and none is left
// behind when the build ends.
func TestCommandTmpIsPrivate(t *testing.T) {
	tmpRoot := t.TempDir()
	t.Setenv("TMPDIR", tmpRoot)
	// One job: the nodes run one after another, each after the one it
	// reads, so that every one could be lent its predecessor's directory.
	pipe := `
[[node]]
name = "a"
run = "ls -A \"$TMPDIR\" > out/a.txt; echo secret > \"$TMPDIR/left\""
outputs = ["out/a.txt"]

[[node]]
name = "b"
run = "ls -A \"$TMPDIR\" > out/b.txt; cat out/a.txt >> out/b.txt; chmod 755 \"$TMPDIR\""
inputs = ["out/a.txt"]
outputs = ["out/b.txt"]

[[node]]
name = "c"
run = "ls -A \"$TMPDIR\" > out/c.txt; cat out/b.txt >> out/c.txt; stat -c %a \"$TMPDIR\" >> out/c.txt"
inputs = ["out/b.txt"]
outputs = ["out/c.txt"]

[[node]]
name = "d"
run = "stat -c %a \"$TMPDIR\" > out/d.txt; cat out/c.txt >> out/d.txt"
inputs = ["out/c.txt"]
outputs = ["out/d.txt"]
`
	root := workspace(t, map[string]string{"pipeline.toml": pipe})
	opts := Options{Version: "t", Registry: stage.NewRegistry(), Jobs: 1}
	if _, err := Build(context.Background(), load(t, root, opts.Registry), opts); err != nil {
		t.Fatal(err)
	}
	// Every listing is empty; the mode is always the private one.
	if got, want := read(t, root, "out/d.txt"), "700\n700\n"; got != want {
		t.Errorf("what the commands saw of their temporary directories: %q, want %q", got, want)
	}
	if ents, err := os.ReadDir(tmpRoot); err != nil || len(ents) != 0 {
		t.Errorf("written to the system's TMPDIR: %v %v", ents, err)
	}
	if _, err := os.Lstat(filepath.Join(root, ".bethel", "tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(".bethel/tmp is left behind: %v", err)
	}
}
