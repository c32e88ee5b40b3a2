package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bethel/pkg/cache"
)

func rec(path, content, status string) *Record {
	return &Record{Path: path, Hash: cache.Sum([]byte(content)), Node: "n", Command: "cat > " + path,
		Visibility: "internal", Status: status, Inputs: []FileHash{}, Config: []FileHash{}, Patches: []FileHash{}}
}

// TestStore puts records, reopens the store as a reader would, and asks
// for them: the last record of a pair wins, another content of the same
// path is another pair, and what was never put is ErrNoRecord.
func TestStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "provenance")
	w := OpenStore(dir)
	if err := w.Put(rec("out/a.csv", "1", "ran"), rec("out/b.csv", "2", "ran")); err != nil {
		t.Fatal(err)
	}
	if err := w.Put(rec("out/a.csv", "1", "restored")); err != nil {
		t.Fatal(err)
	}
	if err := w.Put(rec("out/a.csv", "3", "ran"), rec(`out/odd "<name>".csv`, "4", "ran")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := OpenStore(dir)
	for _, tc := range []struct {
		path, content, status string
	}{
		{"out/a.csv", "1", "restored"},
		{"out/b.csv", "2", "ran"},
		{"out/a.csv", "3", "ran"},
		{`out/odd "<name>".csv`, "4", "ran"},
		{"out/b.csv", "1", ""},
		{"out/c.csv", "2", ""},
	} {
		h := cache.Sum([]byte(tc.content))
		got, err := r.Get(tc.path, h)
		has := r.Has(tc.path, h)
		if tc.status == "" {
			if !errors.Is(err, ErrNoRecord) || has {
				t.Errorf("%s %s: Get = %v, %v; Has = %v; want no record", tc.path, tc.content, got, err, has)
			}
			continue
		}
		if err != nil || !has {
			t.Fatalf("%s %s: Get: %v; Has = %v", tc.path, tc.content, err, has)
		}
		if got.Status != tc.status || got.Path != tc.path || got.Hash != h {
			t.Errorf("%s %s: got %s %s %s, want status %s", tc.path, tc.content, got.Path, got.Hash.Short(), got.Status, tc.status)
		}
	}
	// A store that reads and later appends sees its own appends.
	if err := r.Put(rec("out/d.csv", "5", "ran")); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get("out/d.csv", cache.Sum([]byte("5"))); err != nil || got.Status != "ran" {
		t.Errorf("own append: %v, %v", got, err)
	}
	r.Close()
}

// TestStoreTorn is a log whose last append a crash cut short, or that
// holds a damaged line: those read as no record, everything else stays
// readable, and the next append starts on a line of its own.
func TestStoreTorn(t *testing.T) {
	for _, tc := range []struct {
		name string
		mess func(b []byte) []byte
		lost string // the path whose record is gone
	}{
		{"last line cut", func(b []byte) []byte { return b[:len(b)-40] }, "out/b.csv"},
		{"last newline missing", func(b []byte) []byte { return b[:len(b)-1] }, "out/b.csv"},
		{"line damaged", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"status":"ran"`), []byte(`"status":"ran"}}`), 1)
		}, "out/a.csv"},
		{"zeros after a power cut", func(b []byte) []byte { return append(b, make([]byte, 100)...) }, ""},
		{"header gone", func(b []byte) []byte { return b[5:] }, "all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := OpenStore(dir)
			if err := w.Put(rec("out/a.csv", "1", "ran")); err != nil {
				t.Fatal(err)
			}
			if err := w.Put(rec("out/b.csv", "2", "ran")); err != nil {
				t.Fatal(err)
			}
			w.Close()
			p := filepath.Join(dir, logName)
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, tc.mess(b), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"out/a.csv", "out/b.csv"} {
				h := cache.Sum([]byte(map[string]string{"out/a.csv": "1", "out/b.csv": "2"}[path]))
				lost := tc.lost == path || tc.lost == "all"
				_, err := OpenStore(dir).Get(path, h)
				if lost != errors.Is(err, ErrNoRecord) || !lost && err != nil {
					t.Errorf("%s: Get: %v, want lost %v", path, err, lost)
				}
			}
			a := OpenStore(dir)
			if err := a.Put(rec("out/c.csv", "3", "ran")); err != nil {
				t.Fatal(err)
			}
			a.Close()
			if _, err := OpenStore(dir).Get("out/c.csv", cache.Sum([]byte("3"))); err != nil {
				t.Errorf("append after the damage: %v", err)
			}
		})
	}
}

// TestStoreCompact grows the log past its limit with records of the same
// few pairs: Close rewrites it with one line per pair, the last.
func TestStoreCompact(t *testing.T) {
	dir := t.TempDir()
	s := OpenStore(dir)
	big := strings.Repeat("x", 4096)
	for i := 0; s.size <= 2*s.compacted+compactSlack || i < 3; i++ {
		r := rec("out/a.csv", "1", "ran")
		r.Command = big
		r2 := rec("out/b.csv", "2", "ran")
		r2.Built = string(rune('a' + i%26))
		if err := s.Put(r, r2); err != nil {
			t.Fatal(err)
		}
	}
	last := rec("out/b.csv", "2", "restored")
	if err := s.Put(last); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	size, ok := parseHeader(b)
	if !ok || size != int64(len(b)) {
		t.Fatalf("header says %d (ok %v), file has %d bytes", size, ok, len(b))
	}
	if n := bytes.Count(b, []byte("\n")); n != 3 {
		t.Errorf("compacted log has %d lines, want the header and 2 records:\n%.300s", n, b)
	}
	if got, err := OpenStore(dir).Get("out/b.csv", cache.Sum([]byte("2"))); err != nil || got.Status != "restored" {
		t.Errorf("after compaction: %v, %v", got, err)
	}
}

// TestStoreOldRecords reads a record an earlier version wrote as a file of
// its own: where the log has none, it still answers.
func TestStoreOldRecords(t *testing.T) {
	dir := t.TempDir()
	s := OpenStore(dir)
	r := rec("out/old.csv", "1", "ran")
	b, _ := json.MarshalIndent(r, "", "  ")
	p := s.file(r.Path, r.Hash)
	os.MkdirAll(filepath.Dir(p), 0o700)
	if err := os.WriteFile(p, append(b, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(r.Path, r.Hash); err != nil || got.Status != "ran" || !s.Has(r.Path, r.Hash) {
		t.Fatalf("old record: %v, %v", got, err)
	}
	// A newer record in the log wins.
	if err := s.Put(rec("out/old.csv", "1", "restored")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got, err := OpenStore(dir).Get(r.Path, r.Hash); err != nil || got.Status != "restored" {
		t.Errorf("log after old record: %v, %v", got, err)
	}
}

func TestHeader(t *testing.T) {
	for _, body := range []int{0, 1, 78, 79, 80, 977, 978, 979, 99_970, 1 << 30} {
		h := header(body)
		n, ok := parseHeader(h)
		if !ok || n != int64(body+len(h)) {
			t.Errorf("header(%d) = %q: parses as %d, %v", body, h, n, ok)
		}
	}
}

// FuzzStore reads arbitrary bytes as a log: nothing panics, whatever is
// found describes its own pair, and a record appended afterwards is read
// back.
func FuzzStore(f *testing.F) {
	s := OpenStore(f.TempDir())
	s.Put(rec("out/a.csv", "1", "ran"), rec("out/\"b\".csv", "2", "ran"))
	s.Close()
	seed, _ := os.ReadFile(filepath.Join(s.dir, logName))
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte(logHeader + "12\n{\"path\":\"\\u0061\",\"hash\":\"00\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, logName), b, 0o600); err != nil {
			t.Fatal(err)
		}
		s := OpenStore(dir)
		s.mu.Lock()
		s.load()
		keys := make([]string, 0, len(s.index))
		for k := range s.index {
			keys = append(keys, k)
		}
		s.mu.Unlock()
		for _, k := range keys {
			path, hs, _ := strings.Cut(k, "\x00")
			var h cache.Hash
			copy(h[:], hs)
			if r, err := s.Get(path, h); err == nil && (r.Path != path || r.Hash != h) {
				t.Errorf("Get(%q) returned the record of %q", path, r.Path)
			}
		}
		want := rec("out/new.csv", "9", "ran")
		if err := s.Put(want); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got, err := OpenStore(dir).Get(want.Path, want.Hash); err != nil || got.Status != "ran" {
			t.Errorf("appended record: %v, %v", got, err)
		}
	})
}
