package site

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixture is a tiny hand-made event: two bethels, one meal table, three
// sessions, two patch files and the lineage of every count.
func fixture() *Site {
	att := "out/summary/attendance.csv"
	meals := "out/summary/meals.csv"
	member := []Col{{Name: "daughters", Label: "Daughters", Count: true, Numeric: true}, {Name: "adults", Label: "Adults", Count: true, Numeric: true},
		{Name: "guests", Label: "Guests", Count: true, Numeric: true}, {Name: "total", Label: "Total", Count: true, Numeric: true}}
	s := &Site{
		Title: "Little Bethel 2026", Export: "2026-05-02T10:00:00", ExportNote: "latest submitted_at in out/private/registrations.csv",
		Totals: []Total{{Name: "registrations", Label: "Registrations", Value: 5}, {Name: "daughters", Label: "Daughters", Value: 3},
			{Name: "adults", Label: "Adults", Value: 1}, {Name: "guests", Label: "Guests", Value: 1}, {Name: "bethels", Label: "Bethels represented", Value: 2}},
		Overview: []*Table{{ID: "meals", Heading: "Banquet meals", Caption: "Banquet meals by member type", Path: meals, Print: true, Chart: ChartStacked,
			Cols: append([]Col{{Name: "meal", Label: "Meal", Header: true}}, member...),
			Rows: []Row{{N: 1, Cells: []string{"chicken", "2", "1", "0", "3"}}, {N: 2, Cells: []string{"vegan <&>", "1", "0", "1", "2"}}}}},
		Bethels: &Table{ID: "attendance", Heading: "Attendance", Caption: "Active registrations by bethel", Path: att, Sortable: true, Print: true,
			Cols: append([]Col{{Name: "bethel", Label: "Bethel", Header: true, Numeric: true}, {Name: "bethel_name", Label: "Name"}, {Name: "city", Label: "City"}}, member...),
			Rows: []Row{{N: 1, Cells: []string{"2", "Twin Oaks", "Newfield", "2", "1", "0", "3"}}, {N: 2, Cells: []string{"12", "Elm", "Lake", "1", "0", "1", "2"}}},
			Foot: []Row{{N: 3, Cells: []string{"TOTAL", "", "", "3", "1", "1", "5"}}}},
		Extra: []*Table{{ID: "duplicates", Heading: "Possible duplicates", Caption: "Pairs", Path: "out/summary/duplicates.csv",
			Cols: []Col{{Name: "registration_id_a", Label: "A", Header: true}, {Name: "registration_id_b", Label: "B"}}, Empty: "No possible duplicates."}},
		Program: &Program{Event: "Little Bethel 2026", TimeZone: "America/Chicago", Path: "out/program/schedule.csv", ICS: "schedule.ics",
			Days:  []Day{{"Friday", "2026-06-12"}, {"Saturday", "2026-06-13"}},
			Rooms: []Room{{"Hall", 2}, {"Chapel", 10}},
			Sessions: []Session{
				{N: 1, ID: "S-1", Title: "Opening", Kind: "ceremony", Day: "Friday", Start: "09:00", End: "10:00", Room: "Hall", Capacity: 2, Bethels: "all", Expected: "5", OverCapacity: true},
				{N: 2, ID: "S-2", Title: "Choir", Day: "Friday", Start: "09:30", End: "10:30", Room: "Chapel", Capacity: 10, Bethels: "2", Expected: "3", Issues: []string{"bethel_double_booked"}, Patches: []string{"choir-moved"}},
				{N: 3, ID: "S-3", Title: "Closing", Day: "Saturday", Start: "15:00", End: "16:00", Room: "Hall", Capacity: 2, Bethels: "12", Expected: "2"}},
			Cancelled: []Session{{ID: "S-9", Title: "Picnic", Day: "Saturday", Start: "12:00", End: "13:00", Room: "Lawn", Patches: []string{"rain"}}},
			Issues:    []Issue{{"bethel_double_booked", "warning", "S-2", "S-1", "S-2 and S-1 both expect bethel 2"}}},
		Corrections: &Corrections{Source: "out/summary/patches.json", Counts: []string{"registrations: 6 records read, 5 active"},
			Files: []PatchFile{
				{File: "patches/registrations/10-fix.toml", Patches: []Patch{
					{ID: "typo-R-2", File: "patches/registrations/10-fix.toml", Line: 3, Target: "registrations", Kind: "set", Status: "applied", Reason: "Parent's email",
						Author: "Registrar", Date: "2026-04-02", Changes: []Change{{Key: "R-2", Op: "set", Field: "bethel", Old: "21", New: "12"}},
						Cells: []string{"out/summary/attendance.csv:2:daughters", "out/summary/attendance.csv:2:total"}},
					{ID: "walk-in", File: "patches/registrations/10-fix.toml", Line: 12, Target: "registrations", Kind: "add", Status: "applied", Reason: "At the door",
						Changes: []Change{{Key: "W-1", Op: "add", Field: "bethel", New: "2"}, {Key: "W-1", Op: "add", Field: "first_name", Withheld: true}}}}},
				{File: "patches/registrations/20-dup.toml", Patches: []Patch{
					{ID: "dup-R-9", File: "patches/registrations/20-dup.toml", Line: 1, Target: "registrations", Kind: "drop", Status: "orphan", Reason: "Duplicate",
						Message: "no record matches registration_id = R-9"}}},
			}},
		Nodes: []Node{
			{Name: "registrations", Stage: "registrations.normalize", Version: "1", Inputs: []string{"inputs/registrations.csv"}, Outputs: []string{"out/private/registrations.csv"}, Visibility: "private"},
			{Name: "attendance", Stage: "summary.attendance", Version: "1", Inputs: []string{"out/private/registrations.csv"}, Outputs: []string{att}, Visibility: "internal", Deps: []string{"registrations"}},
			{Name: "meals", Stage: "summary.meals", Version: "1", Inputs: []string{"out/private/registrations.csv"}, Outputs: []string{meals}, Visibility: "internal", Deps: []string{"registrations"}},
			{Name: "site", Stage: "site", Version: "1", Inputs: []string{att, meals}, Outputs: []string{"out/site/index.html"}, Visibility: "internal", Deps: []string{"attendance", "meals"}},
			{Name: "badges", Command: "python3 badges.py", Inputs: []string{"out/private/registrations.csv"}, Outputs: []string{"out/private/badges.txt"}, Visibility: "private", Deps: []string{"registrations"}},
		},
		Lineage: &Lineage{
			Sources: []Source{{"inputs/registrations.csv", 2, "R-1"}, {"inputs/registrations.csv", 3, "R-2"}, {"inputs/registrations.csv", 4, "R-3"},
				{"inputs/registrations.csv", 6, "R-5"}, {"patches/registrations/10-fix.toml", 12, "W-1"}},
			Patches: []PatchRef{{"typo-R-2", "patches/registrations/10-fix.toml", 3, "Parent's email"}, {"walk-in", "patches/registrations/10-fix.toml", 12, "At the door"}},
			Cells:   map[string]*Cell{},
		},
	}
	chain := []string{"registrations", "attendance"}
	add := func(path string, row int, col, v string, src, pat []int32) {
		s.Lineage.Cells[CellID(path, row, col)] = &Cell{Value: v, Derivation: "count of " + col, Fields: []string{"bethel", "member_type"}, Nodes: chain, Sources: src, Patches: pat}
	}
	add(att, 1, "daughters", "2", []int32{0, 4}, []int32{1})
	add(att, 1, "adults", "1", []int32{2}, nil)
	add(att, 1, "guests", "0", nil, nil)
	add(att, 1, "total", "3", []int32{0, 2, 4}, []int32{1})
	add(att, 2, "daughters", "1", []int32{1}, []int32{0})
	add(att, 2, "adults", "0", nil, nil)
	add(att, 2, "guests", "1", []int32{3}, nil)
	add(att, 2, "total", "2", []int32{1, 3}, []int32{0})
	add(att, 3, "daughters", "3", []int32{0, 1, 4}, []int32{0, 1})
	add(att, 3, "adults", "1", []int32{2}, nil)
	add(att, 3, "guests", "1", []int32{3}, nil)
	add(att, 3, "total", "5", []int32{0, 1, 2, 3, 4}, []int32{0, 1})
	chain = []string{"registrations", "meals"}
	add(meals, 1, "daughters", "2", []int32{0, 1}, []int32{0})
	add(meals, 1, "adults", "1", []int32{2}, nil)
	add(meals, 1, "guests", "0", nil, nil)
	add(meals, 1, "total", "3", []int32{0, 1, 2}, []int32{0})
	add(meals, 2, "daughters", "1", []int32{4}, []int32{1})
	add(meals, 2, "adults", "0", nil, nil)
	add(meals, 2, "guests", "1", []int32{3}, nil)
	add(meals, 2, "total", "2", []int32{3, 4}, []int32{1})
	chain = []string{"registrations", "program"}
	add("out/program/schedule.csv", 1, "expected", "5", []int32{0, 1, 2, 3, 4}, []int32{0, 1})
	add("out/program/schedule.csv", 2, "expected", "3", []int32{0, 2, 4}, []int32{1})
	add("out/program/schedule.csv", 3, "expected", "2", []int32{1, 3}, []int32{0})
	return s
}

func render(t *testing.T, s *Site) map[string][]byte {
	t.Helper()
	bufs := map[string]*bytes.Buffer{}
	err := Write(s, func(name string) (io.Writer, error) {
		bufs[name] = &bytes.Buffer{}
		return bufs[name], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for k, v := range bufs {
		out[k] = v.Bytes()
	}
	return out
}

// TestGolden renders the fixture and compares every file with
// testdata/golden/<name>; -update rewrites them.
func TestGolden(t *testing.T) {
	out := render(t, fixture())
	if len(out) != len(Files) {
		t.Fatalf("wrote %d files, want %d", len(out), len(Files))
	}
	for _, name := range Files {
		golden := filepath.Join("testdata", "golden", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, out[name], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./pkg/site -update)", err)
		}
		if !bytes.Equal(out[name], want) {
			t.Errorf("%s differs from %s; check the change, then go test ./pkg/site -run TestGolden -update", name, golden)
		}
	}
	again := render(t, fixture())
	for name, b := range out {
		if !bytes.Equal(b, again[name]) {
			t.Errorf("%s differs between two renders", name)
		}
	}
}

var (
	attrRE = regexp.MustCompile(`\s(href|src)="([^"]*)"`)
	idRE   = regexp.MustCompile(`\sid="([^"]*)"`)
)

// TestLinksResolve: every href and src of every golden page names a file
// of the site (or build.js, which the CLI writes, or the calendar the
// stage copies) and, with a fragment, an id on that page; nothing points
// outside the site.
func TestLinksResolve(t *testing.T) {
	s := fixture()
	out := render(t, s)
	ids := map[string]map[string]bool{}
	for name, b := range out {
		ids[name] = map[string]bool{}
		for _, m := range idRE.FindAllSubmatch(b, -1) {
			id := htmlUnescape(string(m[1]))
			if ids[name][id] {
				t.Errorf("%s: id %q used twice", name, id)
			}
			ids[name][id] = true
		}
	}
	extra := map[string]bool{BuildFile: true, s.Program.ICS: true}
	n := 0
	for _, name := range Files {
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		for _, m := range attrRE.FindAllSubmatch(out[name], -1) {
			n++
			link := htmlUnescape(string(m[2]))
			file, frag, _ := strings.Cut(link, "#")
			if strings.Contains(file, ":") || strings.HasPrefix(file, "//") || strings.HasPrefix(file, "/") {
				t.Errorf("%s: %s=%q leaves the site", name, m[1], link)
				continue
			}
			if file == "" {
				file = name
			}
			if _, ok := out[file]; !ok && !extra[file] {
				t.Errorf("%s: %s=%q: no such file in the site", name, m[1], link)
				continue
			}
			if frag != "" && !ids[file][frag] {
				t.Errorf("%s: %s=%q: no id %q in %s", name, m[1], link, frag, file)
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d links checked", n)
	}
}

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&#34;", `"`, "&quot;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&#43;", "+")
	return r.Replace(s)
}

// TestCountCells: every count of every table is a data-cell button with
// lineage, and the lineage decodes to the fixture's indexes.
func TestCountCells(t *testing.T) {
	s := fixture()
	out := render(t, s)
	cellRE := regexp.MustCompile(`<td class="count" data-cell="([^"]*)"><button type="button" class="why">([^<]*)</button></td>`)
	seen := map[string]bool{}
	for _, name := range Files {
		for _, m := range cellRE.FindAllSubmatch(out[name], -1) {
			id := htmlUnescape(string(m[1]))
			seen[id] = true
			c := s.Lineage.Cells[id]
			if c == nil {
				t.Errorf("%s: cell %s has no lineage", name, id)
				continue
			}
			if c.Value != string(m[2]) {
				t.Errorf("%s: cell %s shows %s, lineage says %s", name, id, m[2], c.Value)
			}
		}
		if n := strings.Count(string(out[name]), `class="count"`); n != len(cellRE.FindAll(out[name], -1)) {
			t.Errorf("%s: %d count cells, %d in the contract's form", name, n, len(cellRE.FindAll(out[name], -1)))
		}
	}
	for id := range s.Lineage.Cells {
		if !seen[id] {
			t.Errorf("lineage of %s, but no page shows it", id)
		}
	}
	lj := parseLineageJS(t, out[LineageFile])
	for id, c := range s.Lineage.Cells {
		enc, ok := lj.Cells[id]
		if !ok {
			t.Errorf("lineage.js lacks %s", id)
			continue
		}
		var si, pi int
		json.Unmarshal(enc[4], &si)
		json.Unmarshal(enc[5], &pi)
		if got := decodeSet(t, lj.Sets[si]); !sameInts(got, c.Sources) {
			t.Errorf("%s: sources decode to %v, want %v", id, got, c.Sources)
		}
		if got := decodeSet(t, lj.Sets[pi]); !sameInts(got, c.Patches) {
			t.Errorf("%s: patches decode to %v, want %v", id, got, c.Patches)
		}
	}
	// The source table decodes back to the fixture's sources.
	var got []Source
	for i, n := 0, 0; i < len(lj.Src.F); i += 2 {
		line := 0
		for j := 0; j < lj.Src.F[i+1]; j, n = j+1, n+1 {
			line += lj.Src.L[n]
			got = append(got, Source{lj.Files[lj.Src.F[i]], line, lj.Src.K[n]})
		}
	}
	if !reflect.DeepEqual(got, s.Lineage.Sources) {
		t.Errorf("sources decode to %v, want %v", got, s.Lineage.Sources)
	}
}

func parseLineageJS(t *testing.T, b []byte) *LineageJS {
	t.Helper()
	lj, err := ReadLineageJS(b)
	if err != nil {
		t.Fatalf("lineage.js is not one JSON assignment: %v", err)
	}
	return lj
}

// decodeSet decodes either form of a lineage.js set.
func decodeSet(t *testing.T, raw json.RawMessage) []int {
	t.Helper()
	out, err := DecodeSet(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameInts[T int | int32](a []int, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != int(b[i]) {
			return false
		}
	}
	return true
}

func TestRuns(t *testing.T) {
	for _, tc := range []struct {
		idx  []int
		want string
	}{
		{nil, ""},
		{[]int{0}, "1"},
		{[]int{0, 1, 2, 3}, "1,-3"},
		{[]int{5}, "6"},
		{[]int{0, 1, 2, 3, 10}, "1,-3,7"},
		{[]int{2, 4, 6}, "3,2,2"},
		{[]int{1, 2, 5, 6, 7, 100}, "2,-1,3,-2,93"},
	} {
		got := string(appendRuns(nil, tc.idx))
		if got != tc.want {
			t.Errorf("appendRuns(%v) = %q, want %q", tc.idx, got, tc.want)
		}
		var toks []int
		if got != "" {
			for _, f := range strings.Split(got, ",") {
				n, _ := strconv.Atoi(f)
				toks = append(toks, n)
			}
		}
		if back := decodeRuns(toks); !sameInts(back, tc.idx) {
			t.Errorf("decodeRuns(%q) = %v, want %v", got, back, tc.idx)
		}
	}
}

// TestSetForms: dense scattered sets become bitmaps, sparse and
// contiguous ones runs, and both decode back.
func TestSetForms(t *testing.T) {
	every := func(step, n int) []int {
		var out []int
		for i := 0; i < n; i += step {
			out = append(out, i)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		idx    []int
		bitmap bool
	}{
		{"empty", nil, false},
		{"contiguous", every(1, 5000), false},
		{"every other", every(2, 5000), true},
		{"sparse", every(97, 5000), false},
		{"one far", []int{4000}, false},
	} {
		raw := appendSet(nil, tc.idx)
		if isBitmap := raw[0] == '"'; isBitmap != tc.bitmap {
			t.Errorf("%s: bitmap %v, want %v (%d bytes)", tc.name, isBitmap, tc.bitmap, len(raw))
		}
		if got := decodeSet(t, raw); !sameInts(got, tc.idx) {
			t.Errorf("%s: decodes to %d indexes, want %d", tc.name, len(got), len(tc.idx))
		}
	}
}

// TestSetFormChoice: appendSet stops writing runs as soon as they are
// longer than the bitmap; its choice must stay the one a full comparison
// makes (runs unless strictly longer than the bitmap), also at the tie,
// since lineage.js must not change.
func TestSetFormChoice(t *testing.T) {
	full := func(idx []int) string {
		runs := "[" + string(appendRuns(nil, idx)) + "]"
		if len(idx) == 0 {
			return runs
		}
		bits := make([]byte, idx[len(idx)-1]/8+1)
		for _, i := range idx {
			bits[i/8] |= 1 << (i % 8)
		}
		bm := `"` + base64.StdEncoding.EncodeToString(bits) + `"`
		if len(bm) >= len(runs) {
			return runs
		}
		return bm
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ties := 0
	for n := 0; n < 4000; n++ {
		var idx []int
		size, p := 1+rng.IntN(300), rng.Float64()
		for i := 0; i < size; i++ {
			if rng.Float64() < p {
				idx = append(idx, i)
			}
		}
		want := full(idx)
		if got := string(appendSet(nil, idx)); got != want {
			t.Fatalf("appendSet(%v) = %s, want %s", idx, got, want)
		}
		if len(idx) > 0 {
			runs := len(appendRuns(nil, idx)) + 2
			if runs == base64.StdEncoding.EncodedLen(idx[len(idx)-1]/8+1)+2 {
				ties++
			}
		}
	}
	if ties == 0 {
		t.Error("no set had runs exactly as long as its bitmap: the tie is untested")
	}
}

func TestLayoutDAG(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes []Node
		want  [][]string
	}{
		{"chain", []Node{{Name: "a"}, {Name: "b", Deps: []string{"a"}}, {Name: "c", Deps: []string{"b"}}}, [][]string{{"a"}, {"b"}, {"c"}}},
		{"longest path", []Node{{Name: "a"}, {Name: "b", Deps: []string{"a"}}, {Name: "c", Deps: []string{"a", "b"}}}, [][]string{{"a"}, {"b"}, {"c"}}},
		{"unknown dep ignored", []Node{{Name: "a", Deps: []string{"zz"}}}, [][]string{{"a"}}},
		// y reads x2, so it moves next to it; z stays where it was.
		{"barycenter", []Node{{Name: "x1"}, {Name: "x2"}, {Name: "z", Deps: []string{"x1"}}, {Name: "y", Deps: []string{"x1"}}, {Name: "w", Deps: []string{"x2"}}},
			[][]string{{"x1", "x2"}, {"z", "y", "w"}}},
		{"crossing removed", []Node{{Name: "p"}, {Name: "q"}, {Name: "b", Deps: []string{"q"}}, {Name: "a", Deps: []string{"p"}}},
			[][]string{{"p", "q"}, {"a", "b"}}},
	} {
		got := layoutDAG(tc.nodes).order
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: layers %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(s *Site)
		want string
	}{
		{"duplicate table id", func(s *Site) { s.Extra[0].ID = "meals" }, "used twice"},
		{"source index out of range", func(s *Site) { s.Lineage.Cells["x"] = &Cell{Sources: []int32{99}} }, "out of range"},
		{"patch index out of range", func(s *Site) { s.Lineage.Cells["x"] = &Cell{Patches: []int32{-1}} }, "out of range"},
		{"unsorted", func(s *Site) { s.Lineage.Cells["x"] = &Cell{Sources: []int32{2, 1}} }, "ascending"},
		{"duplicate node", func(s *Site) { s.Nodes = append(s.Nodes, s.Nodes[0]) }, "twice"},
	} {
		s := fixture()
		tc.mod(s)
		err := Write(s, func(string) (io.Writer, error) { return io.Discard, nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestBeginFinish: a site whose lineage and patch cells are filled in
// between Begin and Finish (while the other pages render) is written byte
// for byte as Write writes the finished site, and a lineage that fails the
// check after Begin is refused by Finish.
func TestBeginFinish(t *testing.T) {
	want := render(t, fixture())
	s := fixture()
	lin := s.Lineage
	var cells [][]string
	for _, f := range s.Corrections.Files {
		for _, p := range f.Patches {
			cells = append(cells, p.Cells)
		}
	}
	s.Lineage = nil
	for i := range s.Corrections.Files {
		for j := range s.Corrections.Files[i].Patches {
			s.Corrections.Files[i].Patches[j].Cells = nil
		}
	}
	var mu sync.Mutex
	bufs := map[string]*bytes.Buffer{}
	w, err := Begin(s, func(name string) (io.Writer, error) {
		mu.Lock()
		defer mu.Unlock()
		bufs[name] = &bytes.Buffer{}
		return bufs[name], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Lineage = lin
	k := 0
	for i := range s.Corrections.Files {
		for j := range s.Corrections.Files[i].Patches {
			s.Corrections.Files[i].Patches[j].Cells = cells[k]
			k++
		}
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	for _, name := range Files {
		if !bytes.Equal(bufs[name].Bytes(), want[name]) {
			t.Errorf("%s: Begin and Finish wrote other bytes than Write", name)
		}
	}

	s = fixture()
	w, err = Begin(s, func(string) (io.Writer, error) { return io.Discard, nil })
	if err != nil {
		t.Fatal(err)
	}
	s.Lineage.Cells["x"] = &Cell{Sources: []int32{99}}
	if err := w.Finish(); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("Finish with a bad lineage: err = %v", err)
	}
}

// TestAccessibleMarkup spot-checks the accessibility contract on every
// page: language, skip link, one h1, scoped headers, captions.
func TestAccessibleMarkup(t *testing.T) {
	out := render(t, fixture())
	var pages []string
	for _, name := range Files {
		if strings.HasSuffix(name, ".html") {
			pages = append(pages, name)
		}
	}
	sort.Strings(pages)
	for _, name := range pages {
		h := string(out[name])
		for _, want := range []string{`<html lang="en">`, `<a class="skip" href="#main">`, `<main id="main">`, `<script src="build.js"></script>`} {
			if !strings.Contains(h, want) {
				t.Errorf("%s lacks %s", name, want)
			}
		}
		if n := strings.Count(h, "<h1"); n != 1 {
			t.Errorf("%s has %d h1", name, n)
		}
		if strings.Count(h, "<table") != strings.Count(h, "<caption>") {
			t.Errorf("%s: a table without a caption", name)
		}
		if strings.Contains(h, "<th>") {
			t.Errorf("%s: a th without scope", name)
		}
		if name != PipelinePage && strings.Count(h, `<section id="lineage" aria-live="polite"`) != 1 {
			t.Errorf("%s: want one lineage panel", name)
		}
	}
	if !strings.Contains(string(out[IndexPage]), `<dd data-total="registrations">5</dd>`) {
		t.Errorf("overview lacks the registrations total")
	}
	if !strings.Contains(string(out[PipelinePage]), `data-node-status="site"`) {
		t.Errorf("pipeline page lacks the site node's status element")
	}
}

func TestAppendInt(t *testing.T) {
	for _, v := range []int64{0, 1, 9, 10, 11, 42, 99, 100, 101, 999, 1000, 123456789, -1, -9, -10, -99, -100, -12345} {
		if got, want := string(appendInt([]byte("x"), v)), "x"+strconv.FormatInt(v, 10); got != want {
			t.Errorf("appendInt(%d) = %q, want %q", v, got, want)
		}
	}
}

// TestRowCells: rowCells writes exactly what the "cells" template writes
// for the same row, on cells holding every byte html/template escapes,
// other ASCII, multibyte and invalid UTF-8.
func TestRowCells(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "Z", "0", " ", "\x00", "\"", "&", "'", "+", "<", ">", "=", "`", "/", "\\", "\t", "\n", "é", "€", "\U0001F600", "\xff", "\xe2\x82", "\ufdd0", "\ufffe", "&amp;"}
	str := func() string {
		var b strings.Builder
		for n := rng.IntN(8); n > 0; n-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := 0; i < 300; i++ {
		tab := &Table{Path: "out/summary/" + str() + ".csv"}
		for c := rng.IntN(5) + 1; c > 0; c-- {
			col := Col{Name: str(), Header: rng.IntN(4) == 0, Count: rng.IntN(2) == 0, Numeric: rng.IntN(2) == 0}
			tab.Cols = append(tab.Cols, col)
		}
		row := Row{N: rng.IntN(100)}
		for c := rng.IntN(len(tab.Cols) + 2); c > 0; c-- {
			row.Cells = append(row.Cells, str())
		}
		var want bytes.Buffer
		if err := pages().ExecuteTemplate(&want, "cells", tableRow(tab, row)); err != nil {
			t.Fatal(err)
		}
		if got := string(rowCells(tab, row)); got != want.String() {
			t.Fatalf("row %q of %+v:\n got %q\nwant %q", row.Cells, tab.Cols, got, want.String())
		}
	}
}

// TestChangeItem: changeItem writes exactly what the "change" template
// writes, for every kind of change and values needing escapes.
func TestChangeItem(t *testing.T) {
	vals := []string{"", "R-1", "a+b <c> & \"d\" 'e'", "\x00\xff é", "bethel"}
	for _, op := range []string{"set", "add", "drop", "other"} {
		for _, withheld := range []bool{false, true} {
			for i, v := range vals {
				c := Change{Key: vals[(i+1)%len(vals)], Op: op, Field: v, Old: vals[(i+2)%len(vals)], New: vals[(i+3)%len(vals)], Withheld: withheld}
				var want bytes.Buffer
				if err := pages().ExecuteTemplate(&want, "change", c); err != nil {
					t.Fatal(err)
				}
				if got := string(changeItem(c)); got != want.String() {
					t.Errorf("%+v:\n got %q\nwant %q", c, got, want.String())
				}
			}
		}
	}
}
