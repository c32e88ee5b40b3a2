package lineage

import (
	"reflect"
	"testing"
)

// TestRecorderForms: rows recorded in each form read back as the general
// Row they stand for, before and after Grow, and a nil recorder (lineage
// off) takes every call.
func TestRecorderForms(t *testing.T) {
	general := Row{Refs: []Ref{{Input: "a.csv", Row: 3}, {Input: "b.csv", Row: 1}},
		Patches: []Patch{{ID: "p", File: "patches/x.toml", Line: 4, Fields: []string{"bethel"}}}}
	want := []Row{
		{Sources: []Source{{File: "inputs/r.csv", Line: 2, Key: "R-1"}}},
		{Refs: []Ref{{Input: "out/m.mapped", Row: 7}}},
		general,
		{Sources: []Source{{File: "inputs/r.csv", Line: 9, Key: "R-22"}}},
	}
	for _, grow := range []int{0, 1, 100} {
		r := &Recorder{}
		r.Grow(grow)
		r.AddSource(want[0].Sources[0])
		r.AddRef("out/m.mapped", 7)
		r.AddRow(general)
		r.AddSource(want[3].Sources[0])
		if r.NumRows() != len(want) {
			t.Fatalf("grow %d: %d rows", grow, r.NumRows())
		}
		for i, w := range want {
			if got := r.Row(i); !reflect.DeepEqual(got, w) {
				t.Errorf("grow %d: row %d = %+v, want %+v", grow, i, got, w)
			}
		}
		if kind, name, n, key := r.RowForm(3); kind != SourceRow || name != "inputs/r.csv" || n != 9 || string(key) != "R-22" {
			t.Errorf("RowForm(3) = %d %q %d %q", kind, name, n, key)
		}
		if kind, name, n, _ := r.RowForm(1); kind != RefRow || name != "out/m.mapped" || n != 7 {
			t.Errorf("RowForm(1) = %d %q %d", kind, name, n)
		}
	}
	var off *Recorder
	off.Grow(10)
	off.AddSource(Source{})
	off.AddRef("x", 1)
	off.AddRow(Row{})
	off.AddCell(Cell{})
}
