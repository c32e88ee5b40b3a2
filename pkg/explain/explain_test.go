package explain

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"bethel/pkg/cache"
	"bethel/pkg/lineage"
	"bethel/pkg/provenance"
)

// memArtifacts is a build held in memory: each output's lineage is encoded
// and opened with the real codec, so the walk reads what a build stores.
type memArtifacts struct {
	arts    map[string]*Artifact
	reasons map[string]string
	asked   map[string]int // Artifact calls per path: the walker must load each once
}

func (m *memArtifacts) Artifact(path string, h cache.Hash) (*Artifact, error) {
	m.asked[path]++
	a, ok := m.arts[path]
	if !ok || a.Hash != h {
		return nil, provenance.ErrNoRecord
	}
	return a, nil
}

func (m *memArtifacts) IsOutput(path string) bool { _, ok := m.arts[path]; return ok }

func (m *memArtifacts) Reason(file, id string) string { return m.reasons[id] }

func (m *memArtifacts) add(t *testing.T, path, node string, reads []string, rec *lineage.Recorder) {
	a := &Artifact{Path: path, Hash: cache.Sum([]byte(path)), Node: node, Stage: node + ".stage", Reads: map[string]cache.Hash{}}
	for _, r := range reads {
		a.Reads[r] = cache.Sum([]byte(r))
	}
	if rec != nil {
		tab, err := provenance.Open(provenance.Encode(rec))
		if err != nil {
			t.Fatal(err)
		}
		a.Table = tab
	}
	m.arts[path] = a
}

// build is export -> mapped (row lineage to export lines) -> patched (row
// lineage to mapped rows, with patches) -> counts (cells over patched rows)
// -> json (a cell copying a counts cell), plus an opaque command output.
func build(t *testing.T) *memArtifacts {
	m := &memArtifacts{arts: map[string]*Artifact{}, reasons: map[string]string{"p-bethel": "typo", "p-name": "spelling"}, asked: map[string]int{}}
	mapped := &lineage.Recorder{}
	for i, k := range []string{"R1", "R2", "R3"} {
		mapped.AddRow(lineage.Row{Sources: []lineage.Source{{File: "in/export.csv", Line: i + 2, Key: k}}})
	}
	m.add(t, "out/mapped.csv", "map", []string{"in/export.csv"}, mapped)
	patched := &lineage.Recorder{}
	patched.AddRow(lineage.Row{Refs: []lineage.Ref{{Input: "out/mapped.csv", Row: 0}}})
	patched.AddRow(lineage.Row{Refs: []lineage.Ref{{Input: "out/mapped.csv", Row: 1}},
		Patches: []lineage.Patch{{ID: "p-bethel", File: "patches/a.toml", Line: 3, Fields: []string{"bethel"}},
			{ID: "p-name", File: "patches/a.toml", Line: 9, Fields: []string{"first_name"}}}})
	patched.AddRow(lineage.Row{Refs: []lineage.Ref{{Input: "out/mapped.csv", Row: 2}}})
	patched.AddRow(lineage.Row{Sources: []lineage.Source{{File: "patches/a.toml", Line: 15, Key: "R9"}},
		Patches: []lineage.Patch{{ID: "p-add", File: "patches/a.toml", Line: 15}}})
	m.add(t, "out/patched.csv", "patch", []string{"out/mapped.csv", "patches/a.toml"}, patched)
	counts := &lineage.Recorder{}
	counts.AddCell(lineage.Cell{Row: 0, Col: "n", Derivation: "bethel 1", Fields: []string{"bethel"}, Input: "out/patched.csv", Rows: []int{0, 1}})
	counts.AddCell(lineage.Cell{Row: 1, Col: "n", Derivation: "bethel 2", Fields: []string{"bethel"}, Input: "out/patched.csv", Rows: []int{2, 3}})
	counts.AddCell(lineage.Cell{Row: 2, Col: "n", Derivation: "all", Fields: []string{"member_type"}, Input: "out/patched.csv", Rows: []int{0, 1, 2, 3}})
	counts.AddCell(lineage.Cell{Row: 3, Col: "n", Derivation: "opaque", Refs: []lineage.Ref{{Input: "out/cmd.txt", Row: 0}, {Input: "in/raw.csv", Row: 4}}})
	m.add(t, "out/counts.csv", "counts", []string{"out/patched.csv", "out/cmd.txt", "in/raw.csv"}, counts)
	js := &lineage.Recorder{}
	js.AddCell(lineage.Cell{Row: -1, Col: "/n/0", Derivation: "copy", Fields: []string{"n"}, Refs: []lineage.Ref{{Input: "out/counts.csv", Row: 0}}})
	m.add(t, "out/all.json", "json", []string{"out/counts.csv"}, js)
	m.add(t, "out/cmd.txt", "cmd", nil, nil)
	return m
}

func keys(w *Walker, r *Resolved) []string {
	var out []string
	for _, i := range r.Sources {
		s := w.Sources()[i]
		out = append(out, fmt.Sprintf("%s:%d %s", s.File, s.Line, s.Key))
	}
	return out
}

func ids(w *Walker, r *Resolved) []string {
	var out []string
	for _, i := range r.Patches {
		p := w.Patch(i)
		out = append(out, p.ID+" "+p.Reason)
	}
	return out
}

func nodes(w *Walker, r *Resolved) []string {
	var out []string
	for _, a := range w.Artifacts(r) {
		out = append(out, a.Node)
	}
	return out
}

func TestWalk(t *testing.T) {
	cases := []struct {
		name           string
		path           string
		row            int
		col            string
		srcs, patches  []string
		nodes          []string
		raw, opaque    []string
		rowFieldsOf    []string // RowFields instead of a cell
		wantNoSuchCell bool
	}{
		{name: "two hops, patch on a read field", path: "out/counts.csv", row: 0, col: "n",
			srcs:    []string{"in/export.csv:2 R1", "in/export.csv:3 R2"},
			patches: []string{"p-bethel typo"}, nodes: []string{"counts", "patch", "map"}, raw: []string{"in/export.csv"}},
		{name: "added record", path: "out/counts.csv", row: 1, col: "n",
			srcs:    []string{"in/export.csv:4 R3", "patches/a.toml:15 R9"},
			patches: []string{"p-add "}, nodes: []string{"counts", "patch", "map"}, raw: []string{"in/export.csv", "patches/a.toml"}},
		{name: "patch on an unread field is left out", path: "out/counts.csv", row: 2, col: "n",
			srcs:    []string{"in/export.csv:2 R1", "in/export.csv:3 R2", "in/export.csv:4 R3", "patches/a.toml:15 R9"},
			patches: []string{"p-add "}, nodes: []string{"counts", "patch", "map"}, raw: []string{"in/export.csv", "patches/a.toml"}},
		{name: "json cell copies a cell", path: "out/all.json", row: -1, col: "/n/0",
			srcs:    []string{"in/export.csv:2 R1", "in/export.csv:3 R2"},
			patches: []string{"p-bethel typo"}, nodes: []string{"json", "counts", "patch", "map"}, raw: []string{"in/export.csv"}},
		{name: "opaque and raw inputs end the walk", path: "out/counts.csv", row: 3, col: "n",
			nodes: []string{"counts", "cmd"}, raw: []string{"in/raw.csv"}, opaque: []string{"cmd"}},
		{name: "one record's field", path: "out/patched.csv", row: 1, rowFieldsOf: []string{"first_name"},
			srcs: []string{"in/export.csv:3 R2"}, patches: []string{"p-name spelling"}, nodes: []string{"patch", "map"}, raw: []string{"in/export.csv"}},
		{name: "no such cell", path: "out/counts.csv", row: 7, col: "n", wantNoSuchCell: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := build(t)
			w := New(m)
			h := cache.Sum([]byte(c.path))
			var r *Resolved
			var err error
			if c.rowFieldsOf != nil {
				r, err = w.RowFields(c.path, h, c.row, c.rowFieldsOf)
			} else {
				var ok bool
				r, ok, err = w.CellAt(c.path, h, c.row, c.col)
				if ok == c.wantNoSuchCell {
					t.Fatalf("ok = %v", ok)
				}
				if !ok {
					return
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range []struct {
				what      string
				got, want []string
			}{{"sources", keys(w, r), c.srcs}, {"patches", ids(w, r), c.patches}, {"nodes", nodes(w, r), c.nodes},
				{"raw", w.Raw(), c.raw}, {"opaque", w.Opaque(), c.opaque}} {
				if len(x.got) != 0 || len(x.want) != 0 {
					if !reflect.DeepEqual(x.got, x.want) {
						t.Errorf("%s = %q, want %q", x.what, x.got, x.want)
					}
				}
			}
		})
	}
}

// TestMemoAgrees resolves every cell twice, in two orders, and checks the
// memo changes nothing, and that each artifact was loaded once.
func TestMemoAgrees(t *testing.T) {
	m := build(t)
	fresh := func(path string, row int, col string) ([]string, []string) {
		w := New(build(t))
		r, _, err := w.CellAt(path, cache.Sum([]byte(path)), row, col)
		if err != nil {
			t.Fatal(err)
		}
		return keys(w, r), ids(w, r)
	}
	w := New(m)
	cells := []struct {
		path string
		row  int
	}{{"out/all.json", -1}, {"out/counts.csv", 2}, {"out/counts.csv", 0}, {"out/counts.csv", 1}}
	for round := 0; round < 2; round++ {
		for _, c := range cells {
			col := "n"
			if c.row < 0 {
				col = "/n/0"
			}
			r, _, err := w.CellAt(c.path, cache.Sum([]byte(c.path)), c.row, col)
			if err != nil {
				t.Fatal(err)
			}
			ws, wp := fresh(c.path, c.row, col)
			if !reflect.DeepEqual(keys(w, r), ws) || !reflect.DeepEqual(ids(w, r), wp) {
				t.Fatalf("%s %d: shared walker %q %q, fresh %q %q", c.path, c.row, keys(w, r), ids(w, r), ws, wp)
			}
		}
	}
	for p, n := range m.asked {
		if n != 1 {
			t.Errorf("artifact %s loaded %d times", p, n)
		}
	}
}

func TestWalkErrors(t *testing.T) {
	m := build(t)
	// counts claims to have read a file its reads do not list.
	bad := &lineage.Recorder{}
	bad.AddCell(lineage.Cell{Row: 0, Col: "n", Refs: []lineage.Ref{{Input: "out/elsewhere.csv", Row: 0}}})
	m.add(t, "out/bad.csv", "bad", nil, bad)
	// an output whose content has no record.
	stale := &lineage.Recorder{}
	stale.AddCell(lineage.Cell{Row: 0, Col: "n", Refs: []lineage.Ref{{Input: "out/mapped.csv", Row: 0}}})
	m.add(t, "out/stale.csv", "stale", []string{"out/mapped.csv"}, stale)
	m.arts["out/stale.csv"].Reads["out/mapped.csv"] = cache.Sum([]byte("other content"))
	for _, c := range []struct{ path, want string }{
		{"out/bad.csv", "out/bad.csv: lineage names out/elsewhere.csv, which node bad did not read"},
		{"out/stale.csv", "out/mapped.csv: no provenance record for the content that was read from it; run bethel make"},
	} {
		w := New(m)
		_, _, err := w.CellAt(c.path, cache.Sum([]byte(c.path)), 0, "n")
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: error %v, want %q", c.path, err, c.want)
		}
	}
}

// TestEagerAgrees: an eager walker (whole tables, with the dense shortcut
// for one-record-per-row tables) gives every cell the same sources,
// patches and chain as the lazy walk bethel why uses, on a table that has
// the dense shape and on one that does not (a row with two sources).
func TestEagerAgrees(t *testing.T) {
	cells := []struct {
		path string
		row  int
		col  string
	}{{"out/counts.csv", 0, "n"}, {"out/counts.csv", 1, "n"}, {"out/counts.csv", 2, "n"}, {"out/counts.csv", 3, "n"}, {"out/all.json", -1, "/n/0"}}
	for _, shape := range []string{"dense", "two sources in a row"} {
		t.Run(shape, func(t *testing.T) {
			mk := func() *memArtifacts {
				m := build(t)
				if shape != "dense" {
					mapped := &lineage.Recorder{}
					mapped.AddRow(lineage.Row{Sources: []lineage.Source{{File: "in/export.csv", Line: 2, Key: "R1"}, {File: "in/export.csv", Line: 3, Key: "R1b"}}})
					mapped.AddRow(lineage.Row{Sources: []lineage.Source{{File: "in/export.csv", Line: 4, Key: "R2"}}})
					mapped.AddRow(lineage.Row{Sources: []lineage.Source{{File: "in/export.csv", Line: 5, Key: "R3"}}})
					m.add(t, "out/mapped.csv", "map", []string{"in/export.csv"}, mapped)
				}
				return m
			}
			lazy, eager := New(mk()), New(mk())
			eager.Eager = true
			for _, c := range cells {
				h := cache.Sum([]byte(c.path))
				lr, _, err := lazy.CellAt(c.path, h, c.row, c.col)
				if err != nil {
					t.Fatal(err)
				}
				er, _, err := eager.CellAt(c.path, h, c.row, c.col)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(keys(lazy, lr), keys(eager, er)) || !reflect.DeepEqual(ids(lazy, lr), ids(eager, er)) {
					t.Errorf("%s %d: lazy %q %q, eager %q %q", c.path, c.row, keys(lazy, lr), ids(lazy, lr), keys(eager, er), ids(eager, er))
				}
				ln, en := nodes(lazy, lr), nodes(eager, er)
				slices.Sort(ln)
				slices.Sort(en)
				if !reflect.DeepEqual(ln, en) {
					t.Errorf("%s %d: chain lazy %q, eager %q", c.path, c.row, ln, en)
				}
			}
			a := eager.artIdx[artKey{"out/patched.csv", cache.Sum([]byte("out/patched.csv"))}]
			if got := a != nil && a.dense != nil; got != (shape == "dense") {
				t.Errorf("patched.csv dense = %v", got)
			}
		})
	}
}

// TestSourceIdentity: sources are found by file and line, but two records
// on one line (a hand-made lineage could say so) stay two.
func TestSourceIdentity(t *testing.T) {
	w := New(nil)
	a := w.source(Source{"in/x.csv", 2, "A"})
	b := w.source(Source{"in/x.csv", 2, "B"})
	c := w.source(Source{"in/y.csv", 2, "A"})
	if a == b || a == c || b == c {
		t.Fatalf("distinct sources share a number: %d %d %d", a, b, c)
	}
	if w.source(Source{"in/x.csv", 2, "A"}) != a || w.source(Source{"in/x.csv", 2, "B"}) != b {
		t.Fatal("the same source got a new number")
	}
	if got := w.Sources()[b]; got != (Source{"in/x.csv", 2, "B"}) {
		t.Fatalf("source %d is %+v", b, got)
	}
	// Lines no table holds are found by value.
	far := w.source(Source{"in/x.csv", 1 << 30, "Z"})
	if w.source(Source{"in/x.csv", 1 << 30, "Z"}) != far || w.source(Source{"in/x.csv", -1, "Z"}) == far {
		t.Fatal("a source on a far line was not found again, or matched another")
	}
}
