package pipeline

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzLoad feeds arbitrary bytes to the loader as the pipeline file of a
// small workspace. Load must not panic; an error must be positioned in the
// pipeline file; a success must be a consistent graph.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/errors/*.toml")
	seeds = append(seeds, "testdata/ws/pipeline.toml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dir := f.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/ws")); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		// A hang would stop the fuzzer without saving the input; a panic
		// from the watchdog crashes the worker, which saves it.
		watchdog := time.AfterFunc(10*time.Second, func() { panic("Load ran for 10s") })
		defer watchdog.Stop()
		l, err := newLoader(dir, "pipeline.toml")
		if err != nil {
			t.Fatal(err)
		}
		p, err := l.load(src, testStages)
		if err != nil {
			checkErrShape(t, err, "pipeline.toml")
			return
		}
		checkGraph(t, p)
	})
}

// checkGraph checks the invariants every loaded pipeline has.
func checkGraph(t *testing.T, p *Pipeline) {
	t.Helper()
	if len(p.Order) != len(p.Nodes) {
		t.Fatalf("Order has %d nodes, Nodes %d", len(p.Order), len(p.Nodes))
	}
	rank := map[*Node]int{}
	for r, n := range p.Order {
		if _, dup := rank[n]; dup {
			t.Fatalf("node %s twice in Order", n.Name)
		}
		rank[n] = r
	}
	for i, n := range p.Nodes {
		if n.Index != i || n.Name == "" || len(n.Outputs) == 0 || (n.Stage == "") == (n.Run == "") || !n.Visibility.Valid() {
			t.Fatalf("bad node %d: %+v", i, n)
		}
		for _, d := range n.Deps {
			if rank[d] >= rank[n] {
				t.Fatalf("%s before its dependency %s", n.Name, d.Name)
			}
		}
		for _, o := range n.Outputs {
			if p.Producer[o] != n {
				t.Fatalf("Producer[%s] is not %s", o, n.Name)
			}
		}
	}
}
