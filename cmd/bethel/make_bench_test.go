package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"bethel/pkg/graph/graphtest"
)

// BenchmarkMakeNoop is `bethel make` in process on an up-to-date generated
// pipeline: load (through the compiled cache) plus the engine's no-op,
// without process start-up. scripts/bench-engine.sh times the real binary.
func BenchmarkMakeNoop(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			if err := graphtest.Sized(n).Write(dir); err != nil {
				b.Fatal(err)
			}
			env := &Env{Stdout: io.Discard, Stderr: io.Discard, Dir: dir}
			if err := Run(context.Background(), env, []string{"make", "-j", "2"}); err != nil {
				b.Fatal(err)
			}
			old := time.Now().Add(-time.Hour)
			filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					os.Chtimes(p, old, old)
				}
				return nil
			})
			Run(context.Background(), env, []string{"make"})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := Run(context.Background(), env, []string{"make"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
