package cellref

import (
	"strconv"
	"strings"
	"testing"
)

const sampleCSV = "\xef\xbb\xbfbethel,bethel_name,daughters,total\n2,Twin Oaks,3,5\n12,Springfield,1\nTOTAL,,4,5\n"

func TestCSV(t *testing.T) {
	tests := []struct {
		name    string
		q       CSVQuery
		row     int
		col     string
		value   string // "<nil>" for a short row
		wantErr string
	}{
		{"by row", CSVQuery{Row: 2, Col: "daughters"}, 2, "daughters", "3", ""},
		{"by number", CSVQuery{Row: 4, Col: "4"}, 4, "total", "5", ""},
		{"by key", CSVQuery{Col: "daughters", KeyCol: "bethel", KeyVal: "12"}, 3, "daughters", "1", ""},
		{"short row", CSVQuery{Row: 3, Col: "total"}, 3, "total", "<nil>", ""},
		{"unknown column", CSVQuery{Row: 2, Col: "guests"}, 0, "", "", `t.csv: unknown column "guests"; columns: bethel, bethel_name, daughters, total`},
		{"column out of range", CSVQuery{Row: 2, Col: "9"}, 0, "", "", "t.csv: column 9 is out of range: the file has 4 columns"},
		{"unknown key column", CSVQuery{Col: "total", KeyCol: "city", KeyVal: "x"}, 0, "", "", `t.csv: unknown column "city"`},
		{"no such key", CSVQuery{Col: "total", KeyCol: "bethel", KeyVal: "99"}, 0, "", "", `t.csv: no row has bethel = "99"`},
		{"row out of range", CSVQuery{Row: 9, Col: "total"}, 0, "", "", "t.csv: row 9 is out of range: the data rows are 2 to 4 (row 1 is the header)"},
		{"header row", CSVQuery{Row: 1, Col: "total"}, 0, "", "", "t.csv: row 1 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := CSV("t.csv", []byte(sampleCSV), tt.q)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v := "<nil>"
			if c.Value != nil {
				v = *c.Value
			}
			if c.Row != tt.row || c.Column != tt.col || v != tt.value || c.LineageRow != tt.row-2 {
				t.Errorf("got %+v value %q", c, v)
			}
		})
	}
	if _, err := CSV("e.csv", nil, CSVQuery{Row: 2, Col: "a"}); err == nil || !strings.Contains(err.Error(), "e.csv: not a CSV file with a header") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := CSV("h.csv", []byte("a,b\n"), CSVQuery{Row: 2, Col: "a"}); err == nil || !strings.Contains(err.Error(), "the file has only its header") {
		t.Errorf("header only: %v", err)
	}
}

const sampleJSON = `{"attendance":[{"bethel":"2","daughters":3},{"bethel":"0","daughters":1}],"meals":[{"meal":"vegan","total":2}],"export":null,"n":1.50}`

func TestJSON(t *testing.T) {
	tests := []struct {
		ptr, col, value, wantErr string
	}{
		// "0" and "2" are rows' keys, so they name those rows; 1 is not,
		// so it is an index.
		{"/attendance/0/daughters", "/attendance/1/daughters", "1", ""},
		{"/attendance/2/daughters", "/attendance/0/daughters", "3", ""},
		{"/attendance/0", "", "", "is an object or array, not a value"},
		{"/attendance/1/daughters", "/attendance/1/daughters", "1", ""},
		{"/meals/vegan/total", "/meals/0/total", "2", ""},
		{"/export", "/export", "null", ""},
		{"/n", "/n", "1.50", ""},
		{"/meals/beef/total", "", "", `j.json: no value at /meals/beef/total ("beef" is neither an index below 1 nor a row's key at /meals)`},
		{"/nope", "", "", `j.json: no value at /nope (no key "nope" at /)`},
		{"/n/x", "", "", "j.json: no value at /n/x (/n is a single value)"},
		{"n", "", "", "is not a JSON pointer"},
	}
	for _, tt := range tests {
		t.Run(tt.ptr, func(t *testing.T) {
			c, err := JSON("j.json", []byte(sampleJSON), tt.ptr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Column != tt.col || c.Value == nil || *c.Value != tt.value || c.LineageRow != -1 {
				t.Errorf("got %+v", c)
			}
		})
	}
	if _, err := JSON("j.json", []byte("{"), "/a"); err == nil || !strings.Contains(err.Error(), "j.json: not a JSON document") {
		t.Errorf("bad JSON: %v", err)
	}
}

// FuzzCSV: any file and query either fail or name a cell inside the file.
func FuzzCSV(f *testing.F) {
	f.Add([]byte(sampleCSV), 2, "daughters", "", "")
	f.Add([]byte(sampleCSV), 0, "total", "bethel", "12")
	f.Add([]byte("a\n\"x"), 2, "1", "", "")
	f.Fuzz(func(t *testing.T, data []byte, row int, col, keyCol, keyVal string) {
		c, err := CSV("f.csv", data, CSVQuery{Row: row, Col: col, KeyCol: keyCol, KeyVal: keyVal})
		if err != nil {
			return
		}
		if c.Row < 2 || c.LineageRow != c.Row-2 || c.Column == "" && col != "" && !strings.ContainsAny(col, "0123456789") {
			t.Fatalf("cell %+v for row %d col %q", c, row, col)
		}
	})
}

// FuzzJSON: any document and pointer either fail or name a value whose
// canonical pointer finds it again.
func FuzzJSON(f *testing.F) {
	f.Add([]byte(sampleJSON), "/meals/vegan/total")
	f.Add([]byte(`[1,[2,{"a~/b":3}]]`), "/1/1/a~0~1b")
	f.Fuzz(func(t *testing.T, data []byte, ptr string) {
		c, err := JSON("f.json", data, ptr)
		if err != nil {
			return
		}
		again, err := JSON("f.json", data, c.Column)
		if err != nil {
			t.Fatalf("canonical pointer %q of %q: %v", c.Column, ptr, err)
		}
		if *again.Value != *c.Value {
			t.Fatalf("%q gives %q, its canonical %q gives %q", ptr, *c.Value, c.Column, *again.Value)
		}
	})
}

func TestA1(t *testing.T) {
	tests := []struct {
		ref      string
		row, col int
		ok       bool
	}{
		{"C3", 3, 3, true},
		{"a1", 1, 1, true},
		{"AA10", 10, 27, true},
		{"ZZZ2", 2, 18278, true},
		{"AAAA2", 0, 0, false},
		{"3C", 0, 0, false},
		{"C", 0, 0, false},
		{"C3x", 0, 0, false},
		{"", 0, 0, false},
		{"C-3", 0, 0, false},
	}
	for _, tt := range tests {
		row, col, ok := A1(tt.ref)
		if row != tt.row || col != tt.col || ok != tt.ok {
			t.Errorf("A1(%q) = %d, %d, %v; want %d, %d, %v", tt.ref, row, col, ok, tt.row, tt.col, tt.ok)
		}
	}
}

// FuzzA1: what A1 reads back writes the reference it was given: the
// column's letters (up to case) and the row's number.
func FuzzA1(f *testing.F) {
	f.Add("C3")
	f.Add("zz099")
	f.Fuzz(func(t *testing.T, ref string) {
		row, col, ok := A1(ref)
		if !ok {
			return
		}
		letters := ""
		for c := col; c > 0; c = (c - 1) / 26 {
			letters = string(rune('A'+(c-1)%26)) + letters
		}
		n, err := strconv.Atoi(ref[len(letters):])
		if !strings.EqualFold(letters, ref[:len(letters)]) || err != nil || n != row {
			t.Fatalf("A1(%q) = row %d, column %d (%s)", ref, row, col, letters)
		}
	})
}
