package cache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoadActions reads an action log of 4,000 manifests of the
// sample pipeline's size (about 300 one-patch rebuilds without a gc).
func BenchmarkLoadActions(b *testing.B) {
	dir := b.TempDir()
	s, _ := Open(dir)
	m := &Manifest{Desc: strings.Repeat("input out/private/registrations.csv 0123456789abcdef\n", 18)}
	for i := 0; i < 4; i++ {
		m.Outputs = append(m.Outputs, Output{Path: "out/summary/file.csv", Size: 12345, Hash: Sum([]byte{byte(i)})})
		m.Extra = append(m.Extra, Extra{Name: "lineage out/summary/file.csv", Hash: Sum([]byte{byte(i), 1}), Size: 999})
	}
	for i := 0; i < 4000; i++ {
		if err := s.PutManifest(Sum([]byte{byte(i), byte(i >> 8), 7}), m); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	fi, _ := os.Stat(filepath.Join(dir, "actions"))
	b.SetBytes(fi.Size())
	for b.Loop() {
		s2, _ := Open(dir)
		if _, err := s2.GetManifest(Sum([]byte{1, 0, 7})); err != nil {
			b.Fatal(err)
		}
	}
}
