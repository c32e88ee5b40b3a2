package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestStatAll checks that StatAll, whatever the number of goroutines and
// however the paths' directories interleave, gives every path the stat
// that Stat gives it alone, in the order of the paths.
func TestStatAll(t *testing.T) {
	root := t.TempDir()
	files := []string{"top.txt", "a/1.txt", "a/2.txt", "b/1.txt", "b/c/1.txt", "a/3.txt"}
	for i, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), i+1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		paths []string
	}{
		{"none", nil},
		{"one", []string{"a/1.txt"}},
		{"grouped", []string{"a/1.txt", "a/2.txt", "a/3.txt", "b/1.txt", "b/c/1.txt"}},
		{"interleaved", []string{"a/1.txt", "b/1.txt", "a/2.txt", "top.txt", "b/c/1.txt", "a/3.txt"}},
		{"missing", []string{"a/1.txt", "a/none.txt", "nodir/x.txt", "top.txt", "b/none"}},
		{"a directory", []string{"a", "b/c", "a/1.txt"}},
	}
	for _, tt := range tests {
		for _, workers := range []int{0, 1, 2, 3, 8} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, workers), func(t *testing.T) {
				got := StatAll(root, tt.paths, workers)
				if len(got) != len(tt.paths) {
					t.Fatalf("%d results for %d paths", len(got), len(tt.paths))
				}
				for i, p := range tt.paths {
					want := Stat(filepath.Join(root, filepath.FromSlash(p)))
					if g, w := got[i].AppendTo(nil), want.AppendTo(nil); !bytes.Equal(g, w) {
						t.Errorf("%s: stat %x, alone %x", p, g, w)
					}
					if (got[i].Err() == nil) != (want.Err() == nil) {
						t.Errorf("%s: error %v, alone %v", p, got[i].Err(), want.Err())
					}
					if want.Err() != nil && !errors.Is(got[i].Err(), fs.ErrNotExist) {
						t.Errorf("%s: error %v, want one that is fs.ErrNotExist", p, got[i].Err())
					}
				}
			})
		}
	}
}

// BenchmarkStatAll stats the files of a 1000-node generated pipeline's
// shape: 20 directories of 50 outputs each, named node by node (each
// output after two inputs from the layer before), as a no-op build does.
func BenchmarkStatAll(b *testing.B) {
	root := b.TempDir()
	var paths []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	for l := 0; l < 20; l++ {
		dir := filepath.Join(root, "out", fmt.Sprint(l))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 50; i++ {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.txt", i)), []byte("x\n"), 0o644); err != nil {
				b.Fatal(err)
			}
			if l > 0 {
				add(fmt.Sprintf("out/%d/%d.txt", l-1, (i*7)%50))
				add(fmt.Sprintf("out/%d/%d.txt", l-1, (i*13+1)%50))
			}
			add(fmt.Sprintf("out/%d/%d.txt", l, i))
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		StatAll(root, paths, 4)
	}
}
