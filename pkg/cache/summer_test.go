package cache

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/zeebo/blake3"

	"bethel/pkg/stage"
)

// TestFileIsASummer: the engine hands stages a *File for each output, and
// a stage that keys in-process data by the output's hash (the
// registrations stage's handover) reads it through stage.Summer; if File
// stopped being one, the handover would silently never happen.
func TestFileIsASummer(t *testing.T) {
	f, err := Create(filepath.Join(t.TempDir(), "out.csv"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	var w io.Writer = f
	s, ok := w.(stage.Summer)
	if !ok {
		t.Fatal("*cache.File is not a stage.Summer")
	}
	data := []byte("registration_id\nR-1\n")
	io.WriteString(w, string(data[:5]))
	io.WriteString(w, string(data[5:]))
	if got, want := s.Sum256(), blake3.Sum256(data); got != want {
		t.Fatalf("Sum256 %x, want %x", got, want)
	}
}
