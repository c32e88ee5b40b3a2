package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const cacheSub = ".bethel/pipeline"

// loadBoth loads dir's pipeline with Load and with LoadCached and fails
// unless they agree; it returns the pipeline and whether the cache was hit.
func loadBoth(t *testing.T, dir string, stages []string) (*Pipeline, bool) {
	t.Helper()
	want, err := Load(dir, "pipeline.toml", stages)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got, hit, err := loadCached(dir, "pipeline.toml", stages, cacheSub)
	if err != nil {
		t.Fatalf("LoadCached: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadCached (hit=%v) differs from Load:\n%#v\n%#v", hit, got, want)
	}
	return got, hit
}

const paramsPipeline = `
[[node]]
name = "a"
stage = "s"
inputs = ["src.txt"]
patches = ["patches/*.toml"]
outputs = ["out/a"]
[node.params]
s = "x"
i = -7
f = 0.25
b = true
odt = 2026-05-01T09:30:00Z
odt2 = 2026-05-01T09:30:00+02:00
ldt = 2026-05-01T09:30:00
ld = 2026-05-01
lt = 09:30:00
arr = [1, "two", [3.0]]
tbl = { k = "v", n = { deep = false } }
[[node.params.rooms]]
name = "Hall"

[[node]]
name = "b"
run = "cat out/a > out/b"
inputs = ["out/a", "scripts/**"]
outputs = ["out/b"]
description = "copy"
visibility = "public"
`

func TestLoadCached(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"src.txt":          "x",
		"patches/001.toml": "",
		"scripts/x.sh":     "",
		"pipeline.toml":    paramsPipeline,
	})
	stages := []string{"s"}
	if _, hit := loadBoth(t, dir, stages); hit {
		t.Fatal("first LoadCached hit a cache that cannot exist")
	}
	if _, hit := loadBoth(t, dir, stages); !hit {
		t.Fatal("second LoadCached missed")
	}
	// Building writes outputs: that must not invalidate the cache.
	writeTree(t, dir, map[string]string{"out/a": "", "out/b": ""})
	if _, hit := loadBoth(t, dir, stages); !hit {
		t.Fatal("LoadCached missed after outputs appeared")
	}
	if info, err := os.Stat(filepath.Join(dir, cacheSub)); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir: %v %v", info, err)
	}

	steps := []struct {
		name   string
		change func()
		check  func(p *Pipeline)
	}{
		{"new patch file", func() { writeTree(t, dir, map[string]string{"patches/002.toml": ""}) }, func(p *Pipeline) {
			if got := p.Nodes[0].PatchFiles; len(got) != 2 || got[1] != "patches/002.toml" {
				t.Errorf("PatchFiles = %v", got)
			}
		}},
		{"file in a new subdirectory matched by **", func() { writeTree(t, dir, map[string]string{"scripts/lib/y.sh": ""}) }, func(p *Pipeline) {
			if got := p.Nodes[1].InputFiles; len(got) != 3 || got[1] != "scripts/lib/y.sh" {
				t.Errorf("InputFiles = %v", got)
			}
		}},
		{"edited pipeline", func() {
			writeTree(t, dir, map[string]string{"pipeline.toml": strings.Replace(paramsPipeline, `"copy"`, `"a copy"`, 1)})
		}, func(p *Pipeline) {
			if p.Nodes[1].Description != "a copy" {
				t.Errorf("Description = %q", p.Nodes[1].Description)
			}
		}},
		{"patch removed", func() { os.Remove(filepath.Join(dir, "patches/001.toml")) }, func(p *Pipeline) {
			if got := p.Nodes[0].PatchFiles; len(got) != 1 || got[0] != "patches/002.toml" {
				t.Errorf("PatchFiles = %v", got)
			}
		}},
	}
	for _, s := range steps {
		s.change()
		p, hit := loadBoth(t, dir, stages)
		if hit {
			t.Errorf("%s: cache hit, want a miss", s.name)
		}
		s.check(p)
		if _, hit := loadBoth(t, dir, stages); !hit {
			t.Errorf("%s: second load missed", s.name)
		}
	}

	// Other stage names: a miss (an unknown stage must be reported).
	if _, hit := loadBoth(t, dir, []string{"s", "t"}); hit {
		t.Error("changed stage list: cache hit")
	}
	if _, err := LoadCached(dir, "pipeline.toml", []string{"t"}, cacheSub); err == nil || !strings.Contains(err.Error(), `unknown stage "s"`) {
		t.Errorf("stage s removed: got %v", err)
	}

	// A deleted source: the cached pipeline must not hide the error.
	loadBoth(t, dir, stages)
	os.Remove(filepath.Join(dir, "src.txt"))
	if _, err := LoadCached(dir, "pipeline.toml", stages, cacheSub); err == nil || !strings.Contains(err.Error(), "missing source file src.txt") {
		t.Errorf("deleted source: got %v", err)
	}
}

func TestTrustable(t *testing.T) {
	st := srcStat{size: 10, mtime: 100, ino: 7, ctime: 200}
	tests := []struct {
		name string
		st   srcStat
		t0   int64
		want bool
	}{
		{"changed before the reference", st, 201, true},
		{"changed in the reference's tick", st, 200, false},
		{"modified in the reference's tick", srcStat{size: 10, mtime: 300, ino: 7, ctime: 100}, 300, false},
		{"changed after the reference", st, 150, false},
		{"no reference", st, 0, false},
		{"no stat", srcStat{}, 500, false},
	}
	for _, tt := range tests {
		if got := trustable(tt.st, tt.t0); got != tt.want {
			t.Errorf("%s: trustable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestLoadCachedTrustsStat checks that a load trusts the stored sum of an
// unchanged pipeline file, and that no edit which keeps the file's size
// and modification time, in place or by rename, goes unnoticed.
func TestLoadCachedTrustsStat(t *testing.T) {
	if _, ok := statSource("."); !ok {
		t.Skip("no change times on this system: the pipeline file is always hashed")
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"src.txt": "x", "scripts/x.sh": "", "pipeline.toml": paramsPipeline})
	path := filepath.Join(dir, "pipeline.toml")
	cached := func() []byte {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(dir, cacheSub, "pipeline-*.bin"))
		if len(files) != 1 {
			t.Fatalf("cache files %v", files)
		}
		b, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// settle loads afresh until the file is older than the cache file's
	// time stamp (a file changed in the same clock tick is not trusted).
	settle := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			os.RemoveAll(filepath.Join(dir, cacheSub))
			loadBoth(t, dir, nil)
			if _, ok := trustedSum(cached(), path); ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the pipeline file's stat was never trusted")
			}
			time.Sleep(time.Millisecond)
		}
	}
	settle()
	if _, hit := loadBoth(t, dir, nil); !hit {
		t.Fatal("unchanged pipeline: cache miss")
	}
	steps := []struct {
		name string
		edit func(content string, mtime time.Time)
	}{
		{"in place", func(content string, mtime time.Time) {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(path, mtime, mtime)
		}},
		{"by rename", func(content string, mtime time.Time) {
			tmp := filepath.Join(dir, "pipeline.toml.new")
			if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(tmp, mtime, mtime)
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	desc := `"copy"`
	for i, s := range steps {
		settle()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		next := fmt.Sprintf(`"cop%d"`, i) // the same length
		src, _ := os.ReadFile(path)
		s.edit(strings.Replace(string(src), desc, next, 1), fi.ModTime())
		if fi2, _ := os.Stat(path); fi2.Size() != fi.Size() || !fi2.ModTime().Equal(fi.ModTime()) {
			t.Fatalf("%s: the edit changed size or modification time", s.name)
		}
		p, hit := loadBoth(t, dir, nil)
		if hit {
			t.Errorf("%s: edited pipeline file, cache hit", s.name)
		}
		if want := strings.Trim(next, `"`); p.Nodes[1].Description != want {
			t.Errorf("%s: Description = %q, want %q", s.name, p.Nodes[1].Description, want)
		}
		desc = next
	}

	// Touched, not edited: loads hit the cache, hashing the file, until
	// one can store the new stat data; from then on it is trusted again.
	settle()
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, hit := loadBoth(t, dir, nil); !hit {
			t.Fatal("touched pipeline file: cache miss")
		}
		if _, ok := trustedSum(cached(), path); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a touched pipeline file's new stat was never stored")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLoadCachedCorrupt damages the cache file in several ways: each is a
// miss with the right result, never a panic or a wrong pipeline.
func TestLoadCachedCorrupt(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"src.txt": "x", "scripts/x.sh": "", "pipeline.toml": paramsPipeline})
	loadBoth(t, dir, nil)
	files, _ := filepath.Glob(filepath.Join(dir, cacheSub, "pipeline-*.bin"))
	if len(files) != 1 {
		t.Fatalf("cache files: %v", files)
	}
	good, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	damage := map[string][]byte{
		"empty":     {},
		"truncated": good[:len(good)/2],
		"last byte": append(append([]byte(nil), good[:len(good)-1]...), good[len(good)-1]^1),
		"magic":     append([]byte("X"), good[1:]...),
		"trailing":  append(append([]byte(nil), good...), 0),
	}
	for name, b := range damage {
		if err := os.WriteFile(files[0], b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, hit := loadBoth(t, dir, nil); hit {
			t.Errorf("%s: cache hit on a damaged file", name)
		}
	}
	// Every single-byte flip must also be rejected or decode to the same
	// pipeline (loadBoth checks equality).
	for i := 0; i < len(good); i += 7 {
		b := append([]byte(nil), good...)
		b[i] ^= 0x40
		if _, err := decodeCompiled(b, dir, "pipeline.toml", [32]byte{}, [32]byte{}); err == nil {
			t.Errorf("flip at %d decoded against the wrong key", i)
		}
	}
}

func FuzzDecodeCompiled(f *testing.F) {
	dir := f.TempDir()
	writeTree(f, dir, map[string]string{"src.txt": "x", "scripts/x.sh": "", "pipeline.toml": paramsPipeline})
	if _, err := LoadCached(dir, "pipeline.toml", nil, cacheSub); err != nil {
		f.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, cacheSub, "pipeline-*.bin"))
	good, _ := os.ReadFile(files[0])
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		// Any key: decoding must fail cleanly or produce a pipeline whose
		// node references are in range.
		p, err := decodeCompiledUnchecked(b, dir)
		if err != nil {
			return
		}
		for _, n := range p.Order {
			if n == nil {
				t.Fatal("nil node in Order")
			}
		}
	})
}
