package lineage

import (
	"fmt"
	"math"
	"reflect"
	"testing"
)

func sampleRecorder() *Recorder {
	r := &Recorder{}
	for i := 0; i < 200; i++ {
		row := Row{Sources: []Source{{File: "inputs/registrations.csv", Line: i + 2, Key: fmt.Sprintf("R-%04d", 1000+i)}}}
		if i%50 == 0 {
			row.Patches = []Patch{{ID: fmt.Sprintf("p-%d", i), File: "patches/registrations/a.toml", Line: 3 + i, Fields: []string{"bethel", "member_type"}}}
		}
		if i%70 == 0 {
			row.Refs = []Ref{{Input: "out/x.csv", Row: i}}
		}
		switch i % 3 {
		case 1:
			// The compact forms read back as the general ones.
			r.AddSource(row.Sources[0])
		case 2:
			r.AddRef("out/y.csv", i)
		default:
			r.AddRow(row)
		}
	}
	// Cells out of order, with unsorted refs, to check that Encode sorts.
	r.AddCell(Cell{Row: 1, Col: "total", Derivation: "count of all", Fields: []string{"member_type"},
		Refs: []Ref{{Input: "b.csv", Row: 9}, {Input: "a.csv", Row: 7}, {Input: "a.csv", Row: 3}}})
	r.AddCell(Cell{Row: 0, Col: "daughters", Derivation: "count of daughters", Fields: []string{"bethel", "member_type"},
		Refs: []Ref{{Input: "a.csv", Row: 0}, {Input: "a.csv", Row: 100000}}})
	r.AddCell(Cell{Row: -1, Col: "/meals/vegan", Derivation: "count of vegan meals"})
	return r
}

func TestRoundTrip(t *testing.T) {
	rec := sampleRecorder()
	data := Encode(rec)
	tab, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if tab.NumRows() != rec.NumRows() || tab.NumCells() != len(rec.Cells) {
		t.Fatalf("rows %d cells %d, want %d %d", tab.NumRows(), tab.NumCells(), rec.NumRows(), len(rec.Cells))
	}
	for i := 0; i < rec.NumRows(); i++ {
		want := rec.Row(i)
		got, err := tab.Row(i)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row %d: got %+v want %+v", i, got, want)
		}
		// RowSimple agrees with Row on every shape.
		kind, src, ref, err := tab.RowSimple(i)
		if err != nil {
			t.Fatal(err)
		}
		oneSource := len(want.Sources) == 1 && len(want.Refs) == 0 && len(want.Patches) == 0
		oneRef := len(want.Sources) == 0 && len(want.Refs) == 1 && len(want.Patches) == 0
		switch {
		case oneSource && (kind != RowSource || src != want.Sources[0]),
			oneRef && (kind != RowRef || ref != want.Refs[0]),
			!oneSource && !oneRef && kind != RowOther:
			t.Fatalf("row %d: RowSimple says %d %+v %+v for %+v", i, kind, src, ref, want)
		}
	}
	if _, _, _, err := tab.RowSimple(rec.NumRows()); err == nil {
		t.Fatal("RowSimple accepted a row out of range")
	}
	c, ok, err := tab.Cell(1, "total")
	if err != nil || !ok {
		t.Fatalf("cell (1,total): ok=%v err=%v", ok, err)
	}
	wantRefs := []Ref{{Input: "a.csv", Row: 3}, {Input: "a.csv", Row: 7}, {Input: "b.csv", Row: 9}}
	if !reflect.DeepEqual(c.Refs, wantRefs) || c.Derivation != "count of all" {
		t.Fatalf("cell: %+v", c)
	}
	if _, ok, _ := tab.Cell(1, "nope"); ok {
		t.Fatal("found a cell that was never recorded")
	}
	j, ok, err := tab.Cell(-1, "/meals/vegan")
	if err != nil || !ok || j.Derivation != "count of vegan meals" || j.Refs != nil {
		t.Fatalf("json cell: %+v ok=%v err=%v", j, ok, err)
	}
	if _, err := tab.Row(rec.NumRows()); err == nil {
		t.Fatal("row out of range accepted")
	}
}

func TestCompactRows(t *testing.T) {
	// The compact form (Input, Rows) must read back exactly like the same
	// refs given one by one, sorted or not, alone or mixed with Refs.
	rows := []int{0, 3, 4, 90000}
	refs := []Ref{{Input: "a.csv", Row: 0}, {Input: "a.csv", Row: 3}, {Input: "a.csv", Row: 4}, {Input: "a.csv", Row: 90000}}
	for _, c := range []Cell{
		{Col: "n", Input: "a.csv", Rows: rows},
		{Col: "n", Input: "a.csv", Rows: []int{90000, 3, 0, 4}},
		{Col: "n", Input: "a.csv", Rows: []int{0, 4, 90000}, Refs: []Ref{{Input: "a.csv", Row: 3}}},
	} {
		compact := Encode(&Recorder{Cells: []Cell{c}})
		plain := Encode(&Recorder{Cells: []Cell{{Col: "n", Refs: refs}}})
		if string(compact) != string(plain) {
			t.Errorf("%+v: encodes differently from the same refs given one by one", c)
		}
		tab, err := Open(compact)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := tab.Cell(0, "n")
		// One input reads back in the compact form.
		if err != nil || !ok || !reflect.DeepEqual(got.AllRefs(), refs) || got.Refs != nil || got.Input != "a.csv" {
			t.Errorf("%+v: read back %+v ok=%v err=%v", c, got, ok, err)
		}
	}
}

func TestEncodeDeterministic(t *testing.T) {
	a := Encode(sampleRecorder())
	r := sampleRecorder()
	r.Cells[0], r.Cells[2] = r.Cells[2], r.Cells[0]
	b := Encode(r)
	if string(a) != string(b) {
		t.Fatal("encoding depends on the order cells were recorded in")
	}
}

func TestOpenRejectsCorrupt(t *testing.T) {
	data := Encode(sampleRecorder())
	for _, n := range []int{0, 3, 4, 10, len(data) / 2, len(data) - 1} {
		if _, err := Open(data[:n]); err == nil {
			// A truncation may still parse when it only cuts cell bytes
			// behind a valid header; it must then fail on access.
			tab, _ := Open(data[:n])
			for i := 0; i < tab.NumRows(); i++ {
				tab.Row(i)
			}
		}
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(Encode(sampleRecorder()))
	f.Add(Encode(&Recorder{}))
	f.Add([]byte("BLN1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := Open(data)
		if err != nil {
			return
		}
		for i := 0; i < tab.NumRows() && i < 1000; i++ {
			row, rerr := tab.Row(i)
			kind, src, ref, serr := tab.RowSimple(i)
			// Where both read a row, they agree.
			if rerr == nil && serr == nil {
				if kind == RowSource && (len(row.Sources) != 1 || row.Sources[0] != src || len(row.Refs)+len(row.Patches) != 0) ||
					kind == RowRef && (len(row.Refs) != 1 || row.Refs[0] != ref || len(row.Sources)+len(row.Patches) != 0) {
					t.Fatalf("row %d: RowSimple %d %+v %+v, Row %+v", i, kind, src, ref, row)
				}
			}
		}
		for i, c := range tab.Cells() {
			full, ok, err := tab.Cell(c.Row, c.Col)
			if j, found := tab.CellIndex(c.Row, c.Col); !found || tab.Cells()[j].Row != c.Row || tab.Cells()[j].Col != c.Col {
				t.Fatalf("cell %d (%d,%q): CellIndex %d %v", i, c.Row, c.Col, j, found)
			}
			checkCellAtIndex(t, tab, i, full, ok && err == nil)
		}
	})
}

// checkCellAtIndex checks that cell i read by CellAtIndex (and its rows
// by AppendRows) is the cell Cell read, when Cell could read it (ok).
func checkCellAtIndex(t *testing.T, tab *Table, i int, full Cell, ok bool) {
	t.Helper()
	head, rows, one, err := tab.CellAtIndex(i)
	if !ok {
		if err == nil && one {
			if _, rok := rows.AppendRows(nil); rok {
				// Cell failed on these rows, so AppendRows (which
				// refuses more) must too.
				t.Fatalf("cell %d: Cell failed, CellAtIndex and AppendRows read it", i)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("cell %d: Cell read it, CellAtIndex: %v", i, err)
	}
	if !one {
		if !reflect.DeepEqual(head, full) {
			t.Fatalf("cell %d: CellAtIndex %+v, Cell %+v", i, head, full)
		}
		return
	}
	got, rok := rows.AppendRows(nil)
	if !rok {
		for _, r := range full.Rows {
			if r > math.MaxInt32 {
				return // a row no table has: AppendRows may refuse it
			}
		}
		t.Fatalf("cell %d: AppendRows refused rows Cell read: %v", i, full.Rows)
	}
	head.Rows = make([]int, len(got))
	for k, r := range got {
		head.Rows[k] = int(r)
	}
	if len(head.Rows) == 0 {
		head.Rows = []int{}
	}
	if rows.Input != full.Input || rows.N != len(full.Rows) || !reflect.DeepEqual(head, full) {
		t.Fatalf("cell %d: CellAtIndex %+v (%s, %d rows), Cell %+v", i, head, rows.Input, rows.N, full)
	}
}

func TestCellAtIndex(t *testing.T) {
	rec := sampleRecorder()
	// Deltas of several bytes, a first row of 0, and two cells counting
	// the same rows of one input, which must encode their rows equally.
	rec.AddCell(Cell{Row: 2, Col: "n", Input: "a.csv", Rows: []int{0, 1, 200, 70000, 70001, 5000000}})
	rec.AddCell(Cell{Row: 3, Col: "n", Derivation: "other", Input: "a.csv", Rows: []int{0, 1, 200, 70000, 70001, 5000000}})
	tab, err := Open(Encode(rec))
	if err != nil {
		t.Fatal(err)
	}
	var enc [][]byte
	for i, c := range tab.Cells() {
		full, ok, err := tab.Cell(c.Row, c.Col)
		if err != nil || !ok {
			t.Fatalf("cell %d: %v %v", i, ok, err)
		}
		checkCellAtIndex(t, tab, i, full, true)
		if _, rows, one, _ := tab.CellAtIndex(i); one && c.Col == "n" {
			enc = append(enc, rows.Encoded())
		}
	}
	if len(enc) != 2 || string(enc[0]) != string(enc[1]) {
		t.Fatalf("two cells over the same rows: encoded rows %q", enc)
	}
	if _, _, _, err := tab.CellAtIndex(tab.NumCells()); err == nil {
		t.Fatal("CellAtIndex accepted a cell out of range")
	}
	if _, ok := tab.CellIndex(0, "nope"); ok {
		t.Fatal("CellIndex found a cell that was never recorded")
	}
}

func BenchmarkEncode100k(b *testing.B) {
	r := &Recorder{}
	for i := 0; i < 100000; i++ {
		r.AddRow(Row{Sources: []Source{{File: "inputs/registrations.csv", Line: i + 2, Key: fmt.Sprintf("R-%06d", i)}}})
	}
	all := make([]Ref, 100000)
	for i := range all {
		all[i] = Ref{Input: "out/private/registrations.csv", Row: i}
	}
	r.AddCell(Cell{Row: 0, Col: "total", Refs: all})
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(Encode(r))
	}
	b.ReportMetric(float64(n)/100000, "bytes/row")
}
