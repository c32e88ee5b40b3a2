package explain

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"bethel/pkg/lineage"
)

// memArtifacts is a build held in memory: each output's lineage is encoded
// and opened with the real codec, so the walk reads what a build stores.
type memArtifacts struct {
	arts    map[string]*Artifact
	reasons map[string]string
	asked   map[string]int // Artifact calls per path: the walker must load each once
}

func (m *memArtifacts) Artifact(path string, h [32]byte) (*Artifact, error) {
	m.asked[path]++
	a, ok := m.arts[path]
	if !ok || a.Hash != h {
		return nil, ErrNotFound
	}
	return a, nil
}

func (m *memArtifacts) IsOutput(path string) bool { _, ok := m.arts[path]; return ok }

func (m *memArtifacts) Reason(file, id string) string { return m.reasons[id] }

func (m *memArtifacts) add(t *testing.T, path, node string, reads []string, rec *lineage.Recorder) {
	a := &Artifact{Path: path, Hash: testSum([]byte(path)), Node: node, Stage: node + ".stage", Reads: map[string][32]byte{}}
	for _, r := range reads {
		a.Reads[r] = testSum([]byte(r))
	}
	if rec != nil {
		tab, err := lineage.Open(lineage.Encode(rec))
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
			h := testSum([]byte(c.path))
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
		r, _, err := w.CellAt(path, testSum([]byte(path)), row, col)
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
			r, _, err := w.CellAt(c.path, testSum([]byte(c.path)), c.row, col)
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
	m.arts["out/stale.csv"].Reads["out/mapped.csv"] = testSum([]byte("other content"))
	for _, c := range []struct{ path, want string }{
		{"out/bad.csv", "out/bad.csv: lineage names out/elsewhere.csv, which node bad did not read"},
		{"out/stale.csv", "out/mapped.csv: no provenance record for the content that was read from it; run bethel make"},
	} {
		w := New(m)
		_, _, err := w.CellAt(c.path, testSum([]byte(c.path)), 0, "n")
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
				h := testSum([]byte(c.path))
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
			a := eager.artIdx[artKey{"out/patched.csv", testSum([]byte("out/patched.csv"))}]
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
	src := func(s Source) int32 { return w.source(s.File, s.Line, []byte(s.Key)) }
	a := src(Source{"in/x.csv", 2, "A"})
	b := src(Source{"in/x.csv", 2, "B"})
	c := src(Source{"in/y.csv", 2, "A"})
	if a == b || a == c || b == c {
		t.Fatalf("distinct sources share a number: %d %d %d", a, b, c)
	}
	if src(Source{"in/x.csv", 2, "A"}) != a || src(Source{"in/x.csv", 2, "B"}) != b {
		t.Fatal("the same source got a new number")
	}
	if got := w.Sources()[b]; got != (Source{"in/x.csv", 2, "B"}) {
		t.Fatalf("source %d is %+v", b, got)
	}
	// Lines no table holds are found by value.
	far := src(Source{"in/x.csv", 1 << 30, "Z"})
	if src(Source{"in/x.csv", 1 << 30, "Z"}) != far || src(Source{"in/x.csv", -1, "Z"}) == far {
		t.Fatal("a source on a far line was not found again, or matched another")
	}
	// Sources grows with the table: numbers met after a first call are
	// listed by the next.
	d := src(Source{"in/z.csv", 7, "D"})
	if got := w.Sources(); len(got) != int(d)+1 || got[d] != (Source{"in/z.csv", 7, "D"}) || got[far] != (Source{"in/x.csv", 1 << 30, "Z"}) {
		t.Fatalf("Sources after more sources: %+v", got)
	}
}

// randomBuild is a larger build in build's shape, made from a seed: an
// export of n records (some rows with two sources when twoSources is set,
// which makes the patched table not dense), patched rows standing for
// export rows (some patched, some reading two rows, some added by a patch,
// some dropped), and two count tables and a JSON table over them, with
// cells that count the same rows, cells reading several inputs, rows
// counted twice, and empty cells.
func randomBuild(t *testing.T, seed uint64, n int, twoSources bool) (*memArtifacts, []string) {
	rng := rand.New(rand.NewPCG(seed, 7))
	m := &memArtifacts{arts: map[string]*Artifact{}, reasons: map[string]string{}, asked: map[string]int{}}
	mapped := &lineage.Recorder{}
	for i := 0; i < n; i++ {
		src := lineage.Source{File: "in/export.csv", Line: i + 2, Key: fmt.Sprintf("R%d", i)}
		switch {
		case twoSources && rng.IntN(20) == 0:
			mapped.AddRow(lineage.Row{Sources: []lineage.Source{src, {File: "in/extra.csv", Line: 2 + rng.IntN(n), Key: fmt.Sprintf("X%d", i)}}})
		case rng.IntN(30) == 0:
			mapped.AddRow(lineage.Row{Sources: []lineage.Source{src}})
		default:
			mapped.AddSource(src)
		}
	}
	m.add(t, "out/mapped.csv", "map", []string{"in/export.csv", "in/extra.csv"}, mapped)
	fieldSets := [][]string{nil, {"bethel"}, {"member_type"}, {"bethel", "days"}}
	patched := &lineage.Recorder{}
	np := 0
	for i := 0; i < n; i++ {
		if rng.IntN(25) == 0 {
			continue // dropped
		}
		switch k := rng.IntN(40); {
		case k == 0: // added by a patch: no export line
			id := fmt.Sprintf("add-%d", i)
			patched.AddRow(lineage.Row{Sources: []lineage.Source{{File: "patches/b.toml", Line: 5 + i, Key: "W" + id}},
				Patches: []lineage.Patch{{ID: id, File: "patches/b.toml", Line: 5 + i}}})
		case k < 4:
			// A patch sets the same fields on every record it matches.
			k := rng.IntN(n/5 + 1)
			patched.AddRow(lineage.Row{Refs: []lineage.Ref{{Input: "out/mapped.csv", Row: i}},
				Patches: []lineage.Patch{{ID: fmt.Sprintf("set-%d", k), File: "patches/a.toml", Line: 3 + k, Fields: fieldSets[1+k%3]}}})
		case k == 4 && i+1 < n && twoSources: // a merged record: two export rows
			patched.AddRow(lineage.Row{Refs: []lineage.Ref{{Input: "out/mapped.csv", Row: i}, {Input: "out/mapped.csv", Row: i + 1}}})
		default:
			patched.AddRef("out/mapped.csv", i)
		}
		np++
	}
	m.add(t, "out/patched.csv", "patch", []string{"out/mapped.csv", "patches/a.toml", "patches/b.toml"}, patched)
	subset := func(p float64) []int {
		var rows []int
		for r := 0; r < np; r++ {
			if rng.Float64() < p {
				rows = append(rows, r)
			}
		}
		return rows
	}
	var shared [][]int
	counts := func(path, node string) {
		rec := &lineage.Recorder{}
		for row := 0; row < 12; row++ {
			for _, col := range []string{"a", "b", "total"} {
				c := lineage.Cell{Row: row, Col: col, Derivation: "count " + col, Fields: fieldSets[rng.IntN(len(fieldSets))], Input: "out/patched.csv"}
				switch k := rng.IntN(10); {
				case k < 3 && len(shared) > 0:
					c.Rows = shared[rng.IntN(len(shared))]
				case k == 3:
					c.Rows = nil // empty
				case k == 4:
					c.Refs = []lineage.Ref{{Input: "out/mapped.csv", Row: rng.IntN(n)}, {Input: "out/patched.csv", Row: rng.IntN(np)}}
				case k == 5 && np > 1:
					c.Rows = []int{0, 0, 1} // a row counted twice
				default:
					c.Rows = subset([]float64{0.01, 0.3, 0.9, 1}[rng.IntN(4)])
					shared = append(shared, c.Rows)
				}
				rec.AddCell(c)
			}
		}
		m.add(t, path, node, []string{"out/patched.csv", "out/mapped.csv"}, rec)
	}
	counts("out/counts.csv", "counts")
	counts("out/more.csv", "more")
	js := &lineage.Recorder{}
	for i := 0; i < 5; i++ {
		js.AddCell(lineage.Cell{Row: -1, Col: fmt.Sprintf("/n/%d", i), Derivation: "copy", Fields: []string{"a"},
			Refs: []lineage.Ref{{Input: "out/counts.csv", Row: rng.IntN(12)}}})
	}
	m.add(t, "out/all.json", "json", []string{"out/counts.csv"}, js)
	return m, []string{"out/counts.csv", "out/more.csv", "out/all.json"}
}

// flatten writes an Explained out with its indexes resolved, so that two
// answers compare whatever the numbering inside them.
func flatten(ex *Explained) []string {
	var out []string
	for _, a := range ex.Artifacts {
		for _, c := range a.Cells {
			var b strings.Builder
			fmt.Fprintf(&b, "%s %d %s %q %q %q:", a.Path, c.Row, c.Col, c.Derivation, c.Fields, c.Nodes)
			for _, s := range c.Sources {
				x := ex.Sources[s]
				fmt.Fprintf(&b, " %s:%d:%s", x.File, x.Line, x.Key)
			}
			b.WriteString(" |")
			for _, p := range c.Patches {
				b.WriteString(" " + ex.Patches[p].ID)
			}
			out = append(out, b.String())
		}
	}
	return out
}

// TestExplainAgrees: the eager Explain (dense sets shared between cells,
// rows resolved in bulk) answers exactly what the lazy walk answers, down
// to the numbering of the tables, on random builds with and without the
// dense shape, and whether or not some cells were asked for before.
func TestExplainAgrees(t *testing.T) {
	order := map[string]int{"map": 0, "patch": 1, "counts": 2, "more": 3, "json": 4}
	for seed := uint64(1); seed <= 12; seed++ {
		for _, twoSources := range []bool{false, true} {
			explainWith := func(eager, askFirst bool) (*Explained, *Walker) {
				m, paths := randomBuild(t, seed, 300+int(seed)*40, twoSources)
				w := New(m)
				w.Eager = eager
				if askFirst {
					for _, row := range []int{1, 3, 5} {
						if _, _, err := w.CellAt("out/more.csv", testSum([]byte("out/more.csv")), row, "total"); err != nil {
							t.Fatal(err)
						}
					}
				}
				var arts []*Artifact
				for _, p := range paths {
					a, err := w.Artifact(p, testSum([]byte(p)))
					if err != nil {
						t.Fatal(err)
					}
					arts = append(arts, a)
				}
				ex, err := w.Explain(arts, func(n string) int { return order[n] })
				if err != nil {
					t.Fatal(err)
				}
				return ex, w
			}
			want, _ := explainWith(false, false)
			for _, v := range []struct{ eager, askFirst bool }{{true, false}, {true, true}, {false, true}} {
				got, w := explainWith(v.eager, v.askFirst)
				if !reflect.DeepEqual(got.Sources, want.Sources) || !reflect.DeepEqual(got.Patches, want.Patches) {
					t.Fatalf("seed %d two sources %v %+v: tables differ: %d sources, %d patches; want %d, %d",
						seed, twoSources, v, len(got.Sources), len(got.Patches), len(want.Sources), len(want.Patches))
				}
				g, wa := flatten(got), flatten(want)
				for i := range wa {
					if i >= len(g) || g[i] != wa[i] {
						gf, wf := strings.Fields(g[i]), strings.Fields(wa[i])
						k := 0
						for k < len(gf) && k < len(wf) && gf[k] == wf[k] {
							k++
						}
						t.Fatalf("seed %d two sources %v %+v: cell %d differs at item %d:\n got %q\nwant %q", seed, twoSources, v, i, k, gf[k:min(k+5, len(gf))], wf[k:min(k+5, len(wf))])
					}
				}
				if len(g) != len(wa) {
					t.Fatalf("seed %d: %d cells, want %d", seed, len(g), len(wa))
				}
				if v.eager {
					x := w.artIdx[artKey{"out/patched.csv", testSum([]byte("out/patched.csv"))}]
					if (x.dense != nil) == twoSources {
						t.Errorf("seed %d two sources %v: patched.csv dense = %v", seed, twoSources, x.dense != nil)
					}
				}
			}
		}
	}
}

// testSum names test content: any hash does, the walk only compares them.
func testSum(b []byte) [32]byte { return sha256.Sum256(b) }
