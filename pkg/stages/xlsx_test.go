package stages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"bethel/pkg/csvio"
)

// readWorkbookPy dumps a workbook as JSON with openpyxl, a spreadsheet
// reader written independently of pkg/xlsxw: every sheet's name, frozen
// cell, filter range and cells with the type the reader gives them.
const readWorkbookPy = `
import json, sys, datetime, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = []
for ws in wb.worksheets:
    rows = []
    for row in ws.iter_rows():
        cells = []
        for c in row:
            v = c.value
            if v is None:
                cells.append({"t": "blank"})
            elif isinstance(v, bool):
                cells.append({"t": "bool", "v": str(v)})
            elif isinstance(v, int):
                cells.append({"t": "int", "v": str(v)})
            elif isinstance(v, float):
                cells.append({"t": "float", "v": repr(v)})
            elif isinstance(v, datetime.datetime):
                cells.append({"t": "datetime", "v": v.isoformat()})
            elif isinstance(v, datetime.time):
                cells.append({"t": "time", "v": v.isoformat()})
            else:
                cells.append({"t": "str", "v": str(v)})
        rows.append(cells)
    out.append({"name": ws.title, "freeze": ws.freeze_panes, "filter": ws.auto_filter.ref, "rows": rows})
json.dump(out, sys.stdout)
`

type pyCell struct{ T, V string }

type pySheet struct {
	Name   string
	Freeze *string
	Filter *string
	Rows   [][]pyCell
}

// spreadsheetReader finds a python3 that has openpyxl (Debian's
// python3-openpyxl, which scripts/test-deps.sh installs).
func spreadsheetReader(t *testing.T) string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import openpyxl").Run() == nil {
			return py
		}
	}
	if os.Getenv("BETHEL_SKIP_XLSX_READER") == "1" {
		t.Skip("BETHEL_SKIP_XLSX_READER=1 and no python3 with openpyxl: the workbook is not read by a spreadsheet reader")
	}
	t.Fatal("no python3 with openpyxl to read the workbooks (Debian: apt-get install python3-openpyxl, as scripts/test-deps.sh does; or BETHEL_SKIP_XLSX_READER=1)")
	return ""
}

func readWorkbook(t *testing.T, data []byte) []pySheet {
	py := spreadsheetReader(t)
	file := filepath.Join(t.TempDir(), "w.xlsx")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", readWorkbookPy, file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openpyxl: %v\n%s", err, stderr.String())
	}
	var sheets []pySheet
	if err := json.Unmarshal(out, &sheets); err != nil {
		t.Fatal(err)
	}
	return sheets
}

// TestSummaryWorkbookRead builds the sample event, opens summary.xlsx with
// a real spreadsheet reader and checks every sheet against the CSV it came
// from: readable headers, every number a number equal to the CSV's, the
// program's times date-time cells holding the event's wall-clock time,
// text equal, the header frozen and filtered.
func TestSummaryWorkbookRead(t *testing.T) {
	b := buildWorkspace(t, repoRoot(t))
	sheets := readWorkbook(t, b.outputs["out/summary/summary.xlsx"])
	want := []struct{ name, csv string }{
		{"Attendance", "out/summary/attendance.csv"}, {"Meals", "out/summary/meals.csv"},
		{"T-shirts", "out/summary/tshirts.csv"}, {"Days", "out/summary/days.csv"},
		{"Housing", "out/summary/housing.csv"}, {"Dietary", "out/summary/dietary.csv"},
		{"Duplicates", "out/summary/duplicates.csv"}, {"Program", "out/program/schedule.csv"},
		{"Program issues", "out/program/issues.csv"},
	}
	if len(sheets) != len(want) {
		t.Fatalf("%d sheets, want %d", len(sheets), len(want))
	}
	numbers := 0
	for i, w := range want {
		s := sheets[i]
		if s.Name != w.name {
			t.Errorf("sheet %d is %q, want %q", i+1, s.Name, w.name)
		}
		header, rows, err := csvio.ReadAll(bytes.NewReader(b.outputs[w.csv]), w.csv)
		if err != nil {
			t.Fatal(err)
		}
		if s.Freeze == nil || *s.Freeze != "A2" {
			t.Errorf("%s: frozen at %v, want the header row (A2)", s.Name, s.Freeze)
		}
		if s.Filter == nil || !strings.HasPrefix(strings.ReplaceAll(*s.Filter, "$", ""), "A1:") {
			f := "none"
			if s.Filter != nil {
				f = *s.Filter
			}
			t.Errorf("%s: filter %s, want one from A1", s.Name, f)
		}
		if len(s.Rows) != len(rows)+1 {
			t.Fatalf("%s: %d rows, want the header and %d", s.Name, len(s.Rows), len(rows))
		}
		for c, h := range header {
			if got := s.Rows[0][c]; got.T != "str" || got.V != readableHeader(h) {
				t.Errorf("%s: header %d is %+v, want %q", s.Name, c+1, got, readableHeader(h))
			}
		}
		// A column is numbers when every cell of it is one (bethel numbers
		// above a TOTAL row are codes, and stay text).
		numeric := make([]bool, len(header))
		for c := range header {
			numeric[c] = true
			for _, row := range rows {
				if v := cell(row, c); v != "" && !intRE().MatchString(v) {
					numeric[c] = false
				}
			}
		}
		for r, row := range rows {
			for c := range header {
				v, got := cell(row, c), s.Rows[r+1][c]
				switch {
				case v == "":
					if got.T != "blank" {
						t.Errorf("%s!%s%d: %+v, want blank", s.Name, colName(c), r+2, got)
					}
				case numeric[c]:
					numbers++
					if got.T != "int" || got.V != v {
						t.Errorf("%s!%s%d: %+v, want the number %s", s.Name, colName(c), r+2, got, v)
					}
				case dateRE().MatchString(v):
					if got.T != "datetime" || got.V != v+"T00:00:00" {
						t.Errorf("%s!%s%d: %+v, want the date %s", s.Name, colName(c), r+2, got, v)
					}
				case clockRE().MatchString(v):
					// A float day fraction may read back a second off: compare minutes.
					if got.T != "time" || !strings.HasPrefix(got.V, v) {
						t.Errorf("%s!%s%d: %+v, want the time %s", s.Name, colName(c), r+2, got, v)
					}
				case strings.Contains(v, "T") && len(v) == 25:
					// 2026-06-12T06:45:00-05:00: the wall-clock time, no zone.
					if got.T != "datetime" || got.V != v[:19] {
						t.Errorf("%s!%s%d: %+v, want the date-time %s", s.Name, colName(c), r+2, got, v[:19])
					}
				default:
					if got.T != "str" || got.V != v {
						t.Errorf("%s!%s%d: %+v, want the text %q", s.Name, colName(c), r+2, got, v)
					}
				}
			}
		}
	}
	if numbers < 100 {
		t.Errorf("only %d number cells compared", numbers)
	}
}

// TestRosterWorkbookRead opens roster.xlsx with a real reader: a sheet per
// bethel, in roster order, every row of roster.csv once, every cell text as
// written (phones stay phones).
func TestRosterWorkbookRead(t *testing.T) {
	b := buildWorkspace(t, repoRoot(t))
	sheets := readWorkbook(t, b.outputs["out/private/roster.xlsx"])
	header, rows, err := csvio.ReadAll(bytes.NewReader(b.outputs["out/private/roster.csv"]), "roster.csv")
	if err != nil {
		t.Fatal(err)
	}
	r := 0
	for _, s := range sheets {
		if len(s.Rows) < 2 {
			t.Fatalf("sheet %q has no rows", s.Name)
		}
		for _, got := range s.Rows[1:] {
			row := rows[r]
			r++
			if !strings.HasPrefix(s.Name, row[0]+" ") {
				t.Errorf("sheet %q holds a row of bethel %s", s.Name, row[0])
			}
			for c := range header {
				v := cell(row, c)
				if v == "" && got[c].T != "blank" || v != "" && (got[c].T != "str" || got[c].V != v) {
					t.Errorf("%s row of %s: %s is %+v, want the text %q", s.Name, row[2], header[c], got[c], v)
				}
			}
		}
	}
	if r != len(rows) {
		t.Errorf("the sheets hold %d rows, roster.csv %d", r, len(rows))
	}
}

// cell is row's field i, or blank past its end.
func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

func colName(c int) string {
	if c < 26 {
		return string(rune('A' + c))
	}
	return strconv.Itoa(c + 1)
}

// TestReadableHeader checks the header spellings.
func TestReadableHeader(t *testing.T) {
	for in, want := range map[string]string{
		"bethel_name": "Bethel name", "tshirt_size": "T-shirt size", "id": "ID", "total": "Total",
		"registration_id": "Registration ID", "tshirts": "T-shirts", "": "",
	} {
		if got := readableHeader(in); got != want {
			t.Errorf("readableHeader(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkWriteWorkbook reads and writes a roster-shaped workbook: 20,000
// rows of 15 text columns split over 40 sheets, and a typed sheet of
// numbers, dates and times, as the roster and summary workbooks are.
func BenchmarkWriteWorkbook(b *testing.B) {
	header := []string{"bethel", "bethel_name", "registration_id", "last_name", "first_name",
		"preferred_name", "member_type", "office", "days_attending", "housing", "tshirt_size",
		"banquet_meal", "dietary_needs", "allergies", "contact"}
	var roster bytes.Buffer
	w := csvio.NewWriter(&roster)
	w.Write(header)
	row := make([]string, len(header))
	for r := 0; r < 20000; r++ {
		row[0] = strconv.Itoa(r%40 + 1)
		for c := 1; c < len(row); c++ {
			row[c] = "cell " + strconv.Itoa(r) + "." + strconv.Itoa(c)
		}
		w.Write(row)
	}
	w.Flush()
	var typed bytes.Buffer
	w = csvio.NewWriter(&typed)
	w.Write([]string{"n", "x", "date", "time", "at"})
	for r := 0; r < 5000; r++ {
		w.Write([]string{strconv.Itoa(r), strconv.Itoa(r) + ".25", "2026-06-12", "09:30", "2026-06-12T06:45:00-05:00"})
	}
	w.Flush()
	for _, bc := range []struct {
		name, split string
		csv         []byte
		typed       bool
	}{
		{"roster", "bethel", roster.Bytes(), false},
		{"typed", "", typed.Bytes(), true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.csv)))
			for b.Loop() {
				sheets, err := readSheets(bytes.NewReader(bc.csv), "t.csv", "T", bc.split)
				if err != nil {
					b.Fatal(err)
				}
				if err := writeWorkbook(io.Discard, sheets, bc.typed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// sheetRows is every sheet's name, widths and rows' fields, to compare
// two readings of one CSV.
func sheetRows(sheets []xlsxSheet) string {
	var b strings.Builder
	for _, s := range sheets {
		fmt.Fprintf(&b, "sheet %q longest %v filled %v\n", s.name, s.longest, s.filled)
		row := make([]string, len(s.tab.header))
		for _, i := range s.rows {
			s.tab.fields(i, row)
			fmt.Fprintf(&b, "%q\n", row)
		}
	}
	return b.String()
}

// FuzzReadParallel checks that a CSV read as ranges of records at once
// gives the sheets that reading it in one piece gives, whenever that
// succeeds: the ranges are cut at line feeds outside quotes.
func FuzzReadParallel(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n3,4\n",
		"\uFEFFbethel,bethel_name,x\n2,Twin Oaks,\"multi\nline\"\n4,Elm,\"q\"\"uote\"\n\n2,Twin Oaks,z\r\n",
		"bethel,n\n\"\n\n\",1\n,2\n7,\"\"\"\"\n7,\n",
		"\"bet\nhel\",x\n1,\"a,b\"\n",
		"bethel\n",
	} {
		f.Add(s, uint8(2), true)
	}
	f.Fuzz(func(t *testing.T, csv string, n uint8, split bool) {
		by := ""
		if split {
			by = "bethel"
		}
		one, err := readPart(strings.NewReader(csv), "f.csv", by)
		if err != nil {
			return
		}
		parts, err := readParallel(strings.NewReader(csv), int64(len(csv)), int(n%5)+1, "f.csv", by)
		if err != nil {
			t.Fatalf("read in one piece, but in parts: %v", err)
		}
		want := sheetRows(mergeParts([]*xlsxPart{one}, "f.csv", "F", by))
		if got := sheetRows(mergeParts(parts, "f.csv", "F", by)); got != want {
			t.Fatalf("in parts:\n%s\nin one piece:\n%s", got, want)
		}
	})
}

// TestReadSheetsFile reads a CSV file large enough to be read in ranges
// at once, through the path a node takes (an open file), and compares the
// sheets with reading it in one piece.
func TestReadSheetsFile(t *testing.T) {
	var b bytes.Buffer
	w := csvio.NewWriter(&b)
	w.Write([]string{"bethel", "bethel_name", "note"})
	for r := 0; b.Len() < 3*xlsxParallelMin; r++ {
		w.Write([]string{strconv.Itoa(r * 7 % 41), "Name " + strconv.Itoa(r*7%41), strings.Repeat("x\n\",", r%5) + strconv.Itoa(r)})
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "roster.csv")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	one, err := readPart(bytes.NewReader(b.Bytes()), "roster.csv", "bethel")
	if err != nil {
		t.Fatal(err)
	}
	want := sheetRows(mergeParts([]*xlsxPart{one}, "roster.csv", "R", "bethel"))
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets, err := readSheets(f, "roster.csv", "R", "bethel")
	if err != nil {
		t.Fatal(err)
	}
	if len(sheets) != 41 {
		t.Errorf("%d sheets, want 41", len(sheets))
	}
	if got := sheetRows(sheets); got != want {
		t.Error("the file read in ranges differs from the file read in one piece")
	}
}

// TestSheetNames checks the names the format allows: at most 31
// characters, none of []:*?/\, no apostrophe at either end, unique
// ignoring case.
func TestSheetNames(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{[]string{"Meals", "meals", "MEALS"}, []string{"Meals", "meals 2", "MEALS 3"}},
		{[]string{"a/b", "c[d]:e*f?g\\h"}, []string{"a-b", "c-d--e-f-g-h"}},
		{[]string{"'quoted'", "  ", ""}, []string{"quoted", "Sheet", "Sheet 2"}},
		{[]string{strings.Repeat("Bethel ", 6), strings.Repeat("Bethel ", 6)}, []string{"Bethel Bethel Bethel Bethel Bet", "Bethel Bethel Bethel Bethel B 2"}},
		{[]string{"Zoë Ångström Memorial Bethel No. 12"}, []string{"Zoë Ångström Memorial Bethel No"}},
	}
	for _, tc := range tests {
		sheets := make([]xlsxSheet, len(tc.in))
		for i, n := range tc.in {
			sheets[i].name = n
		}
		if err := uniqueSheetNames(sheets); err != nil {
			t.Fatal(err)
		}
		for i, s := range sheets {
			if s.name != tc.want[i] {
				t.Errorf("%q: sheet %d is %q, want %q", tc.in, i+1, s.name, tc.want[i])
			}
		}
	}
}
