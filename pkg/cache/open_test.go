package cache

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenPlain(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       string // content, or "dir" for a directory listing "f"
		notExist   bool
	}{
		{"file", file, "bytes", false},
		{"directory", dir, "dir", false},
		{"missing", filepath.Join(dir, "missing"), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := OpenPlain(tc.path)
			if tc.notExist {
				var pe *fs.PathError
				if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != tc.path {
					t.Fatalf("err = %v, want a *fs.PathError for %s matching fs.ErrNotExist", err, tc.path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if tc.want == "dir" {
				names, err := f.Readdirnames(-1)
				if err != nil || len(names) != 1 || names[0] != "f" {
					t.Fatalf("Readdirnames = %v, %v", names, err)
				}
				return
			}
			b, err := io.ReadAll(f)
			if err != nil || string(b) != tc.want {
				t.Fatalf("read %q, %v; want %q", b, err, tc.want)
			}
		})
	}
}

func TestCreateTemp(t *testing.T) {
	dir := t.TempDir()
	seen := map[string]bool{}
	for range 20 {
		f, err := createTemp(dir, ".x"+tempMarker)
		if err != nil {
			t.Fatal(err)
		}
		name := f.Name()
		f.Close()
		if seen[name] || filepath.Dir(name) != dir || !strings.HasPrefix(filepath.Base(name), ".x"+tempMarker) || !IsTemp(filepath.Base(name)) {
			t.Fatalf("name %s: repeated or not under %s with the prefix", name, dir)
		}
		seen[name] = true
		st, err := os.Stat(name)
		if err != nil || st.Mode().Perm()&^0o600 != 0 {
			t.Fatalf("stat %s: %v, %v; want mode within 0600", name, st, err)
		}
	}
	if _, err := createTemp(filepath.Join(dir, "missing"), "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("createTemp in a missing directory: %v, want fs.ErrNotExist", err)
	}
}
