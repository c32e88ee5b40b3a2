package pipeline

import (
	"fmt"
	"testing"
)

// benchSizes are the generated pipeline sizes of the engine benchmark.
var benchSizes = []int{100, 1000, 5000}

func BenchmarkLoad(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			writeTree(b, dir, map[string]string{"src.txt": "x\n", "pipeline.toml": genPipeline(n, 10)})
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Load(dir, "pipeline.toml", nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoadCached is the no-op path: the compiled pipeline is valid.
func BenchmarkLoadCached(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			writeTree(b, dir, map[string]string{"src.txt": "x\n", "pipeline.toml": genPipeline(n, 10)})
			if _, err := LoadCached(dir, "pipeline.toml", nil, ".bethel/pipeline"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, hit, err := loadCached(dir, "pipeline.toml", nil, ".bethel/pipeline"); err != nil || !hit {
					b.Fatal(err, hit)
				}
			}
		})
	}
}

// BenchmarkLoadDeclaration reads the sample's privacy declaration (its
// field model and privacy file), which every build does before anything
// runs.
func BenchmarkLoadDeclaration(b *testing.B) {
	p := &Pipeline{Root: "../..", Fields: DefaultFields, Privacy: DefaultPrivacy}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := LoadDeclaration(p); err != nil {
			b.Fatal(err)
		}
	}
}
