package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// updateGolden rewrites golden files under testdata/ (go test -update).
var updateGolden = flag.Bool("update", false, "rewrite golden files under testdata/")

// graphWorkspace lays out testdata/graph as a workspace.
func graphWorkspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"pipeline.toml":            "testdata/graph/pipeline.toml",
		"inputs/registrations.csv": "testdata/graph/registrations.csv",
		"inputs/program.csv":       "testdata/graph/program.csv",
		"patches/001.toml":         "testdata/graph/001.toml",
	}
	for dst, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		full := filepath.Join(dir, dst)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestGraphFormats runs the real binary for each format and compares the
// output with testdata/graph/<format>.golden.
func TestGraphFormats(t *testing.T) {
	dir := graphWorkspace(t)
	for _, format := range []string{"dot", "mermaid", "json"} {
		t.Run(format, func(t *testing.T) {
			r := runBethel(t, dir, "graph", "--format", format)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			// Byte for byte the same on a second run.
			if again := runBethel(t, dir, "graph", "--format", format); again.stdout != r.stdout {
				t.Fatalf("output differs between runs")
			}
			golden := filepath.Join("testdata", "graph", format+".golden")
			if *updateGolden {
				if err := os.WriteFile(golden, []byte(r.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if r.stdout != string(want) {
				t.Errorf("output mismatch\n--- got\n%s--- want\n%s", r.stdout, want)
			}
		})
	}
	// -C from elsewhere gives the same result.
	r := runBethel(t, t.TempDir(), "graph", "-C", dir, "--format", "json")
	if want, _ := os.ReadFile(filepath.Join("testdata", "graph", "json.golden")); r.stdout != string(want) && !*updateGolden {
		t.Errorf("graph -C DIR differs from running in DIR:\n%s", r.stdout)
	}
}

func TestGraphErrors(t *testing.T) {
	dir := graphWorkspace(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad format", []string{"graph", "--format", "svg"}, 2, `unknown format "svg"`},
		{"extra argument", []string{"graph", "report"}, 2, `unexpected argument "report"`},
		{"missing file", []string{"graph", "-f", "other.toml"}, 2, "other.toml: pipeline file not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runBethel(t, dir, c.args...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, c.code, c.want)
			}
		})
	}
	// A pipeline error is exit 2 with file:line.
	if err := os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte("[[node]]\nname = \"x\"\nrun = \"true\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runBethel(t, dir, "graph")
	if r.code != 2 || !strings.Contains(r.stderr, `pipeline.toml:1:1: node "x": missing outputs`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
