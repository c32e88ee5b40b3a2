package stages

import (
	"context"
	"io"
	"os"
	"testing"

	"bethel/pkg/lineage"
	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

// BenchmarkSampleBuild builds a workspace in process (every stage, no
// engine): BETHEL_BENCH_DIR names a generated workspace (see
// scripts/bench-stages.sh); without it the repository's sample is used.
func BenchmarkSampleBuild(b *testing.B) {
	dir := os.Getenv("BETHEL_BENCH_DIR")
	if dir == "" {
		dir = repoRoot(b)
	}
	for i := 0; i < b.N; i++ {
		if _, err := tryBuildWorkspace(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNode runs one node of BETHEL_BENCH_DIR's pipeline (named by
// BETHEL_BENCH_NODE) over the files on disk, outputs discarded: for
// profiling one stage at a million rows.
func BenchmarkNode(b *testing.B) {
	dir, name := os.Getenv("BETHEL_BENCH_DIR"), os.Getenv("BETHEL_BENCH_NODE")
	if dir == "" || name == "" {
		b.Skip("set BETHEL_BENCH_DIR and BETHEL_BENCH_NODE")
	}
	p, err := pipeline.Load(dir, "pipeline.toml", Registry().Names())
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range p.Nodes {
		if n.Name != name {
			continue
		}
		st, _ := Registry().Lookup(n.Stage)
		for i := 0; i < b.N; i++ {
			r := engineDecl(&stage.Run{Node: n.Name, Inputs: n.InputFiles, Patches: n.PatchFiles, Outputs: n.Outputs,
				Visibility: n.Visibility, Params: n.Params, FS: os.DirFS(dir),
				Create:  func(string) (io.Writer, error) { return io.Discard, nil },
				Lineage: func(string) *lineage.Recorder { return nil },
				Warnf:   func(string, ...any) {}})
			if err := st.Run(context.Background(), r); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.Fatalf("no node %q", name)
}
