package graph

import (
	"context"
	"errors"
	"fmt"
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
