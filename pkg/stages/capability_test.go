package stages

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"bethel/pkg/stage"
)

// TestCapabilities checks what the built-in stages declare to the CLI:
// which cell of which CSV a workbook cell shows, and which columns of an
// export no field claims.
func TestCapabilities(t *testing.T) {
	reg := Registry()
	st, _ := reg.Lookup("xlsx.workbook")
	cm, ok := st.(stage.CellMapper)
	if !ok {
		t.Fatal("xlsx.workbook is not a stage.CellMapper")
	}
	for _, tc := range []struct {
		name   string
		params map[string]any
		sheet  string
		want   stage.CellRef
		err    string
	}{
		{name: "named sheet", params: map[string]any{"sheets": map[string]any{"out/summary/meals.csv": "Meals"}},
			sheet: "meals", want: stage.CellRef{Path: "out/summary/meals.csv", Row: 3, Col: 2}},
		{name: "unknown sheet", sheet: "Nope", err: `no sheet "Nope"`},
		{name: "split workbook", params: map[string]any{"split_by": "bethel"}, sheet: "12", err: "split_by takes one .csv input, have 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &stage.Run{Node: "workbook", Params: tc.params,
				Inputs: []string{"out/summary/attendance.csv", "out/summary/meals.csv"}}
			got, err := cm.MapCell(r, "out/summary/summary.xlsx", tc.sheet, 3, 2)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("MapCell: %v, want an error with %q", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case got != tc.want:
				t.Fatalf("MapCell = %+v, want %+v", got, tc.want)
			}
		})
	}

	// A workbook split by a column: a sheet per value, its rows in the
	// CSV's order.
	split := &stage.Run{Node: "workbook", Params: map[string]any{"split_by": "bethel"}, Inputs: []string{"out/r.csv"},
		FS: fstest.MapFS{"out/r.csv": {Data: []byte("bethel,bethel_name,id\n2,Two,a\n4,Four,b\n2,Two,c\n4,Four,d\n")}}}
	if got, err := cm.MapCell(split, "out/r.xlsx", "4 four", 3, 3); err != nil || got != (stage.CellRef{Path: "out/r.csv", Row: 5, Col: 3}) {
		t.Fatalf("split sheet 4 Four row 3: %+v, %v; want out/r.csv row 5", got, err)
	}
	if _, err := cm.MapCell(split, "out/r.xlsx", "2 Two", 4, 3); err == nil || !strings.Contains(err.Error(), "sheet 2 Two has 2 data rows (rows 2 to 3)") {
		t.Fatalf("a row past the sheet: %v", err)
	}

	fsys := fstest.MapFS{
		"config/fields.toml": {Data: []byte(`primaryKey = "registration_id"
[[fields]]
name = "registration_id"
headers = ["Registration ID"]
`)},
		"inputs/registrations.csv": {Data: []byte("Registration ID,Favourite Colour\nR-1,blue\n")},
	}
	for _, name := range []string{"registrations.map", "registrations.normalize"} {
		st, _ := reg.Lookup(name)
		er, ok := st.(stage.ExportReader)
		if !ok {
			t.Fatalf("%s is not a stage.ExportReader", name)
		}
		r := &stage.Run{Node: "registrations", Fields: "config/fields.toml", FS: fs.FS(fsys),
			Inputs: []string{"inputs/registrations.csv", "config/fields.toml"}}
		got, err := er.ExtraColumns(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := []stage.ExtraColumns{{Export: "inputs/registrations.csv", Columns: []string{"Favourite Colour"}}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: ExtraColumns = %+v, want %+v", name, got, want)
		}
	}
}
