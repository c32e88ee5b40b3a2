package xlsxw

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// readCell is a cell as a reader of the workbook sees it.
type readCell struct {
	Style int
	Type  string // "", "inlineStr"
	Value string // the text, or the number as written
}

type readSheet struct {
	Name   string
	Freeze string
	Filter string
	Widths map[int]string
	Cells  map[string]readCell // by reference, A1
}

// readWorkbook reads a workbook as a spreadsheet application does: the zip,
// the workbook's sheet list, each sheet's cells placed by their r
// attribute or, without one, after the previous cell. Every member must be
// well-formed XML.
func readWorkbook(t *testing.T, data []byte) []readSheet {
	t.Helper()
	parts := unzipParts(t, data, func(f *zip.File, b []byte) {
		if f.Modified.Year() != 1980 {
			t.Errorf("%s: modified %v, want the fixed 1980-01-01", f.Name, f.Modified)
		}
		dec := xml.NewDecoder(bytes.NewReader(b))
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s is not well-formed XML: %v", f.Name, err)
			}
		}
	})
	for _, p := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "docProps/core.xml"} {
		if parts[p] == nil {
			t.Fatalf("no %s", p)
		}
	}
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			ID   string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := xml.Unmarshal(parts["xl/workbook.xml"], &wb); err != nil {
		t.Fatal(err)
	}
	var out []readSheet
	for i, s := range wb.Sheets {
		name := fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1)
		if !bytes.Contains(parts["[Content_Types].xml"], []byte("/"+name)) {
			t.Errorf("[Content_Types].xml does not list %s", name)
		}
		if !bytes.Contains(parts["xl/_rels/workbook.xml.rels"], []byte(`Id="`+s.ID+`" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet`+strconv.Itoa(i+1)+`.xml"`)) {
			t.Errorf("sheet %d's relationship %s does not name %s", i+1, s.ID, name)
		}
		out = append(out, parseSheet(t, s.Name, parts[name]))
	}
	return out
}

type xmlCell struct {
	R  string `xml:"r,attr"`
	S  int    `xml:"s,attr"`
	T  string `xml:"t,attr"`
	V  string `xml:"v"`
	F  string `xml:"f"`
	T2 struct {
		T string `xml:"t"`
	} `xml:"is"`
}

func parseSheet(t *testing.T, name string, data []byte) readSheet {
	var ws struct {
		Pane struct {
			TopLeft string `xml:"topLeftCell,attr"`
			State   string `xml:"state,attr"`
		} `xml:"sheetViews>sheetView>pane"`
		Cols []struct {
			Min   int    `xml:"min,attr"`
			Width string `xml:"width,attr"`
		} `xml:"cols>col"`
		Rows []struct {
			R     int       `xml:"r,attr"`
			Cells []xmlCell `xml:"c"`
		} `xml:"sheetData>row"`
		Filter struct {
			Ref string `xml:"ref,attr"`
		} `xml:"autoFilter"`
	}
	if err := xml.Unmarshal(data, &ws); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s := readSheet{Name: name, Filter: ws.Filter.Ref, Widths: map[int]string{}, Cells: map[string]readCell{}}
	if ws.Pane.State == "frozen" {
		s.Freeze = ws.Pane.TopLeft
	}
	for _, c := range ws.Cols {
		s.Widths[c.Min] = c.Width
	}
	ref := regexp.MustCompile(`^([A-Z]+)([0-9]+)$`)
	for _, row := range ws.Rows {
		col := 0
		for _, c := range row.Cells {
			col++
			if c.R != "" {
				m := ref.FindStringSubmatch(c.R)
				if m == nil || m[2] != strconv.Itoa(row.R) {
					t.Fatalf("%s: cell %q in row %d", name, c.R, row.R)
				}
				col = 0
				for _, l := range m[1] {
					col = col*26 + int(l-'A'+1)
				}
			}
			if c.F != "" {
				t.Errorf("%s: a formula in %s%d", name, columnName(col-1), row.R)
			}
			if c.T == "" && c.V == "" && c.T2.T == "" {
				continue // an empty cell
			}
			v := c.V
			if c.T == "inlineStr" {
				v = unescapeX(c.T2.T)
			}
			s.Cells[columnName(col-1)+strconv.Itoa(row.R)] = readCell{Style: c.S, Type: c.T, Value: v}
		}
	}
	return s
}

var xEscape = regexp.MustCompile(`_x[0-9A-Fa-f]{4}_`)

// unescapeX decodes the format's _xHHHH_ escapes, as spreadsheet
// applications do.
func unescapeX(s string) string {
	return xEscape.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.ParseUint(m[2:6], 16, 32)
		return string(rune(n))
	})
}

func rows(r ...[]string) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for _, row := range r {
			if !yield(row) {
				return
			}
		}
	}
}

func write(t *testing.T, sheets []Sheet, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, sheets, opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestText writes text cells that a spreadsheet must show exactly as
// written: formula triggers, markup, spacing, control characters, the
// format's own escapes, non-UTF-8 bytes.
func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"=1+1", "=1+1"},
		{"+1 555 0100", "+1 555 0100"},
		{"-5 apples", "-5 apples"},
		{"@SUM(A1)", "@SUM(A1)"},
		{`<b>&amp;"'</b>`, `<b>&amp;"'</b>`},
		{"  both ends  ", "  both ends  "},
		{"tab\there", "tab\there"},
		{"line\nbreak", "line\nbreak"},
		{"crlf\r\nend", "crlf\r\nend"},
		{"\r", "\r"},
		{"bell\x07", "bell\x07"},
		{"nul\x00", "nul\x00"},
		{"_x0041_", "_x0041_"},
		{"a_x00e9_b_", "a_x00e9_b_"},
		{"_x12_", "_x12_"},
		{"__", "__"},
		{"Zoë Ångström", "Zoë Ångström"},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"non\uFFFEchar", "non\uFFFEchar"},
		// A text longer than a cell holds is cut where applications cut it.
		{strings.Repeat("é", MaxCellChars+5), strings.Repeat("é", MaxCellChars)},
	}
	var r [][]string
	for _, tc := range tests {
		r = append(r, []string{tc.in})
	}
	data := write(t, []Sheet{{Name: "Text", Columns: []Column{{Title: "text"}}, Rows: len(r), Each: rows(r...)}}, Options{})
	s := readWorkbook(t, data)[0]
	for i, tc := range tests {
		got := s.Cells["A"+strconv.Itoa(i+2)]
		if got.Type != "inlineStr" || got.Value != tc.want {
			t.Errorf("%.40q reads back as %.40v, want the text %.40q", tc.in, got, tc.want)
		}
	}
}

// FuzzText checks that any text reads back as written (a byte that is not
// UTF-8 as U+FFFD).
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "a", "_x0041_", "\r\n", "\x00", " x ", "&<>\"", "\xff", "\uFFFF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendText(nil, s)
		var v struct {
			T string `xml:",chardata"`
		}
		if err := xml.Unmarshal(b, &v); err != nil {
			t.Fatalf("%q as %q: %v", s, b, err)
		}
		if got, want := unescapeX(v.T), strings.ToValidUTF8(s, "\uFFFD"); got != want {
			// ToValidUTF8 merges a run of bad bytes into one U+FFFD;
			// the writer replaces each.
			if !utf8.ValidString(s) && strings.ReplaceAll(got, "\uFFFD", "") == strings.ReplaceAll(want, "\uFFFD", "") {
				return
			}
			t.Fatalf("%q reads back as %q (XML %q)", s, got, b)
		}
	})
}

// TestCells checks typed cells, blanks and the sheet's frame: the header
// in bold, frozen; the filter over every row; the widths.
func TestCells(t *testing.T) {
	cols := []Column{
		{Title: "name", Width: 12}, {Title: "n", Kind: Int}, {Title: "x", Kind: Decimal},
		{Title: "day", Kind: Date}, {Title: "at", Kind: DateTime}, {Title: "time", Kind: Time},
		{Title: "note"}, {Title: "more"}, {Title: "last"},
	}
	r := [][]string{
		{"a", "5", "2.50", "2026-06-12", "2026-06-12T06:45:00-05:00", "09:30", "x", "y", "z"},
		{"b", "-12", "3", "1900-03-01", "2026-06-14T23:59:59Z", "00:00", "", "", "z"},
		{"c", "", "", "", "", "", "", "y", ""},
		{"", "007", "1e5", "2026-02-30", "yesterday", "24:00", "", "", ""},
		{"short"},
		{"", "", "", "", "", "", "", "", "z"},
	}
	data := write(t, []Sheet{{Name: "Typed", Columns: cols, Rows: len(r), Each: rows(r...)}}, Options{})
	s := readWorkbook(t, data)[0]
	if s.Freeze != "A2" || s.Filter != "A1:I7" {
		t.Errorf("frozen at %q, filter %q; want A2 and A1:I7", s.Freeze, s.Filter)
	}
	if s.Widths[1] != "12" || len(s.Widths) != 1 {
		t.Errorf("widths %v, want column 1 at 12", s.Widths)
	}
	text := func(v string) readCell { return readCell{Type: "inlineStr", Value: v} }
	want := map[string]readCell{
		"A1": {Style: 1, Type: "inlineStr", Value: "name"}, "I1": {Style: 1, Type: "inlineStr", Value: "last"},
		"A2": text("a"), "B2": {Value: "5"}, "C2": {Style: 2, Value: "2.50"},
		"D2": {Style: 4, Value: "46185"}, "E2": {Style: 3, Value: "46185.28125"}, "F2": {Style: 5, Value: "0.3958333333333333"},
		"G2": text("x"), "H2": text("y"), "I2": text("z"),
		"A3": text("b"), "B3": {Value: "-12"}, "C3": {Style: 2, Value: "3"},
		"D3": {Style: 4, Value: "61"}, "E3": {Style: 3, Value: "46187.99998842592"}, "F3": {Style: 5, Value: "0"},
		"I3": text("z"),
		"A4": text("c"), "H4": text("y"),
		// Cells that do not read as their column's kind are text.
		"B5": {Value: "007"}, "C5": text("1e5"), "D5": text("2026-02-30"), "E5": text("yesterday"), "F5": text("24:00"),
		"A6": text("short"),
		"I7": text("z"),
	}
	for ref, w := range want {
		if got := s.Cells[ref]; got != w {
			t.Errorf("%s is %+v, want %+v", ref, got, w)
		}
	}
	for ref, got := range s.Cells {
		if _, ok := want[ref]; !ok && !strings.HasSuffix(ref, "1") {
			t.Errorf("%s is %+v, want blank", ref, got)
		}
	}
}

// TestDeterministic: the same sheets give the same bytes whatever the
// number of workers, with sheets of several chunks.
func TestDeterministic(t *testing.T) {
	sheets := func() []Sheet {
		var out []Sheet
		for s := 0; s < 3; s++ {
			n := 30000 * s // 0, then sheets of more than one chunk
			out = append(out, Sheet{Name: "S" + strconv.Itoa(s), Columns: []Column{{Title: "id"}, {Title: "n", Kind: Int}}, Rows: n,
				Each: func(yield func([]string) bool) {
					for i := range n {
						if !yield([]string{"R-" + strconv.Itoa(i*7919%100003), strconv.Itoa(i)}) {
							return
						}
					}
				}})
		}
		return out
	}
	one := write(t, sheets(), Options{Workers: 1})
	if len(one) < chunkSize/8 {
		t.Fatalf("only %d bytes: the sheets span no chunks", len(one))
	}
	for _, w := range []int{2, 5} {
		if !bytes.Equal(one, write(t, sheets(), Options{Workers: w})) {
			t.Errorf("%d workers write other bytes than one", w)
		}
	}
	s := readWorkbook(t, one)
	if got := s[2].Cells["B60001"]; got.Value != "59999" {
		t.Errorf("last row's number is %+v", got)
	}
}

// TestSheetNames: names are escaped in the workbook and quoted in the
// filter's defined name.
func TestSheetNames(t *testing.T) {
	sheets := []Sheet{
		{Name: `St. Mary's & "Co"`, Columns: []Column{{Title: "a"}}},
		{Name: "Empty"},
	}
	data := write(t, sheets, Options{})
	s := readWorkbook(t, data)
	if s[0].Name != sheets[0].Name || s[1].Name != "Empty" {
		t.Errorf("names %q, %q", s[0].Name, s[1].Name)
	}
	z, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	for _, f := range z.File {
		if f.Name == "xl/workbook.xml" {
			r, _ := f.Open()
			b, _ := io.ReadAll(r)
			if !bytes.Contains(b, []byte(`>'St. Mary''s &amp; "Co"'!$A$1:$A$1</definedName>`)) {
				t.Errorf("workbook.xml's filter name: %s", b)
			}
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(b []byte) (int, error) {
	if w.n -= len(b); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

// TestErrors: a failing writer's error comes back (nothing hangs), and so
// does a sheet that yields another number of rows than it said.
func TestErrors(t *testing.T) {
	big := Sheet{Name: "Big", Columns: []Column{{Title: "a"}}, Rows: 200000, Each: func(yield func([]string) bool) {
		for i := range 200000 {
			if !yield([]string{strconv.Itoa(i * 7919)}) {
				return
			}
		}
	}}
	for _, n := range []int{0, 100, 1 << 20} {
		if err := Write(&failWriter{n: n}, []Sheet{big}, Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("after %d bytes: %v, want disk full", n, err)
		}
	}
	short := Sheet{Name: "Short", Columns: []Column{{Title: "a"}}, Rows: 3, Each: rows([]string{"x"})}
	if err := Write(io.Discard, []Sheet{short}, Options{}); err == nil || !strings.Contains(err.Error(), `"Short": 3 rows said, 1 given`) {
		t.Errorf("short sheet: %v", err)
	}
	// Sheets are formatted side by side: a failure in one, or in the
	// archive, ends the others and the workbook with that error.
	for _, w := range []int{1, 2, 3} {
		if err := Write(&failWriter{n: 1 << 20}, []Sheet{big, big, big}, Options{Workers: w}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("three sheets, %d workers: %v, want disk full", w, err)
		}
		if err := Write(io.Discard, []Sheet{big, short, big}, Options{Workers: w}); err == nil || !strings.Contains(err.Error(), `"Short": 3 rows said, 1 given`) {
			t.Errorf("a short sheet among others, %d workers: %v", w, err)
		}
	}
	if err := Write(io.Discard, nil, Options{}); err == nil {
		t.Error("no sheets: no error")
	}
	tall := Sheet{Name: "Tall", Columns: []Column{{Title: "a"}}, Rows: MaxRows + 1}
	if err := Write(io.Discard, []Sheet{tall}, Options{}); err == nil || !strings.Contains(err.Error(), `"Tall": 1048576 rows; a sheet holds at most 1048575 below its header`) {
		t.Errorf("too many rows: %v", err)
	}
	wide := Sheet{Name: "Wide", Columns: make([]Column, MaxColumns+1)}
	if err := Write(io.Discard, []Sheet{wide}, Options{}); err == nil || !strings.Contains(err.Error(), `"Wide": 16385 columns`) {
		t.Errorf("too many columns: %v", err)
	}
}

func TestColumnName(t *testing.T) {
	for c, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 51: "AZ", 52: "BA", 701: "ZZ", 702: "AAA", 16383: "XFD"} {
		if got := columnName(c); got != want {
			t.Errorf("columnName(%d) = %q, want %q", c, got, want)
		}
	}
}

// BenchmarkWrite writes a roster-shaped workbook: 100,000 rows of 19
// columns, a third of them blank, over 40 sheets.
func BenchmarkWrite(b *testing.B) {
	cols := make([]Column, 19)
	for i := range cols {
		cols[i] = Column{Title: "column " + strconv.Itoa(i), Width: 12}
	}
	var sheets []Sheet
	for s := range 40 {
		sheets = append(sheets, Sheet{Name: "Bethel " + strconv.Itoa(s), Columns: cols, Rows: 2500,
			Each: func(yield func([]string) bool) {
				row := make([]string, len(cols))
				for r := range 2500 {
					for c := range row {
						row[c] = ""
						if c%3 != 2 {
							row[c] = "cell " + strconv.Itoa((s*2500+r)*(c+1)%9973)
						}
					}
					if !yield(row) {
						return
					}
				}
			}})
	}
	for b.Loop() {
		if err := Write(io.Discard, sheets, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
