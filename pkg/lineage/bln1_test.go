package lineage

import (
	"os"
	"reflect"
	"testing"
)

// TestReadBLN1: a lineage blob in the first format (BLN1, record keys in
// a shared string table), as the encoder of that version wrote it
// (testdata/bln1.blob, made by the encoder at the commit before BLN2 from
// the recorder below), still reads: cache entries and provenance records
// written by an older bethel stay explainable.
func TestReadBLN1(t *testing.T) {
	data, err := os.ReadFile("testdata/bln1.blob")
	if err != nil {
		t.Fatal(err)
	}
	if string(data[:4]) != "BLN1" {
		t.Fatalf("fixture starts with %q", data[:4])
	}
	tb, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []Row{
		{Sources: []Source{{File: "inputs/registrations.csv", Line: 2, Key: "R-1001"}}},
		{Sources: []Source{{File: "inputs/registrations.csv", Line: 5, Key: "R-1004"}},
			Patches: []Patch{{ID: "bethel-typo", File: "patches/registrations/10.toml", Line: 3, Fields: []string{"bethel"}}}},
		{Sources: []Source{{File: "patches/registrations/30.toml", Line: 1, Key: "W-1"}},
			Patches: []Patch{{ID: "walk-in", File: "patches/registrations/30.toml", Line: 1}}},
		{Refs: []Ref{{Input: "out/private/registrations.mapped", Row: 7}}},
	}
	if tb.NumRows() != len(wantRows) {
		t.Fatalf("%d rows, want %d", tb.NumRows(), len(wantRows))
	}
	for i, want := range wantRows {
		got, err := tb.Row(i)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %d: %+v, want %+v", i, got, want)
		}
	}
	c, ok, err := tb.Cell(0, "daughters")
	if err != nil || !ok {
		t.Fatalf("cell 0/daughters: %v %v", ok, err)
	}
	if c.Derivation != "count of active registrations with bethel = 12 and member_type = daughter" ||
		!reflect.DeepEqual(c.Fields, []string{"bethel", "member_type"}) ||
		!reflect.DeepEqual(c.AllRefs(), []Ref{{Input: "out/private/registrations.csv", Row: 0}, {Input: "out/private/registrations.csv", Row: 1}, {Input: "out/private/registrations.csv", Row: 3}}) {
		t.Errorf("cell 0/daughters: %+v", c)
	}
	j, ok, err := tb.Cell(-1, "/meals/vegan")
	if err != nil || !ok || j.Derivation != "copied" || !reflect.DeepEqual(j.AllRefs(), []Ref{{Input: "out/summary/meals.csv", Row: 2}}) {
		t.Errorf("cell /meals/vegan: %+v %v %v", j, ok, err)
	}
}
