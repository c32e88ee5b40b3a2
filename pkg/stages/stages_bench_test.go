package stages

import (
	"os"
	"testing"
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
