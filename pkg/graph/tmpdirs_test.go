package graph

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTmpDirsTidy follows directories through put, tidy and get: one a
// command left a file in is removed by tidy, one left as lent is lent
// again, and get checks a directory tidy has not seen yet itself.
func TestTmpDirsTidy(t *testing.T) {
	tr := &tmpDirs{root: filepath.Join(t.TempDir(), "tmp")}
	defer tr.close()
	a, err := tr.get()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a, "left"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr.put(a)
	tr.tidy() // removes a, makes one ahead
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Fatalf("a directory left with a file in it is still there: %v", err)
	}
	b, err := tr.get()
	if err != nil || b == a {
		t.Fatalf("get = %s, %v; want a new directory", b, err)
	}
	tr.put(b)
	tr.tidy()
	if c, _ := tr.get(); c != b {
		t.Errorf("get = %s, want %s, pristine again", c, b)
	}
	// Given back and not tidied: get checks it itself.
	if err := os.Chmod(b, 0o755); err != nil {
		t.Fatal(err)
	}
	tr.put(b)
	d, err := tr.get()
	if err != nil || d == b {
		t.Fatalf("get = %s, %v; want another than the changed %s", d, err, b)
	}
	if _, err := os.Stat(b); !os.IsNotExist(err) {
		t.Errorf("the changed directory is still there: %v", err)
	}
	if ents, err := os.ReadDir(d); err != nil || len(ents) != 0 {
		t.Errorf("lent %s holds %v (%v)", d, ents, err)
	}
}
