package graph

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"bethel/pkg/graphfile"
	"bethel/pkg/lineage"
	"bethel/pkg/sandbox"
)

// dumpNode is a command node that copies the engine artifacts it declares
// out of $BETHEL_ARTIFACTS.
const dumpNode = `
[[node]]
name = "dump"
run = 'cp "$BETHEL_ARTIFACTS/graph" out/graph.json && cp "$BETHEL_ARTIFACTS/lineage/out/count.csv" out/count.lineage && ls "$BETHEL_ARTIFACTS/lineage/out" > out/lineage.txt'
inputs = ["graph:", "lineage:out/count.csv"]
outputs = ["out/graph.json", "out/count.lineage", "out/lineage.txt"]
`

// TestCommandEngineArtifacts: a command node reads the graph and lineage
// as files under $BETHEL_ARTIFACTS, the same bytes a stage would open
// (lineage:PATH bringing the lineage upstream of PATH), and the directory
// is gone once the build ends.
func TestCommandEngineArtifacts(t *testing.T) {
	tmpRoot := t.TempDir()
	t.Setenv("TMPDIR", tmpRoot)
	root := workspace(t, map[string]string{
		"pipeline.toml": introPipeline + dumpNode,
		"src/in.csv":    "key,grp\nK1,a\nK2,a\nK3,b\n",
		"src/cfg.txt":   "v1\n",
		"src/p/1.toml":  introPatch,
	})
	opts := Options{Version: "t", Registry: introRegistry(t)}
	res := mustBuild(t, root, opts)
	if !slices.Contains(res.Ran, "dump") {
		t.Fatalf("dump did not run: %+v", res)
	}
	nodes, err := graphfile.Decode([]byte(read(t, root, "out/graph.json")))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	if !slices.Equal(names, []string{"rows", "count", "site", "dump"}) {
		t.Errorf("graph names %v", names)
	}
	tab, err := lineage.Open([]byte(read(t, root, "out/count.lineage")))
	if err != nil || tab.NumCells() != 2 {
		t.Fatalf("count's lineage as the command read it: %v", err)
	}
	if got := read(t, root, "out/lineage.txt"); got != "count.csv\nrows.csv\n" {
		t.Errorf("lineage the command got: %q, want count's and rows' (upstream)", got)
	}
	if ents, err := os.ReadDir(tmpRoot); err != nil || len(ents) != 0 {
		t.Errorf("written to the system's TMPDIR: %v %v", ents, err)
	}
	if _, err := os.Lstat(filepath.Join(root, ".bethel", "tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(".bethel/tmp is left behind: %v", err)
	}

	// The artifacts key the node: up to date while they hold the same
	// bytes, rerun when the graph changes.
	if res := mustBuild(t, root, opts); slices.Contains(res.Ran, "dump") {
		t.Errorf("dump reran with nothing changed")
	}
	write(t, root, "pipeline.toml", introPipeline+dumpNode+`
[[node]]
name = "more"
run = "echo > out/more.txt"
outputs = ["out/more.txt"]
`)
	if res := mustBuild(t, root, opts); !slices.Contains(res.Ran, "dump") {
		t.Errorf("dump did not rerun after the graph changed: %+v", res)
	}
}

// TestCommandPrivateLineageUnconfined: the lineage of a private output is
// a private read, so where commands cannot be confined a command reading
// it is refused like one reading the private file.
func TestCommandPrivateLineageUnconfined(t *testing.T) {
	defer func(f func() error) { sandboxAvailable = f }(sandboxAvailable)
	sandboxAvailable = func() error { return fmt.Errorf("%w: switched off for a test", sandbox.ErrUnavailable) }
	root := workspace(t, map[string]string{
		"pipeline.toml":       introPipeline + dumpNode,
		"src/in.csv":          "key,grp\nK1,a\nK2,a\nK3,b\n",
		"src/cfg.txt":         "v1\n",
		"src/p/1.toml":        introPatch,
		"config/privacy.toml": "[sources]\nprivate = [\"src/in.csv\"]\n",
	})
	opts := Options{Version: "t", Registry: introRegistry(t), KeepGoing: true}
	res, err := Build(context.Background(), load(t, root, opts.Registry), opts)
	var be *BuildError
	if !errors.As(err, &be) || !slices.Equal(res.Failed, []string{"dump"}) {
		t.Fatalf("want dump failed alone, got %v (%+v)", err, res)
	}
	for _, n := range res.Nodes {
		if n.Name == "dump" && (n.Err == nil || !strings.Contains(n.Err.Error(), "reads private lineage:out/count.csv, and commands cannot be confined here")) {
			t.Errorf("dump error: %v", n.Err)
		}
	}
}
