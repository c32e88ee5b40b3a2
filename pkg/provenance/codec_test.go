package provenance

import (
	"fmt"
	"reflect"
	"testing"

	"bethel/pkg/lineage"
)

func sampleRecorder() *lineage.Recorder {
	r := &lineage.Recorder{}
	for i := 0; i < 200; i++ {
		row := lineage.Row{Sources: []lineage.Source{{File: "inputs/registrations.csv", Line: i + 2, Key: fmt.Sprintf("R-%04d", 1000+i)}}}
		if i%50 == 0 {
			row.Patches = []lineage.Patch{{ID: fmt.Sprintf("p-%d", i), File: "patches/registrations/a.toml", Line: 3 + i, Fields: []string{"bethel", "member_type"}}}
		}
		if i%70 == 0 {
			row.Refs = []lineage.Ref{{Input: "out/x.csv", Row: i}}
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
	r.AddCell(lineage.Cell{Row: 1, Col: "total", Derivation: "count of all", Fields: []string{"member_type"},
		Refs: []lineage.Ref{{Input: "b.csv", Row: 9}, {Input: "a.csv", Row: 7}, {Input: "a.csv", Row: 3}}})
	r.AddCell(lineage.Cell{Row: 0, Col: "daughters", Derivation: "count of daughters", Fields: []string{"bethel", "member_type"},
		Refs: []lineage.Ref{{Input: "a.csv", Row: 0}, {Input: "a.csv", Row: 100000}}})
	r.AddCell(lineage.Cell{Row: -1, Col: "/meals/vegan", Derivation: "count of vegan meals"})
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
	wantRefs := []lineage.Ref{{Input: "a.csv", Row: 3}, {Input: "a.csv", Row: 7}, {Input: "b.csv", Row: 9}}
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
	refs := []lineage.Ref{{Input: "a.csv", Row: 0}, {Input: "a.csv", Row: 3}, {Input: "a.csv", Row: 4}, {Input: "a.csv", Row: 90000}}
	for _, c := range []lineage.Cell{
		{Col: "n", Input: "a.csv", Rows: rows},
		{Col: "n", Input: "a.csv", Rows: []int{90000, 3, 0, 4}},
		{Col: "n", Input: "a.csv", Rows: []int{0, 4, 90000}, Refs: []lineage.Ref{{Input: "a.csv", Row: 3}}},
	} {
		compact := Encode(&lineage.Recorder{Cells: []lineage.Cell{c}})
		plain := Encode(&lineage.Recorder{Cells: []lineage.Cell{{Col: "n", Refs: refs}}})
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
	f.Add(Encode(&lineage.Recorder{}))
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
		for _, c := range tab.Cells() {
			tab.Cell(c.Row, c.Col)
		}
	})
}

func BenchmarkEncode100k(b *testing.B) {
	r := &lineage.Recorder{}
	for i := 0; i < 100000; i++ {
		r.AddRow(lineage.Row{Sources: []lineage.Source{{File: "inputs/registrations.csv", Line: i + 2, Key: fmt.Sprintf("R-%06d", i)}}})
	}
	all := make([]lineage.Ref, 100000)
	for i := range all {
		all[i] = lineage.Ref{Input: "out/private/registrations.csv", Row: i}
	}
	r.AddCell(lineage.Cell{Row: 0, Col: "total", Refs: all})
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(Encode(r))
	}
	b.ReportMetric(float64(n)/100000, "bytes/row")
}
