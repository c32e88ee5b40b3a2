package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bethel/pkg/cache"
)

// readReport reads a build report in either form.
func readReport(t *testing.T, path string) buildReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.HasSuffix(path, ".js") {
		var ok bool
		if s, ok = strings.CutPrefix(s, "window.bethelBuild = "); !ok {
			t.Fatalf("%s does not set window.bethelBuild:\n%s", path, b)
		}
		if s, ok = strings.CutSuffix(s, ";\n"); !ok {
			t.Fatalf("%s does not end in ;\\n", path)
		}
	}
	var r buildReport
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return r
}

func TestBuildReport(t *testing.T) {
	for _, report := range []string{"out/site/build.js", "report.json"} {
		t.Run(report, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				"pipeline.toml": `report = "` + report + `"

[[node]]
name = "up"
run = "tr a-z A-Z < src/a.txt > out/up.txt"
inputs = ["src/a.txt"]
outputs = ["out/up.txt"]

[[node]]
name = "broken"
run = "cat src/b.txt > out/b.txt"
inputs = ["src/b.txt"]
outputs = ["out/b.txt"]
`,
				"src/a.txt": "hello\n",
				"src/b.txt": "b\n",
			}
			for p, c := range files {
				os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
				if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if r := runBethel(t, dir, "make"); r.code != 0 {
				t.Fatalf("make: %d\n%s", r.code, r.stderr)
			}
			rep := readReport(t, filepath.Join(dir, report))
			if !rep.OK || rep.Built == "" || rep.Bethel != Version || len(rep.Nodes) != 2 {
				t.Fatalf("report: %+v", rep)
			}
			up := rep.Nodes[0]
			want := cache.Sum([]byte("HELLO\n")).String()
			if up.Node != "up" || up.Status != "ran" || len(up.Outputs) != 1 || up.Outputs[0].Hash != want ||
				up.Outputs[0].Record == nil || up.Outputs[0].Record.Status != "ran" || up.Outputs[0].Record.Command == "" {
				t.Fatalf("node up: %+v", up)
			}

			// A no-op leaves the report as it was: it still describes the
			// outputs exactly.
			before, _ := os.ReadFile(filepath.Join(dir, report))
			if r := runBethel(t, dir, "make"); r.code != 0 {
				t.Fatalf("make: %d\n%s", r.code, r.stderr)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, report)); string(after) != string(before) {
				t.Fatalf("a no-op rewrote the report")
			}
			// Another node running says fresh for the one that did not.
			os.WriteFile(filepath.Join(dir, "src/b.txt"), []byte("b2\n"), 0o644)
			if r := runBethel(t, dir, "make"); r.code != 0 {
				t.Fatalf("make: %d\n%s", r.code, r.stderr)
			}
			rep2 := readReport(t, filepath.Join(dir, report))
			if rep2.Nodes[0].Status != "fresh" || rep2.Nodes[1].Status != "ran" || rep2.Nodes[0].Outputs[0].Record.Built != up.Outputs[0].Record.Built {
				t.Fatalf("after one change: %+v", rep2.Nodes)
			}

			// A failure is reported with the node's error, and ok is false.
			os.Remove(filepath.Join(dir, "out/b.txt"))
			os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(strings.Replace(files["pipeline.toml"], "cat src/b.txt", "exit 3;", 1)), 0o644)
			if r := runBethel(t, dir, "make"); r.code == 0 {
				t.Fatalf("make of a failing command exited 0")
			}
			rep3 := readReport(t, filepath.Join(dir, report))
			if rep3.OK || rep3.Nodes[1].Status != "failed" || !strings.Contains(rep3.Nodes[1].Error, "broken") {
				t.Fatalf("after a failure: %+v", rep3)
			}
			// A dry run builds nothing and leaves the report alone.
			before, _ = os.ReadFile(filepath.Join(dir, report))
			runBethel(t, dir, "make", "-n")
			if after, _ := os.ReadFile(filepath.Join(dir, report)); string(after) != string(before) {
				t.Fatalf("make -n rewrote the report")
			}
			if r := runBethel(t, dir, "clean"); r.code != 0 {
				t.Fatalf("clean: %d\n%s", r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, report)); !os.IsNotExist(err) {
				t.Fatalf("clean left the report: %v", err)
			}
		})
	}
}
