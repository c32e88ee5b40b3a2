package pipeline

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bethel/pkg/pos"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testStages are the built-in stage names the error cases are checked
// against (the registry's real list changes as stages land).
var testStages = []string{"program.enrich", "registrations.normalize", "summary.attendance"}

// workspace copies the sample workspace into a temporary directory and
// writes pipeline as its pipeline.toml.
func workspace(t testing.TB, pipeline []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/ws")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pipeline.toml"), pipeline, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkErrShape fails unless err is a *pos.Error or a pos.List of them,
// every one positioned in file.
func checkErrShape(t testing.TB, err error, file string) {
	t.Helper()
	var list pos.List
	switch e := err.(type) {
	case *pos.Error:
		list = pos.List{e}
	case pos.List:
		list = e
	default:
		t.Fatalf("error is %T, want *pos.Error or pos.List: %v", err, err)
	}
	if len(list) == 0 {
		t.Fatalf("empty pos.List returned as an error")
	}
	for _, e := range list {
		pe, ok := e.(*pos.Error)
		if !ok {
			t.Fatalf("list element is %T, want *pos.Error: %v", e, e)
		}
		if pe.Pos.File != file {
			t.Fatalf("error names file %q, want %q: %v", pe.Pos.File, file, pe)
		}
	}
}

// TestErrors loads every testdata/errors/*.toml as the pipeline of a copy
// of the sample workspace and compares the error with the .golden file.
func TestErrors(t *testing.T) {
	cases, err := filepath.Glob("testdata/errors/*.toml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, c := range cases {
		name := strings.TrimSuffix(filepath.Base(c), ".toml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(c)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Load(workspace(t, src), "pipeline.toml", testStages)
			if err == nil {
				t.Fatalf("Load succeeded with %d nodes, want an error", len(p.Nodes))
			}
			checkErrShape(t, err, "pipeline.toml")
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(c, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("error mismatch\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

func TestMissingPipelineFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir, "pipeline.toml", nil)
	if err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	checkErrShape(t, err, "pipeline.toml")
	if got, want := err.Error(), "pipeline.toml: pipeline file not found"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
