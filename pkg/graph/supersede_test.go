package graph

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bethel/pkg/sandbox"
	"bethel/pkg/stage"
)

// supersedePipe is a command that announces itself with its temporary
// directory, waits there for the test's go-ahead, then reads its input:
// the test saves a new version of the input (three lines instead of two,
// so that later builds do not wait) in between, by rename, as an
// editor does. The rule set that confines the command was made for the
// old file; the new one has none.
const supersedePipe = `
[[node]]
name = "names"
run = '''
echo "$TMPDIR" > out/started.txt
if [ "$(wc -l < src/names.txt)" -eq 2 ]; then
  while [ ! -e "$TMPDIR/go" ]; do sleep 0.01; done
fi
cat src/names.txt > out/names.txt
'''
inputs = ["src/names.txt"]
outputs = ["out/names.txt", "out/started.txt"]

[[node]]
name = "count"
run = "wc -l < out/names.txt > out/count.txt"
inputs = ["out/names.txt"]
outputs = ["out/count.txt"]
`

// saveDuringRun builds once, and while the first node waits, saves a new
// version of its input by rename; it returns the build's outcome.
func saveDuringRun(t *testing.T, root string, opts Options) (*Result, error) {
	t.Helper()
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	p := load(t, root, opts.Registry)
	go func() {
		res, err := Build(context.Background(), p, opts)
		done <- outcome{res, err}
	}()
	started := filepath.Join(root, "out/started.txt")
	deadline := time.Now().Add(30 * time.Second)
	var tmp string
	for {
		if b, err := os.ReadFile(started); err == nil && strings.HasSuffix(string(b), "\n") {
			tmp = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command never started")
		}
		time.Sleep(5 * time.Millisecond) // polling, not an assertion
	}
	next := filepath.Join(root, "src/names.txt.new")
	if err := os.WriteFile(next, []byte("ann\nbea\ncid\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, filepath.Join(root, "src/names.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	o := <-done
	return o.res, o.err
}

// TestInputReplacedWhileCommandRuns: an input saved by rename while a
// command node runs. Confined, the command cannot open the new file and
// fails; unconfined, it reads the new version, which the engine did not
// hash. Either way nothing of the run is recorded and the next build runs
// it again; a failure is reported as superseded by the change, not as the
// node's fault, and its dependents do not run.
func TestInputReplacedWhileCommandRuns(t *testing.T) {
	confined := sandbox.Available() == nil
	for _, tc := range []struct {
		name       string
		unconfined bool
		fails      bool
	}{
		{name: "confined", fails: true},
		{name: "unconfined", unconfined: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.unconfined && !confined {
				t.Skip("commands cannot be confined here")
			}
			if tc.unconfined {
				defer func(f func() error) { sandboxAvailable = f }(sandboxAvailable)
				sandboxAvailable = func() error { return fmt.Errorf("%w: switched off for a test", sandbox.ErrUnavailable) }
			}
			root := workspace(t, map[string]string{"pipeline.toml": supersedePipe, "src/names.txt": "ann\nbea\n"})
			opts := Options{Version: "t", Registry: stage.NewRegistry(), Jobs: 1}
			res, err := saveDuringRun(t, root, opts)
			if tc.fails {
				var be *BuildError
				if !errors.As(err, &be) {
					t.Fatalf("build: %v, want a failed build", err)
				}
				if len(res.Superseded) != 1 || res.Superseded[0] != "names" || len(res.Failed) != 1 {
					t.Fatalf("failed %v, superseded %v: %v", res.Failed, res.Superseded, res.Nodes[0].Err)
				}
				msg := fmt.Sprint(res.Nodes[0].Err)
				if !strings.Contains(msg, "src/names.txt changed while node names ran (it failed: ") ||
					!strings.HasSuffix(msg, "); the next build runs it again") {
					t.Errorf("error: %s", msg)
				}
				if strings.Contains(msg, "ann") || strings.Contains(msg, "bea") {
					t.Errorf("error quotes the input: %s", msg)
				}
				if res.Nodes[1].Status != Skipped {
					t.Errorf("dependent: %+v", res.Nodes[1])
				}
			} else {
				if err != nil {
					t.Fatalf("build: %v", err)
				}
				if len(res.Superseded) != 0 || len(res.Nodes[0].Warnings) != 1 ||
					!strings.Contains(res.Nodes[0].Warnings[0], "src/names.txt changed while node names ran") {
					t.Fatalf("superseded %v, warnings %v", res.Superseded, res.Nodes[0].Warnings)
				}
			}
			// Nothing of the run was recorded: the next build runs it again,
			// on the new version, and the one after has nothing to do.
			res = mustBuild(t, root, opts)
			if len(res.Ran) == 0 || res.Ran[0] != "names" {
				t.Fatalf("next build ran %v", res.Ran)
			}
			if got := read(t, root, "out/count.txt"); strings.TrimSpace(got) != "3" {
				t.Errorf("count = %q", got)
			}
			if res = mustBuild(t, root, opts); len(res.UpToDate) != 2 {
				t.Fatalf("third build: %+v", res)
			}
		})
	}
}
