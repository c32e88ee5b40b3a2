package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bethel/pkg/cache"
	"bethel/pkg/graph"
	"bethel/pkg/pipeline"
)

// entry is one [[patch]] entry of a program patch file for these tests.
func entry(id, room string) string {
	return fmt.Sprintf("[[patch]]\nid = %q\ntarget = \"program\"\nmatch = { id = \"S-001\" }\nset = { room = %q }\nreason = \"r\"\n\n", id, room)
}

func TestExplainPatchChange(t *testing.T) {
	many := ""
	for i := 0; i < 12; i++ {
		many += entry(fmt.Sprintf("p%02d", i), "A")
	}
	const file = "patches/program/10.toml"
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{"changed", entry("a", "A") + entry("b", "B"), entry("a", "A") + entry("b", "C"),
			[]string{"patch b changed in " + file}},
		{"added and removed", entry("a", "A") + entry("b", "B"), entry("a", "A") + entry("c", "B"),
			[]string{"patch c added in " + file, "patch b removed in " + file}},
		{"reordered", entry("a", "A") + entry("b", "B"), entry("b", "B") + entry("a", "A"),
			[]string{"patches reordered in " + file + " (they apply in file order)"}},
		{"comment only", entry("a", "A"), "# a comment\n" + entry("a", "A"),
			[]string{"patch file " + file + " changed, no patch in it (comments or layout)"}},
		{"many", entry("p00", "A"), many,
			[]string{"patches p01, p02, p03, p04, p05, p06, p07, p08, p09, p10 and 1 more added in " + file}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			path := filepath.Join(root, filepath.FromSlash(file))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			write := func(s string) string {
				if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
				return cache.Sum([]byte(s)).String()
			}
			o := write(tt.old)
			if _, _, ok := patchEntries(root, file, "", true); !ok {
				t.Fatal("old entries not recorded")
			}
			n := write(tt.new)
			reason := fmt.Sprintf("patch %s changed: %s -> %s", file, o[:12], n[:12])
			got := explainReasons(root, []string{"param x changed", reason},
				[]graph.FileChange{{Kind: "patch", Path: file, Old: o, New: n, Reason: 1}}, false)[1:]
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestExplainPatchChangeUnknown: a reason of another kind, or one whose old
// entries were never recorded, is printed as the engine gives it.
func TestExplainPatchChangeUnknown(t *testing.T) {
	root := t.TempDir()
	h1, h2 := cache.Sum([]byte("1")).String(), cache.Sum([]byte("2")).String()
	for _, c := range []graph.FileChange{
		{Kind: "input", Path: "inputs/program.csv", Old: h1, New: h2},
		{Kind: "patch", Path: "patches/program/10.toml", Old: h1, New: h2},
		{Kind: "patch", Path: "patches/program/20.toml", New: h2},
	} {
		reason := c.Kind + " " + c.Path + " changed"
		if got := explainReasons(root, []string{reason}, []graph.FileChange{c}, false); len(got) != 1 || got[0] != reason {
			t.Errorf("%s: got %q", reason, got)
		}
	}
	if _, err := os.Stat(patchIDsDir(root)); !os.IsNotExist(err) {
		t.Errorf("explaining wrote state: %v", err)
	}
}

// TestRecordPatchEntriesPrune: a full build that failed nowhere keeps one
// entry list per patch file; any other build keeps the older lists too,
// since a node it did not build still names them.
func TestRecordPatchEntriesPrune(t *testing.T) {
	root := t.TempDir()
	const file = "patches/program/10.toml"
	path := filepath.Join(root, filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Pipeline{Root: root, Order: []*pipeline.Node{{Name: "program", PatchFiles: []string{file}}}}
	lists := func() int {
		ents, _ := os.ReadDir(patchIDsDir(root))
		return len(ents)
	}
	for i, tt := range []struct {
		room  string
		prune bool
		want  int
	}{{"A", false, 1}, {"B", false, 2}, {"C", true, 1}, {"C", true, 1}} {
		if err := os.WriteFile(path, []byte(entry("a", tt.room)), 0o644); err != nil {
			t.Fatal(err)
		}
		recordPatchEntries(p, tt.prune)
		if got := lists(); got != tt.want {
			t.Errorf("build %d (prune %v): %d lists kept, want %d", i+1, tt.prune, got, tt.want)
		}
	}
}
