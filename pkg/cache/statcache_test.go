package cache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStatCache(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	os.WriteFile(p, []byte("one"), 0o644)
	// An old modification time: the entry is not racy.
	old := time.Now().Add(-time.Hour).Truncate(time.Second).Add(123456789)
	os.Chtimes(p, old, old)
	cpath := filepath.Join(dir, "stat")
	c := LoadStatCache(cpath)
	h, n, err := c.Hash("a.txt", p)
	if err != nil || h != Sum([]byte("one")) || n != 3 {
		t.Fatalf("Hash = %v %d %v", h, n, err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	c = LoadStatCache(cpath)
	if c.Len() != 1 {
		t.Fatalf("reloaded %d entries", c.Len())
	}
	// Unchanged stat data: the remembered hash is used. Prove it by
	// poisoning the entry; a rehash would not return the poison.
	poison := Sum([]byte("poison"))
	e := c.m["a.txt"]
	e.hash = poison
	c.m["a.txt"] = e
	if h, _, _ := c.Hash("a.txt", p); h != poison {
		t.Fatal("unchanged file was rehashed")
	}
	// touch: new times, same content: rehashed, same hash.
	later := old.Add(time.Minute)
	os.Chtimes(p, later, later)
	if h, _, _ := c.Hash("a.txt", p); h != Sum([]byte("one")) {
		t.Fatal("touched file not rehashed")
	}
	// Same size, mtime forced back: the change time still differs.
	os.WriteFile(p, []byte("two"), 0o644)
	os.Chtimes(p, later, later)
	if h, _, _ := c.Hash("a.txt", p); h != Sum([]byte("two")) {
		t.Fatal("content change with restored mtime not noticed")
	}
	// A file modified just now is racy: never trusted from the cache.
	q := filepath.Join(dir, "b.txt")
	os.WriteFile(q, []byte("fresh"), 0o644)
	c.Hash("b.txt", q)
	e = c.m["b.txt"]
	e.hash = poison
	c.m["b.txt"] = e
	if h, _, _ := c.Hash("b.txt", q); h == poison {
		t.Fatal("racy entry trusted")
	}
	c.Prune(func(k string) bool { return k == "b.txt" })
	if c.Len() != 1 {
		t.Fatal("Prune")
	}
	if _, _, err := c.Hash("missing", filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
	// Entries recorded in another boot are not trusted.
	if BootID() != "" {
		c.Save()
		b, _ := os.ReadFile(cpath)
		other := strings.Replace(string(b), BootID(), "00000000-0000-0000-0000-000000000000", 1)
		os.WriteFile(cpath, []byte(other), 0o600)
		if c := LoadStatCache(cpath); c.Len() != 0 {
			t.Fatal("stat cache of another boot trusted")
		}
	}
	// A damaged file is an empty cache, not an error.
	os.WriteFile(cpath, []byte(statHeader()+"1 2 x\n"), 0o600)
	if c := LoadStatCache(cpath); c.Len() != 0 {
		t.Fatal("damaged line loaded")
	}
}

// TestBackdatedFile checks what File.Backdate is for: the stat data
// recorded right after Commit is trusted (not racy), and a write to the
// file straight after, within the same clock tick and of the same size,
// is still seen, because it stamps a modification time that differs from
// the backdated one. Without Backdate the entry is racy.
func TestBackdatedFile(t *testing.T) {
	dir := t.TempDir()
	c := LoadStatCache(filepath.Join(dir, "stat"))
	for _, backdate := range []bool{true, false} {
		p := filepath.Join(dir, "out.csv")
		f, err := Create(p, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.NoSync, f.Backdate = true, backdate
		f.Write([]byte("one\n"))
		h, _ := f.Sum()
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		st := c.Record("out.csv", p, h)
		if st.Err() != nil {
			t.Fatal(st.Err())
		}
		if got := racy(c.m["out.csv"]); got == backdate {
			if st.e.mtime%int64(time.Second) == 0 {
				t.Skip("file system with whole-second times: backdating gains nothing")
			}
			t.Fatalf("backdate %v: entry racy %v", backdate, got)
		}
		if !backdate {
			break
		}
		// Trusted without reading: the poisoned hash comes back.
		poison := Sum([]byte("poison"))
		e := c.m["out.csv"]
		e.hash = poison
		c.m["out.csv"] = e
		if got, _, _ := c.Hash("out.csv", p); got != poison {
			t.Fatal("backdated, recorded file was read again")
		}
		// An edit in place at once: same size, new content.
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteAt([]byte("two\n"), 0)
		w.Close()
		if got, _, _ := c.Hash("out.csv", p); got != Sum([]byte("two\n")) {
			t.Fatal("an edit right after a backdated commit was not seen")
		}
	}
}

// TestRecordWritten checks that the stat data of a backdated file is
// recorded only while the file is what its writer committed: a write in
// between, even one whose time is long enough ago for Record to trust it,
// leaves no entry (Record would pair the new stat data with the old hash).
func TestRecordWritten(t *testing.T) {
	dir := t.TempDir()
	c := LoadStatCache(filepath.Join(dir, "stat"))
	commit := func(p, content string) (Hash, int64) {
		f, err := Create(p, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.NoSync, f.Backdate = true, true
		f.Write([]byte(content))
		h, _ := f.Sum()
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		if f.Stamp() == 0 {
			t.Fatal("no stamp after a backdated commit")
		}
		return h, f.Stamp()
	}
	p := filepath.Join(dir, "a.csv")
	h, stamp := commit(p, "one\n")
	if st := c.RecordWritten("a.csv", p, h, stamp); st.Err() != nil {
		t.Fatal(st.Err())
	}
	if _, ok := c.m["a.csv"]; !ok {
		t.Fatal("unchanged file not recorded")
	}

	h, stamp = commit(p, "two\n")
	// Saved by someone before the writer records it; its time is set well
	// back, as if a tenth of a second had passed since.
	os.WriteFile(p, []byte("six\n"), 0o644)
	old := time.Now().Add(-time.Second)
	os.Chtimes(p, old, old)
	if st := c.RecordWritten("a.csv", p, h, stamp); st.Err() == nil {
		t.Fatal("a file changed since its commit was recorded")
	}
	if _, ok := c.m["a.csv"]; ok {
		t.Fatal("the previous entry of a changed file was kept")
	}
	if got, _, _ := c.Hash("a.csv", p); got != Sum([]byte("six\n")) {
		t.Fatalf("hash after a refused record: %v", got)
	}
	// What Record does with it: the old hash, trusted.
	c.Record("a.csv", p, h)
	if got, _, _ := c.Hash("a.csv", p); got != h {
		t.Fatal("Record no longer pairs the stat data with the given hash; this test's premise is gone")
	}
	// Stamp 0 (not backdated) is Record.
	if st := c.RecordWritten("b.csv", p, h, 0); st.Err() != nil {
		t.Fatal(st.Err())
	}
}

// TestHashPathSized checks hashPath against HashFile for sizes around its
// buffer's, with the size stat gave right, too small (the file grew since)
// and too large (it shrank): it always hashes the whole file.
func TestHashPathSized(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 100, 32<<10 - 1, 32 << 10, 32<<10 + 1, 100 << 10} {
		p := filepath.Join(dir, "f")
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		want, _, err := HashFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int64{int64(n), int64(n) / 2, int64(n) + 10} {
			h, got, err := hashPath(p, size)
			if err != nil || h != want || got != int64(n) {
				t.Errorf("%d bytes, stat said %d: hashPath = %s, %d, %v; want %s, %d", n, size, h.Short(), got, err, want.Short(), n)
			}
		}
	}
	if _, _, err := hashPath(filepath.Join(dir, "missing"), 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
