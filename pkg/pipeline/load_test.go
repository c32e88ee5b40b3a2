package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"bethel/pkg/stage"
)

func names(ns []*Node) []string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.Name
	}
	return s
}

// TestLoadSample loads the reduced Grand Bethel sample and checks every
// field the engine relies on.
func TestLoadSample(t *testing.T) {
	p, err := Load("testdata/ws", "pipeline.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p.Root, "testdata/ws") || p.Root[0] != '/' {
		t.Errorf("Root = %q, want an absolute path", p.Root)
	}
	if p.File != "pipeline.toml" {
		t.Errorf("File = %q", p.File)
	}
	if got, want := names(p.Nodes), []string{"registrations", "badges", "attendance", "program", "report"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Nodes = %v, want %v", got, want)
	}
	if got, want := names(p.Order), []string{"registrations", "badges", "attendance", "program", "report"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Order = %v, want %v", got, want)
	}
	byName := map[string]*Node{}
	for _, n := range p.Nodes {
		byName[n.Name] = n
	}
	reg, badges, att, rep := byName["registrations"], byName["badges"], byName["attendance"], byName["report"]
	if want := []string{"patches/registrations/001-dup.toml", "patches/registrations/002-bethel.toml"}; !reflect.DeepEqual(reg.PatchFiles, want) {
		t.Errorf("registrations PatchFiles = %v, want %v (dot files skipped, sorted)", reg.PatchFiles, want)
	}
	if reg.Pos.String() != "pipeline.toml:3:1" {
		t.Errorf("registrations Pos = %v", reg.Pos)
	}
	if badges.Visibility != stage.Private {
		t.Errorf("badges reads a private output and declares nothing: Visibility = %q, want private", badges.Visibility)
	}
	if att.Visibility != stage.Internal {
		t.Errorf("attendance Visibility = %q, want the default internal", att.Visibility)
	}
	if att.Description != "Counts per bethel" {
		t.Errorf("attendance Description = %q", att.Description)
	}
	if want := map[string]any{"threshold": int64(5), "days": []any{"Friday", "Saturday"}}; !reflect.DeepEqual(att.Params, want) {
		t.Errorf("attendance Params = %#v, want %#v", att.Params, want)
	}
	if got := names(rep.Deps); !reflect.DeepEqual(got, []string{"attendance", "program"}) {
		t.Errorf("report Deps = %v", got)
	}
	if p.Producer["out/private/registrations.csv"] != reg {
		t.Errorf("Producer of registrations.csv is not the registrations node")
	}
	wantSrc := []string{"config/bethels.csv", "config/columns.toml", "config/schedule.toml", "inputs/program.csv", "inputs/registrations.csv",
		"patches/registrations/001-dup.toml", "patches/registrations/002-bethel.toml", "scripts/badges.py", "scripts/report.sh"}
	if !reflect.DeepEqual(p.Sources, wantSrc) {
		t.Errorf("Sources = %v\nwant %v", p.Sources, wantSrc)
	}
	if want := []string{"patches/program/*.toml", "patches/registrations/*.toml", "scripts/*.sh"}; !reflect.DeepEqual(p.Globs, want) {
		t.Errorf("Globs = %v, want %v", p.Globs, want)
	}
}

// writeTree creates files (path -> content) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGlobOrder(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"data/b.csv":           "",
		"data/a.csv":           "",
		"data/z1.csv":          "",
		"data/z0.csv":          "",
		"data/.a.csv.swp":      "",
		"data/.hidden.csv":     "",
		"data/sub/c.txt":       "",
		"data/sub/deep/d.txt":  "",
		"data/.git/e.txt":      "",
		"data/top.txt":         "",
		"out/stale.csv":        "",
		".bethel/cache/x.txt":  "",
		"patches/p/002.toml":   "",
		"patches/p/001.toml":   "",
		"patches/q/000.toml":   "",
		"patches/p/notes.md":   "",
		"patches/p/sub/3.toml": "",
		"pipeline.toml": `
[[node]]
name = "gen"
run = "true"
outputs = ["out/data/gen.csv"]

[[node]]
name = "use"
run = "true"
inputs = ["data/z*.csv", "data/*.csv", "data/a.csv", "data/**/*.txt", "data/.*.csv", "**/stale.csv", "out/data/gen.csv"]
patches = ["patches/q/*.toml", "patches/p/*.toml", "patches/empty/*.toml"]
outputs = ["out/result.txt"]
`,
	})
	// "**/stale.csv" matches nothing: out/ is never globbed. Patterns that
	// match nothing are an error for inputs, so drop it and check that
	// separately.
	_, err := Load(dir, "pipeline.toml", nil)
	if err == nil || !strings.Contains(err.Error(), "pattern **/stale.csv matches no file") {
		t.Fatalf("want **/stale.csv to match nothing, got %v", err)
	}
	src, _ := os.ReadFile(filepath.Join(dir, "pipeline.toml"))
	fixed := strings.Replace(string(src), `"**/stale.csv", `, "", 1)
	writeTree(t, dir, map[string]string{"pipeline.toml": fixed})
	p, err := Load(dir, "pipeline.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	use := p.Nodes[1]
	want := []string{
		"data/z0.csv", "data/z1.csv", // data/z*.csv, sorted
		"data/a.csv", "data/b.csv", // data/*.csv minus z*, minus dot files
		"data/sub/c.txt", "data/sub/deep/d.txt", "data/top.txt", // data/**/*.txt, not .git
		"data/.hidden.csv", // an explicit leading dot matches dot files
		"out/data/gen.csv", // another node's output, by exact path
	}
	if !reflect.DeepEqual(use.InputFiles, want) {
		t.Errorf("InputFiles =\n%q\nwant\n%q", use.InputFiles, want)
	}
	if wantP := []string{"patches/p/001.toml", "patches/p/002.toml", "patches/q/000.toml"}; !reflect.DeepEqual(use.PatchFiles, wantP) {
		t.Errorf("PatchFiles = %q, want %q", use.PatchFiles, wantP)
	}
	if got := names(use.Deps); !reflect.DeepEqual(got, []string{"gen"}) {
		t.Errorf("Deps = %v", got)
	}
	for _, s := range p.Sources {
		if s == "out/data/gen.csv" {
			t.Errorf("Sources holds an output: %v", p.Sources)
		}
	}
}

// TestTopoOrder checks that dependencies come first, that ties keep file
// order, and that loading the same file twice gives the same order.
func TestTopoOrder(t *testing.T) {
	dir := t.TempDir()
	// File order: d c b a e; edges a->b->c, a->d; e independent.
	writeTree(t, dir, map[string]string{
		"src.txt": "",
		"pipeline.toml": `
[[node]]
name = "d"
run = "true"
inputs = ["out/a"]
outputs = ["out/d"]

[[node]]
name = "c"
run = "true"
inputs = ["out/b"]
outputs = ["out/c"]

[[node]]
name = "b"
run = "true"
inputs = ["out/a"]
outputs = ["out/b"]

[[node]]
name = "a"
run = "true"
inputs = ["src.txt"]
outputs = ["out/a"]

[[node]]
name = "e"
run = "true"
inputs = ["src.txt"]
outputs = ["out/e"]
`})
	var first []string
	for i := 0; i < 5; i++ {
		p, err := Load(dir, "pipeline.toml", nil)
		if err != nil {
			t.Fatal(err)
		}
		got := names(p.Order)
		if want := []string{"a", "d", "b", "c", "e"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Order = %v, want %v", got, want)
		}
		if first == nil {
			first = got
		} else if !reflect.DeepEqual(got, first) {
			t.Fatalf("Order changed between loads: %v then %v", first, got)
		}
	}
}

// TestTopoOrderGenerated checks the order invariants on a larger random
// DAG, against the file order shuffled.
func TestTopoOrderGenerated(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"src.txt": "", "pipeline.toml": genPipeline(300, 7)})
	p, err := Load(dir, "pipeline.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	rank := map[*Node]int{}
	for r, n := range p.Order {
		rank[n] = r
	}
	if len(rank) != len(p.Nodes) {
		t.Fatalf("Order has %d distinct nodes, want %d", len(rank), len(p.Nodes))
	}
	for _, n := range p.Nodes {
		for k, d := range n.Deps {
			if rank[d] >= rank[n] {
				t.Fatalf("%s comes before its dependency %s", n.Name, d.Name)
			}
			if k > 0 && rank[n.Deps[k-1]] >= rank[d] {
				t.Fatalf("%s: Deps not in Order", n.Name)
			}
		}
	}
	// Ties by file order: a node never comes after a later node in the
	// file unless something forces it, i.e. each node is placed as early
	// as possible: the next node in Order is the lowest index among those
	// whose deps are all placed.
	placed := map[*Node]bool{}
	for _, n := range p.Order {
		for _, m := range p.Nodes {
			if placed[m] || m == n {
				continue
			}
			ready := true
			for _, d := range m.Deps {
				ready = ready && placed[d]
			}
			if ready && m.Index < n.Index {
				t.Fatalf("%s placed while %s (earlier in the file) was ready", n.Name, m.Name)
			}
		}
		placed[n] = true
	}
}

func TestVisibilityDeclassify(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"src.csv": "",
		"pipeline.toml": `
[[node]]
name = "reg"
run = "cp src.csv out/private/reg.csv"
inputs = ["src.csv"]
outputs = ["out/private/reg.csv"]
visibility = "private"

[[node]]
name = "count"
run = "wc -l < out/private/reg.csv > out/summary/count.txt"
inputs = ["out/private/reg.csv"]
outputs = ["out/summary/count.txt"]
visibility = "public"
declassify = "a single total count"

[[node]]
name = "after"
run = "cat out/summary/count.txt > out/summary/count2.txt"
inputs = ["out/summary/count.txt"]
outputs = ["out/summary/count2.txt"]
`})
	p, err := Load(dir, "pipeline.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Nodes[1]; c.Visibility != stage.Public || c.Declassify != "a single total count" {
		t.Errorf("count: visibility %q declassify %q", c.Visibility, c.Declassify)
	}
	if a := p.Nodes[2]; a.Visibility != stage.Internal {
		t.Errorf("after reads a declassified output: visibility %q, want internal", a.Visibility)
	}
}

func TestParamsAndPositions(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"src.csv": "",
		"sub/pipeline.toml": `
[[node]]
name = "a"
stage = "s"
outputs = ["out/a"]
params.threshold = 5
params.when = 2026-05-01

[[node]]
"name" = "b"
stage = "s"
outputs = ["out/b"]

  [node.params]
  ratio = 0.5
  [[node.params.rooms]]
  name = "Hall"
  [[node.params.rooms]]
  name = "Annex"
`})
	p, err := Load(dir, filepath.Join(dir, "sub", "pipeline.toml"), []string{"s"})
	if err != nil {
		t.Fatal(err)
	}
	if p.File != "sub/pipeline.toml" {
		t.Errorf("File = %q, want sub/pipeline.toml", p.File)
	}
	a, b := p.Nodes[0], p.Nodes[1]
	if a.Pos.String() != "sub/pipeline.toml:2:1" || b.Pos.String() != "sub/pipeline.toml:9:1" {
		t.Errorf("positions %v %v", a.Pos, b.Pos)
	}
	if a.Params["threshold"] != int64(5) {
		t.Errorf("a params %#v", a.Params)
	}
	if d, ok := a.Params["when"].(time.Time); !ok || d.Format("2006-01-02") != "2026-05-01" {
		t.Errorf("a params when = %#v", a.Params["when"])
	}
	want := map[string]any{"ratio": 0.5, "rooms": []any{map[string]any{"name": "Hall"}, map[string]any{"name": "Annex"}}}
	if !reflect.DeepEqual(b.Params, want) {
		t.Errorf("b params = %#v\nwant %#v", b.Params, want)
	}
	if len(a.InputFiles) != 0 || a.Inputs != nil {
		t.Errorf("a has inputs %v %v", a.Inputs, a.InputFiles)
	}
}

// genPipeline writes a layered pipeline of n command nodes: node i reads
// src.txt and up to two outputs of the previous layer (width w), listed in
// a scrambled file order.
func genPipeline(n, w int) string {
	var b strings.Builder
	// i*7919 mod n visits every index when n is not a multiple of the
	// prime 7919, so the file order is a fixed shuffle.
	order := make([]int, n)
	for k := range order {
		order[k] = k
		if n%7919 != 0 {
			order[k] = (k*7919 + 13) % n
		}
	}
	for _, i := range order {
		fmt.Fprintf(&b, "[[node]]\nname = \"n%d\"\nrun = \"cat $IN > out/n%d.txt\"\ninputs = [\"src.txt\"", i, i)
		if i >= w {
			fmt.Fprintf(&b, ", \"out/n%d.txt\"", i-w)
			if (i-w)%w != w-1 {
				fmt.Fprintf(&b, ", \"out/n%d.txt\"", i-w+1)
			}
		}
		fmt.Fprintf(&b, "]\noutputs = [\"out/n%d.txt\"]\n\n", i)
	}
	return b.String()
}

// TestPipelineOutsideWorkspace loads a pipeline file that lives outside
// the workspace root: it is read from where it is, and positions name it
// by its absolute path.
func TestPipelineOutsideWorkspace(t *testing.T) {
	ws, elsewhere := t.TempDir(), t.TempDir()
	writeTree(t, ws, map[string]string{"src.txt": ""})
	writeTree(t, elsewhere, map[string]string{"p.toml": "[[node]]\nname = \"a\"\nrun = \"true\"\ninputs = [\"src.txt\"]\noutputs = [\"out/a\"]\n"})
	file := filepath.Join(elsewhere, "p.toml")
	p, err := Load(ws, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.File != filepath.ToSlash(file) || p.Nodes[0].InputFiles[0] != "src.txt" {
		t.Errorf("File %q, inputs %v", p.File, p.Nodes[0].InputFiles)
	}
}
