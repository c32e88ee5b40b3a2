package graph

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"bethel/pkg/graph/graphtest"
	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

// Engine benchmarks on generated layered command-node pipelines (see
// graphtest). scripts/bench-engine.sh compares the whole binary with GNU
// make and ninja; these isolate the engine (pipeline already loaded).

var benchSizes = []int{100, 1000, 5000}

func benchWorkspace(b *testing.B, n int) (*pipeline.Pipeline, Options) {
	b.Helper()
	dir := b.TempDir()
	g := graphtest.Sized(n)
	if err := g.Write(dir); err != nil {
		b.Fatal(err)
	}
	p, err := pipeline.Load(dir, "pipeline.toml", nil)
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Version: "bench", Registry: stage.NewRegistry(), Jobs: 2}
	if _, err := Build(context.Background(), p, opts); err != nil {
		b.Fatal(err)
	}
	// Let every file age past the racy window, as between two real builds.
	old := time.Now().Add(-time.Hour)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	if _, err := Build(context.Background(), p, opts); err != nil {
		b.Fatal(err)
	}
	return p, opts
}

// BenchmarkNoop is a build in which every node is up to date (after the
// first iteration, proven by the clean fingerprint).
func BenchmarkNoop(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p, opts := benchWorkspace(b, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := Build(context.Background(), p, opts)
				if err != nil || len(res.UpToDate) != n {
					b.Fatalf("%v %d", err, len(res.UpToDate))
				}
			}
		})
	}
}

// BenchmarkCheck is bethel status: decide every node (no fingerprint
// shortcut), write nothing.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p, opts := benchWorkspace(b, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Check(p, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFullBuild is a build from scratch (no state, no cache) of
// command nodes at -j 2; compare with the same commands run one by one to
// see the engine's own cost per node (scripts/bench-engine.sh does).
func BenchmarkFullBuild(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			g := graphtest.Sized(n)
			if err := g.Write(dir); err != nil {
				b.Fatal(err)
			}
			p, err := pipeline.Load(dir, "pipeline.toml", nil)
			if err != nil {
				b.Fatal(err)
			}
			opts := Options{Version: "bench", Registry: stage.NewRegistry(), Jobs: 2}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				os.RemoveAll(filepath.Join(dir, ".bethel"))
				os.RemoveAll(filepath.Join(dir, "out"))
				b.StartTimer()
				res, err := Build(context.Background(), p, opts)
				if err != nil || len(res.Ran) != n {
					b.Fatalf("%v: ran %d", err, len(res.Ran))
				}
			}
		})
	}
}
