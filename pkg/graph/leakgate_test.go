package graph

import (
	"archive/zip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bethel/pkg/scrub"
	"bethel/pkg/stage"
)

// TestLeakGate plants a sensitive value in an internal output (a command
// that prints a name and a phone number it was never given as data) and
// watches the build fail, naming node, output and line but not the value;
// the output is removed, and the next build fails the same way.
func TestLeakGate(t *testing.T) {
	root := leakWorkspace(t, "id,name,phone\nR-1,Mia Talcroft,(559) 555-0120\n", `
[[node]]
name = "count"
run = "wc -l < inputs/regs.csv > out/summary/count.txt"
inputs = ["inputs/regs.csv"]
outputs = ["out/summary/count.txt"]
declassify = "a line count"

[[node]]
name = "planted"
run = "printf 'bethel,note\n12,called Mia Talcroft back\n' > out/summary/notes.csv"
outputs = ["out/summary/notes.csv"]
`)
	mkset := setStage(func(b *scrub.Builder) {
		b.Add(scrub.Name, "Mia Talcroft")
		b.Add(scrub.Phone, "(559) 555-0120")
	})
	opts := Options{Version: "t", Registry: stage.NewRegistry(mkset)}
	for round := 0; round < 2; round++ {
		_, err := Build(context.Background(), load(t, root, opts.Registry), opts)
		var le *LeakError
		if !errors.As(err, &le) {
			t.Fatalf("round %d: err = %v, want a leak", round, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, `out/summary/notes.csv:2: node "planted" wrote a sensitive value of the inputs into this internal output`) {
			t.Errorf("round %d: %s", round, msg)
		}
		if strings.Contains(msg, "Talcroft") || strings.Contains(msg, "count.txt") {
			t.Errorf("round %d: the message names the value or a clean output: %s", round, msg)
		}
		if _, err := os.Stat(filepath.Join(root, "out/summary/notes.csv")); !os.IsNotExist(err) {
			t.Errorf("round %d: the leaking output is still there", round)
		}
	}
}

// TestLeakGateWorkbook: a value planted in a workbook's shared strings is
// found inside the zip.
func TestLeakGateWorkbook(t *testing.T) {
	root := leakWorkspace(t, "id,name\nR-1,Mia Talcroft\n", `
[[node]]
name = "book"
stage = "book"
outputs = ["out/summary/book.xlsx"]
`)
	mkset := setStage(func(b *scrub.Builder) { b.Add(scrub.Name, "Mia Talcroft") })
	book := &funcStage{name: "book", run: func(ctx context.Context, r *stage.Run) error {
		w, err := r.Create("out/summary/book.xlsx")
		if err != nil {
			return err
		}
		z := zip.NewWriter(w)
		f, _ := z.Create("xl/sharedStrings.xml")
		f.Write([]byte("<sst>\n<si><t>bethel</t></si>\n<si><t>Mia Talcroft</t></si>\n</sst>\n"))
		return z.Close()
	}}
	opts := Options{Version: "t", Registry: stage.NewRegistry(mkset, book)}
	_, err := Build(context.Background(), load(t, root, opts.Registry), opts)
	if err == nil || !strings.Contains(err.Error(), `out/summary/book.xlsx (xl/sharedStrings.xml):3: node "book" wrote a sensitive value`) {
		t.Fatalf("err = %v", err)
	}
}

// leakWorkspace is a workspace whose node "values" (stage "mkset", see
// setStage) writes the scrub set of inputs/regs.csv (holding regs) that
// config/privacy.toml names, followed by the given pipeline.toml nodes.
func leakWorkspace(t *testing.T, regs, nodes string) string {
	return workspace(t, map[string]string{
		"pipeline.toml": `
[[node]]
name = "values"
stage = "mkset"
inputs = ["inputs/regs.csv"]
outputs = ["out/private/regs.sensitive"]
` + nodes,
		"inputs/regs.csv":     regs,
		"config/privacy.toml": "sensitive_values = [\"out/private/regs.sensitive\"]\n",
	})
}

// setStage is the stage "mkset": it writes out/private/regs.sensitive, the
// scrub set of the values add puts in, as a registrations node would.
func setStage(add func(*scrub.Builder)) *funcStage {
	return &funcStage{name: "mkset", run: func(ctx context.Context, r *stage.Run) error {
		var b scrub.Builder
		add(&b)
		w, err := r.Create("out/private/regs.sensitive")
		if err != nil {
			return err
		}
		_, err = b.Set().WriteTo(w)
		return err
	}}
}

// TestLeakGateBeforeSets: a node that finishes before the sets are built
// waits for them and is scanned then; the leak it wrote still fails the
// build. The set's node holds back until the leaking output is on disk
// (polling, with a deadline), so that the leak is there first.
func TestLeakGateBeforeSets(t *testing.T) {
	root := leakWorkspace(t, "id,name\nR-1,Mia Talcroft\n", `
[[node]]
name = "planted"
run = "printf 'bethel,note\n12,called Mia Talcroft back\n' > out/summary/notes.csv"
outputs = ["out/summary/notes.csv"]
`)
	mkset := setStage(func(b *scrub.Builder) { b.Add(scrub.Name, "Mia Talcroft") })
	run := mkset.run
	mkset.run = func(ctx context.Context, r *stage.Run) error {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join(root, "out/summary/notes.csv")); err == nil {
				break
			}
		}
		return run(ctx, r)
	}
	opts := Options{Version: "t", Registry: stage.NewRegistry(mkset), Jobs: 2}
	_, err := Build(context.Background(), load(t, root, opts.Registry), opts)
	var le *LeakError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), `out/summary/notes.csv:2: node "planted" wrote a sensitive value`) {
		t.Fatalf("err = %v, want the leak in notes.csv", err)
	}
}

// TestLeakGateAfterFailedBuild: a build that fails before its gate leaves
// its outputs unjudged, so the next build scans every output even though
// the sets did not change since: a value that became known in the failed
// build is found in an output written before it. (The record of the sets
// the outputs were judged clean against is removed when a build starts
// and written only when its gate passes.)
func TestLeakGateAfterFailedBuild(t *testing.T) {
	root := leakWorkspace(t, "id,name\nR-1,Mia Talcroft\n", `
[[node]]
name = "notes"
run = "printf 'bethel,note\n12,called Ruby Oakfield back\n' > out/summary/notes.csv"
outputs = ["out/summary/notes.csv"]

[[node]]
name = "flaky"
run = "cat inputs/flaky.txt > out/summary/flaky.txt && grep -q fine inputs/flaky.txt"
inputs = ["inputs/flaky.txt"]
outputs = ["out/summary/flaky.txt"]
`)
	write := func(path, data string) {
		if err := os.WriteFile(filepath.Join(root, path), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("inputs/flaky.txt", "fine\n")
	known := []string{"Mia Talcroft"}
	mkset := setStage(func(b *scrub.Builder) {
		for _, v := range known {
			b.Add(scrub.Name, v)
		}
	})
	opts := Options{Version: "t", Registry: stage.NewRegistry(mkset)}
	build := func() error {
		_, err := Build(context.Background(), load(t, root, opts.Registry), opts)
		return err
	}
	if err := build(); err != nil {
		t.Fatalf("first build: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, ".bethel/state/leakgate")); err != nil {
		t.Fatalf("a build whose gate passed keeps no record: %v", err)
	}
	// Ruby Oakfield becomes known while another node fails: no gate.
	known = append(known, "Ruby Oakfield")
	write("inputs/regs.csv", "id,name\nR-1,Mia Talcroft\nR-2,Ruby Oakfield\n")
	write("inputs/flaky.txt", "bad\n")
	var be *BuildError
	if err := build(); !errors.As(err, &be) {
		t.Fatalf("second build: err = %v, want the flaky node's failure", err)
	}
	if _, err := os.Stat(filepath.Join(root, ".bethel/state/leakgate")); !os.IsNotExist(err) {
		t.Fatalf("a build that failed before its gate left a record: %v", err)
	}
	// Fixed: the sets are the failed build's, notes.csv older still.
	write("inputs/flaky.txt", "fine again\n")
	err := build()
	var le *LeakError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), `out/summary/notes.csv:2: node "notes" wrote a sensitive value`) {
		t.Fatalf("third build: err = %v, want the leak in notes.csv", err)
	}
}
