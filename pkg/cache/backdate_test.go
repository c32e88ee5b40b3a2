package cache

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestBackdate checks that Backdate puts a file's modification time past
// the racy window, so that the stat cache trusts what it records at once,
// and that it never touches a symlink's target.
func TestBackdate(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "out.txt")
	target := filepath.Join(dir, "target.txt")
	link := filepath.Join(dir, "link.txt")
	for _, p := range []string{f, target} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(target)
	start := time.Now()
	if err := Backdate(f); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	if age := start.Sub(fi.ModTime()); age < RacyWindow {
		t.Errorf("backdated by %v, want at least %v", age, RacyWindow)
	}
	c := LoadStatCache(filepath.Join(dir, "stat"))
	c.Record("out.txt", f, Sum([]byte("x")))
	if e := c.m["out.txt"]; racy(e) {
		t.Errorf("entry of a backdated file is racy: %+v", e)
	}
	Backdate(link) // the link itself, or an error: never the target
	if after, _ := os.Stat(target); !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the symlink's target was backdated: %v, was %v", after.ModTime(), before.ModTime())
	}
}
