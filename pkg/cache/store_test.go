package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src.txt")
	os.WriteFile(src, []byte("hello\n"), 0o644)
	h, n, err := s.PutFile(src)
	if err != nil || n != 6 || h != Sum([]byte("hello\n")) {
		t.Fatalf("PutFile = %v %d %v", h, n, err)
	}
	if err := s.PutFileAs(src, h); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFileAs(src, Sum([]byte("other"))); err == nil {
		t.Fatal("PutFileAs accepted a file whose content is not the expected hash")
	}
	key := Sum([]byte("key"))
	m := &Manifest{Outputs: []Output{{Path: "out/a.txt", Size: n, Hash: h, Mode: 0o600}}, Extra: []Extra{{Name: "lineage out/a.txt", Hash: h, Size: n}}, Desc: "bethel x\n"}
	if err := s.PutManifest(key, m); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetManifest(key)
	if err != nil || got.Outputs[0] != m.Outputs[0] || got.Extra[0] != m.Extra[0] || got.Desc != m.Desc {
		t.Fatalf("GetManifest = %+v, %v", got, err)
	}
	dst := filepath.Join(dir, "out", "a.txt")
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := s.Restore(h, dst, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "hello\n" {
		t.Fatalf("restored %q", b)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored mode %v", fi.Mode())
	}
	if _, err := s.GetManifest(Sum([]byte("nope"))); !IsMiss(err) {
		t.Fatalf("unknown key: %v", err)
	}
	for _, d := range []string{"cache", "cache/blobs", "cache/blobs/" + h.String()[:2]} {
		if fi, _ := os.Stat(filepath.Join(dir, d)); fi.Mode().Perm() != 0o700 {
			t.Errorf("%s mode %v, want 0700", d, fi.Mode().Perm())
		}
	}
}

func TestCorruptBlobIsAMissAndDeleted(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	h, _ := s.PutBytes([]byte("good data\n"))
	p := s.blobPath(h)
	os.Chmod(p, 0o600)
	os.WriteFile(p, []byte("bad  data\n"), 0o600)
	dst := filepath.Join(dir, "dst.txt")
	os.WriteFile(dst, []byte("previous\n"), 0o644)
	err := s.Restore(h, dst, 0o644)
	if !IsMiss(err) || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Restore of a corrupt blob: %v", err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "previous\n" {
		t.Fatalf("a corrupt restore changed the destination: %q", b)
	}
	if s.HasBlob(h) {
		t.Fatal("corrupt blob not deleted")
	}
	h2, _ := s.PutBytes([]byte("x"))
	os.Chmod(s.blobPath(h2), 0o600)
	os.WriteFile(s.blobPath(h2), []byte("y"), 0o600)
	if _, err := s.ReadBlob(h2); !IsMiss(err) || s.HasBlob(h2) {
		t.Fatalf("ReadBlob of a corrupt blob: %v", err)
	}
	// A damaged record in the action log is a miss; the records around
	// it still count.
	k1, k2, k3 := Sum([]byte("1")), Sum([]byte("2")), Sum([]byte("3"))
	for _, k := range []Hash{k1, k2, k3} {
		if err := s.PutManifest(k, &Manifest{Desc: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	b, _ := os.ReadFile(s.actionsPath())
	i := strings.Index(string(b), k2.String())
	b[i+70] ^= 1                                       // flip a bit inside k2's record
	b = append(b, "M\t"+k3.String()+"\t1\t{\"outp"...) // torn last line
	os.WriteFile(s.actionsPath(), b, 0o600)
	s2, _ := Open(dir)
	if _, err := s2.GetManifest(k2); !IsMiss(err) {
		t.Fatalf("damaged record: %v", err)
	}
	if _, err := s2.GetManifest(k1); err != nil {
		t.Fatalf("record before the damage: %v", err)
	}
	if m, err := s2.GetManifest(k3); err != nil || m.Desc != "d" {
		t.Fatalf("record after the damage: %v", err)
	}
	// Appending after a torn line starts a new line.
	s2.PutManifest(k2, &Manifest{Desc: "again"})
	s2.Close()
	s3, _ := Open(dir)
	if m, err := s3.GetManifest(k2); err != nil || m.Desc != "again" {
		t.Fatalf("record appended after a torn line: %v %v", m, err)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*"+tempMarker+"*")); len(entries) > 0 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestTrimLeastRecentlyUsedFirst(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	type ent struct {
		key  Hash
		blob Hash
	}
	var ents []ent
	base := time.Now().Add(-10 * time.Hour).Unix()
	for i := 0; i < 4; i++ {
		b, _ := s.PutBytes([]byte(strings.Repeat(string(rune('a'+i)), 1000)))
		k := Sum([]byte{byte(i)})
		s.PutManifest(k, &Manifest{Outputs: []Output{{Path: "o", Hash: b, Size: 1000}}})
		// Entry i was last used at base + i hours.
		s.actions.idx[k].used = base + int64(i)*3600
		ents = append(ents, ent{k, b})
	}
	orphan, _ := s.PutBytes([]byte("nobody refers to me"))
	os.WriteFile(filepath.Join(dir, "blobs", ".x"+tempMarker+"1"), []byte("tmp"), 0o600)
	// Entry 0 is the oldest but current outputs need it; using entry 2
	// makes it the most recent, so 1 goes first, then 3.
	keepKeys := map[Hash]bool{ents[0].key: true}
	keepBlobs := map[Hash]bool{ents[0].blob: true}
	s.Used(ents[2].key)
	res, err := s.Trim(2500, keepKeys, keepBlobs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 2 || res.Blobs != 3 || res.Temp != 1 || res.After > 2500 {
		t.Fatalf("Trim = %+v", res)
	}
	// The rewritten log holds the survivors, with their use times.
	s, _ = Open(dir)
	for i, want := range []bool{true, false, true, false} {
		if _, err := s.GetManifest(ents[i].key); (err == nil) != want {
			t.Errorf("entry %d kept = %v, want %v", i, err == nil, want)
		}
		if s.HasBlob(ents[i].blob) != want {
			t.Errorf("blob %d kept = %v, want %v", i, !want, want)
		}
	}
	if s.HasBlob(orphan) {
		t.Error("orphan blob not removed")
	}
	// Nothing can go below what the current outputs need.
	res, _ = s.Trim(0, keepKeys, keepBlobs)
	if _, err := s.GetManifest(ents[0].key); err != nil || !s.HasBlob(ents[0].blob) {
		t.Fatalf("Trim(0) removed a kept entry: %+v", res)
	}
}

func TestUsedRefreshesOldEntries(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	k := Sum([]byte("k"))
	s.PutManifest(k, &Manifest{})
	old := time.Now().Add(-2 * UseGranularity).Unix()
	s.actions.idx[k].used = old
	if _, err := s.GetManifest(k); err != nil {
		t.Fatal(err)
	}
	if s.actions.idx[k].used != old {
		t.Fatal("GetManifest counted as a use")
	}
	s.Used(k)
	s.Close()
	s, _ = Open(dir)
	s.GetManifest(k)
	if time.Now().Unix()-s.actions.idx[k].used > 60 {
		t.Fatal("Used did not record a use of an old entry")
	}
	// A read-only store never writes.
	before, _ := os.ReadFile(s.actionsPath())
	ro := OpenReadOnly(dir)
	ro.actions.loaded = false
	ro.GetManifest(k)
	ro.loadActions()
	ro.actions.idx[k].used = old
	ro.Used(k)
	if after, _ := os.ReadFile(s.actionsPath()); string(after) != string(before) {
		t.Fatal("a read-only store wrote to the action log")
	}
}

func TestAtomicFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	os.WriteFile(p, []byte("old"), 0o644)
	f, err := Create(p, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("new"))
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatal("visible before Commit")
	}
	f.Abort()
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatal("Abort changed the file")
	}
	f, _ = Create(p, 0o640)
	f.Write([]byte("new"))
	if h, n := f.Sum(); h != Sum([]byte("new")) || n != 3 {
		t.Fatal("Sum")
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort()
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatal("Commit")
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", fi.Mode())
	}
	os.WriteFile(filepath.Join(dir, ".f.txt"+tempMarker+"123"), nil, 0o600)
	if n, _ := SweepTemp(dir); n != 1 {
		t.Fatalf("SweepTemp removed %d", n)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("left %v", ents)
	}
}

func TestDesc(t *testing.T) {
	a := NewDesc("1")
	a.Add("run \"x\"")
	b := NewDesc("2")
	b.Add("run \"x\"")
	if a.Key() == b.Key() {
		t.Fatal("version does not salt the key")
	}
	if got := Lines(a.String()); len(got) != 2 || got[0] != "bethel 1" {
		t.Fatalf("Lines = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a line with a newline was accepted")
		}
	}()
	a.Add("two\nlines")
}

func TestPutWritten(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "out.csv")
	data := []byte(strings.Repeat("a,b,c\n", 50000))
	os.WriteFile(src, data, 0o600)
	h := Sum(data)
	if err := s.PutWritten(src, h, Stat(src)); err != nil {
		t.Fatal(err)
	}
	b, err := s.ReadBlob(h)
	if err != nil || string(b) != string(data) {
		t.Fatalf("blob after PutWritten: %d bytes, %v", len(b), err)
	}
	if fi, _ := os.Stat(s.blobPath(h)); fi.Mode().Perm() != 0o400 {
		t.Fatalf("blob mode %v", fi.Mode().Perm())
	}

	tests := []struct {
		name   string
		change func(p string) // after the stat is taken
		stored bool           // a blob named h exists afterwards
	}{
		{"unchanged", func(string) {}, true},
		{"appended", func(p string) {
			f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("x\n")
			f.Close()
		}, false},
		{"replaced, other content", func(p string) {
			os.WriteFile(p+".new", []byte("other\n"), 0o600)
			os.Rename(p+".new", p)
		}, false},
		{"replaced, same content", func(p string) {
			os.WriteFile(p+".new", []byte("second\n"), 0o600)
			os.Rename(p+".new", p)
		}, true},
		{"removed", func(p string) { os.Remove(p) }, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "f"+string(rune('0'+i)))
			content := []byte("second\n")
			os.WriteFile(p, content, 0o600)
			h := Sum(content)
			st := Stat(p)
			tt.change(p)
			err := s.PutWritten(p, h, st)
			if got := s.HasBlob(h); got != tt.stored {
				t.Fatalf("stored %v, want %v (err %v)", got, tt.stored, err)
			}
			if tt.stored {
				if err != nil {
					t.Fatal(err)
				}
				if b, err := s.ReadBlob(h); err != nil || string(b) != "second\n" {
					t.Fatalf("blob %q, %v", b, err)
				}
				os.Chmod(s.blobPath(h), 0o600)
				os.Remove(s.blobPath(h))
			} else if err == nil {
				t.Fatal("no error for a file that changed")
			}
			if n, _ := SweepTemp(filepath.Join(dir, "cache", "blobs")); n != 0 {
				t.Fatalf("%d temporary files left in the store", n)
			}
		})
	}
}

// BenchmarkPut compares storing an output the engine wrote (18 MB, the
// size of a 100,000-row registrations table) by copying and re-hashing it
// (PutFileAs) and by an in-kernel copy checked by stat (PutWritten).
func BenchmarkPut(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(filepath.Join(dir, "cache"))
	if err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(dir, "out.csv")
	data := []byte(strings.Repeat("R-010001,2026-02-01T08:00:36,Jim,Calgate,,jim@example.org,593.555.0120\n", 18<<20/72))
	os.WriteFile(src, data, 0o600)
	h := Sum(data)
	st := Stat(src)
	for _, bb := range []struct {
		name string
		put  func() error
	}{
		{"PutFileAs", func() error { return s.PutFileAs(src, h) }},
		{"PutWritten", func() error { return s.PutWritten(src, h, st) }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := bb.put(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.Remove(s.blobPath(h))
				b.StartTimer()
			}
		})
	}
}

// TestPutReplacesDamagedBlob: storing bytes whose blob exists but was
// damaged on disk replaces the blob, so a rerun that yields the same bytes
// heals the cache.
func TestPutReplacesDamagedBlob(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("lineage bytes\n")
	h, err := s.PutBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	p := s.blobPath(h)
	os.Chmod(p, 0o600)
	os.WriteFile(p, []byte("lineage bytEs\n"), 0o400)
	if _, err := s.PutBytes(data); err != nil {
		t.Fatal(err)
	}
	if b, err := s.ReadBlob(h); err != nil || string(b) != string(data) {
		t.Fatalf("PutBytes kept the damaged blob: %q, %v", b, err)
	}

	// An output whose blob was cut short.
	src := filepath.Join(dir, "out.txt")
	os.WriteFile(src, []byte("output bytes\n"), 0o644)
	oh, _, err := HashFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutWritten(src, oh, Stat(src)); err != nil {
		t.Fatal(err)
	}
	op := s.blobPath(oh)
	os.Chmod(op, 0o600)
	os.WriteFile(op, []byte("output"), 0o400)
	if err := s.PutWritten(src, oh, Stat(src)); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyBlob(oh); err != nil {
		t.Fatalf("PutWritten kept a blob of the wrong size: %v", err)
	}
	os.Chmod(op, 0o600)
	os.WriteFile(op, []byte("output bytEs\n"), 0o400)
	var miss *MissError
	if err := s.VerifyBlob(oh); !errors.As(err, &miss) || !miss.Corrupt {
		t.Fatalf("VerifyBlob of a damaged blob: %v", err)
	}
	if s.HasBlob(oh) {
		t.Fatal("VerifyBlob kept a damaged blob")
	}
}
