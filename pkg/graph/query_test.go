package graph

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// TestQueryRun: a stage asked a question outside a build gets what a
// build gives it, with the same guard on undeclared reads, and cannot
// write.
func TestQueryRun(t *testing.T) {
	root := workspace(t, map[string]string{
		"pipeline.toml": introPipeline,
		"src/in.csv":    "key,grp\nK1,a\n",
		"src/cfg.txt":   "v1\n",
		"src/p/1.toml":  introPatch,
	})
	reg := introRegistry(t)
	p := load(t, root, reg)
	n := p.Lookup("rows")
	run, err := QueryRun(p, n, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(run.FS, "src/in.csv"); err != nil || string(b) != "key,grp\nK1,a\n" {
		t.Fatalf("declared input: %q, %v", b, err)
	}
	if _, err := fs.ReadFile(run.FS, "src/cfg.txt"); err == nil || !strings.Contains(err.Error(), "may read only its declared inputs and patches; add src/cfg.txt") {
		t.Fatalf("undeclared input: %v", err)
	}
	if _, err := run.Create("out/rows.csv"); err == nil {
		t.Fatal("a query could create an output")
	}
	if len(run.Patches) != 1 || run.Patches[0] != "src/p/1.toml" || run.Node != "rows" {
		t.Fatalf("run: %+v", run)
	}

	// A patch file that exists only in an overlay.
	overlay := fstest.MapFS{"src/in.csv": {Data: []byte("x\n")}, "src/p/2.toml": {Data: []byte("# new\n")}}
	run, err = QueryRun(p, n, Query{FS: overlay, Patches: []string{"src/p/2.toml"}})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(run.FS, "src/p/2.toml"); err != nil || string(b) != "# new\n" {
		t.Fatalf("overlay patch: %q, %v", b, err)
	}
	if _, err := fs.ReadFile(run.FS, "src/p/1.toml"); err == nil {
		t.Fatal("a patch file replaced by Query.Patches is still readable")
	}
}

// TestQueryRunUpstream: a query may open what the nodes upstream read,
// and still nothing else.
func TestQueryRunUpstream(t *testing.T) {
	root := workspace(t, map[string]string{
		"pipeline.toml": introPipeline,
		"src/in.csv":    "key,grp\nK1,a\n",
		"src/cfg.txt":   "v1\n",
		"src/p/1.toml":  introPatch,
	})
	p := load(t, root, introRegistry(t))
	n := p.Lookup("count")
	for _, tc := range []struct {
		upstream bool
		path     string
		ok       bool
	}{
		{false, "src/cfg.txt", true},
		{false, "src/in.csv", false},
		{true, "src/in.csv", true},
		{true, "src/p/1.toml", true},
		{true, "pipeline.toml", false},
	} {
		run, err := QueryRun(p, n, Query{Upstream: tc.upstream})
		if err != nil {
			t.Fatal(err)
		}
		_, err = fs.ReadFile(run.FS, tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("upstream=%v: open %s: %v", tc.upstream, tc.path, err)
		}
	}
}
