package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

// concatStage writes, to every output, the concatenation of its inputs and
// patches (or, with param upper=true, the same upper-cased), and counts its
// calls.
type concatStage struct {
	name, version string
	calls         atomic.Int64
	fail          atomic.Bool
	mu            sync.Mutex
	ran           []string
}

func (s *concatStage) Name() string    { return s.name }
func (s *concatStage) Version() string { return s.version }
func (s *concatStage) Run(ctx context.Context, r *stage.Run) error {
	s.calls.Add(1)
	s.mu.Lock()
	s.ran = append(s.ran, r.Node)
	s.mu.Unlock()
	if s.fail.Load() {
		return errors.New("stage failed on purpose")
	}
	var buf bytes.Buffer
	for _, p := range append(append([]string{}, r.Inputs...), r.Patches...) {
		b, err := fs.ReadFile(r.FS, p)
		if err != nil {
			return err
		}
		buf.Write(b)
	}
	out := buf.Bytes()
	if r.Params["upper"] == true {
		out = bytes.ToUpper(out)
	}
	if r.Params["constant"] == true {
		out = []byte("constant\n")
	}
	for _, o := range r.Outputs {
		w, err := r.Create(o)
		if err != nil {
			return err
		}
		w.Write(out)
	}
	return nil
}

func (s *concatStage) nodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := append([]string(nil), s.ran...)
	sort.Strings(r)
	s.ran = nil
	return r
}

// workspace writes files (path -> content) under a new temp dir.
func workspace(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		write(t, root, p, c)
	}
	return root
}

func write(t testing.TB, root, p, c string) {
	t.Helper()
	abs := filepath.Join(root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(abs, []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t testing.TB, root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func load(t testing.TB, root string, reg *stage.Registry) *pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.Load(root, "pipeline.toml", reg.Names())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// chain is a three-node pipeline of built-in stages:
// a.txt,b.txt -> mid (mid.txt) -> last (last.txt); side reads c.txt.
const chain = `
[[node]]
name = "mid"
stage = "concat"
inputs = ["src/a.txt", "src/b.txt"]
outputs = ["out/mid.txt"]

[[node]]
name = "last"
stage = "concat"
inputs = ["out/mid.txt"]
outputs = ["out/last.txt"]
params = { upper = true }

[[node]]
name = "side"
stage = "concat"
inputs = ["src/c.txt"]
patches = ["patches/*.toml"]
outputs = ["out/side.txt"]
`

func newChain(t *testing.T) (string, *concatStage, Options) {
	root := workspace(t, map[string]string{
		"pipeline.toml": chain,
		"src/a.txt":     "a\n",
		"src/b.txt":     "b\n",
		"src/c.txt":     "c\n",
	})
	st := &concatStage{name: "concat", version: "1"}
	return root, st, Options{Version: "test", Registry: stage.NewRegistry(st), Jobs: 2}
}

func mustBuild(t *testing.T, root string, opts Options) *Result {
	t.Helper()
	p := load(t, root, opts.Registry)
	res, err := Build(context.Background(), p, opts)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return res
}

func TestBuildIncremental(t *testing.T) {
	root, st, opts := newChain(t)
	res := mustBuild(t, root, opts)
	if got := st.nodes(); !reflect.DeepEqual(got, []string{"last", "mid", "side"}) {
		t.Fatalf("first build ran %v", got)
	}
	if got := read(t, root, "out/last.txt"); got != "A\nB\n" {
		t.Fatalf("last.txt = %q", got)
	}
	if len(res.Ran) != 3 {
		t.Fatalf("Ran = %v", res.Ran)
	}

	steps := []struct {
		name     string
		change   func()
		ran      []string
		restored []string
	}{
		{"no-op", func() {}, nil, nil},
		{"touch", func() {
			for _, p := range []string{"src/a.txt", "src/b.txt", "src/c.txt", "out/mid.txt"} {
				now := mustStat(t, root, p).ModTime().Add(5e9)
				os.Chtimes(filepath.Join(root, p), now, now)
			}
		}, nil, nil},
		{"change c", func() { write(t, root, "src/c.txt", "c2\n") }, []string{"side"}, nil},
		{"change a", func() { write(t, root, "src/a.txt", "a2\n") }, []string{"last", "mid"}, nil},
		{"revert a", func() { write(t, root, "src/a.txt", "a\n") }, nil, []string{"last", "mid"}},
		{"add patch", func() { write(t, root, "patches/x.toml", "p\n") }, []string{"side"}, nil},
		{"remove patch", func() { os.Remove(filepath.Join(root, "patches/x.toml")) }, nil, []string{"side"}},
		{"delete output", func() { os.Remove(filepath.Join(root, "out/last.txt")) }, nil, []string{"last"}},
		{"stage version", func() { st.version = "2" }, []string{"last", "mid", "side"}, nil},
	}
	for _, s := range steps {
		s.change()
		res := mustBuild(t, root, opts)
		if got := st.nodes(); !reflect.DeepEqual(got, s.ran) {
			t.Errorf("%s: stage ran %v, want %v", s.name, got, s.ran)
		}
		if got := sorted(res.Restored); !reflect.DeepEqual(got, s.restored) {
			t.Errorf("%s: restored %v, want %v", s.name, got, s.restored)
		}
	}
	if got := read(t, root, "out/last.txt"); got != "A\nB\n" {
		t.Fatalf("last.txt = %q", got)
	}
}

func TestEarlyCutoff(t *testing.T) {
	root, st, opts := newChain(t)
	// mid's output no longer depends on its inputs' content.
	write(t, root, "pipeline.toml", strings.Replace(chain, `outputs = ["out/mid.txt"]`, `outputs = ["out/mid.txt"]
params = { constant = true }`, 1))
	mustBuild(t, root, opts)
	st.nodes()
	write(t, root, "src/a.txt", "changed\n")
	res := mustBuild(t, root, opts)
	if got := st.nodes(); !reflect.DeepEqual(got, []string{"mid"}) {
		t.Fatalf("ran %v, want only mid (last's input is byte-identical)", got)
	}
	if !contains(res.UpToDate, "last") {
		t.Fatalf("last not up to date: %+v", res)
	}
}

func mustStat(t testing.TB, root, p string) os.FileInfo {
	fi, err := os.Stat(filepath.Join(root, p))
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func sorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func contains(s []string, x string) bool {
	for _, e := range s {
		if e == x {
			return true
		}
	}
	return false
}

var _ io.Writer = (*bytes.Buffer)(nil)
var _ = fmt.Sprint
