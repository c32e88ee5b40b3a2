package csvio

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

type row struct {
	Line   int
	Fields []string
}

func readAll(t testing.TB, data string) ([]string, []row, error) {
	t.Helper()
	r, err := NewReader(strings.NewReader(data), "in.csv")
	if err != nil {
		return nil, nil, err
	}
	var rows []row
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return r.Header(), rows, nil
		}
		if err != nil {
			return r.Header(), rows, err
		}
		rows = append(rows, row{rec.Line, append([]string(nil), rec.Fields...)})
	}
}

func TestReadMessy(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		header []string
		rows   []row
	}{
		{"plain", "a,b\n1,2\n", []string{"a", "b"}, []row{{2, []string{"1", "2"}}}},
		{"bom crlf", "\uFEFFa,b\r\n1,2\r\n3,4\r\n", []string{"a", "b"}, []row{{2, []string{"1", "2"}}, {3, []string{"3", "4"}}}},
		{"bom quoted header", "\uFEFF\"a\",b\n1,2\n", []string{"a", "b"}, []row{{2, []string{"1", "2"}}}},
		{"header spaces", " a , b\t\n1,2\n", []string{"a", "b"}, []row{{2, []string{"1", "2"}}}},
		{"quoted comma quote newline", "a,b\n\"x, y\",\"say \"\"hi\"\"\nthere\"\n5,6\n", []string{"a", "b"},
			[]row{{2, []string{"x, y", "say \"hi\"\nthere"}}, {4, []string{"5", "6"}}}},
		{"crlf inside quotes", "a,b\r\n\"l1\r\nl2\",x\r\n", []string{"a", "b"}, []row{{2, []string{"l1\nl2", "x"}}}},
		{"blank trailing lines", "a,b\n1,2\n\n\n", []string{"a", "b"}, []row{{2, []string{"1", "2"}}}},
		{"trailing empty rows", "a,b\r\n1,2\r\n,\r\n , \r\n", []string{"a", "b"}, []row{{2, []string{"1", "2"}}}},
		{"blank line in middle", "a,b\n1,2\n\n3,4\n", []string{"a", "b"}, []row{{2, []string{"1", "2"}}, {4, []string{"3", "4"}}}},
		{"no final newline", "a,b\n1,2", []string{"a", "b"}, []row{{2, []string{"1", "2"}}}},
		{"windows-1252", "a,b\nZo\xeb,\x93q\x94\n", []string{"a", "b"}, []row{{2, []string{"Zoë", "\u201cq\u201d"}}}},
		{"utf-8 kept", "a,b\nZoë,José\n", []string{"a", "b"}, []row{{2, []string{"Zoë", "José"}}}},
		{"escaped formula", "a,b\n'=1+2,'+1 555\n", []string{"a", "b"}, []row{{2, []string{"=1+2", "+1 555"}}}},
		{"apostrophe kept", "a,b\n'tis,'5\n", []string{"a", "b"}, []row{{2, []string{"'tis", "'5"}}}},
		{"semicolons", "a;b;c\n1,5;\"x;y\";3\n", []string{"a", "b", "c"}, []row{{2, []string{"1,5", "x;y", "3"}}}},
		{"tabs", "a\tb\n1\t2\n", []string{"a", "b"}, []row{{2, []string{"1", "2"}}}},
		{"comma wins a tie", "a;b,c\n1;2,3\n", []string{"a;b", "c"}, []row{{2, []string{"1;2", "3"}}}},
		{"quoted separators do not count", "\"a;b;c\",d\n1,2\n", []string{"a;b;c", "d"}, []row{{2, []string{"1", "2"}}}},
		{"excel sep line", "sep=;\r\na;b\r\n1;2\r\n", []string{"a", "b"}, []row{{3, []string{"1", "2"}}}},
		{"utf-16le", "\xff\xfea\x00,\x00b\x00\n\x00Z\x00o\x00\xeb\x00,\x00=\xd8\x00\xde\n\x00", []string{"a", "b"}, []row{{2, []string{"Zoë", "\U0001F600"}}}},
		{"utf-16be", "\xfe\xff\x00a\x00\t\x00b\x00\r\x00\n\x001\x00\t\x002", []string{"a", "b"}, []row{{2, []string{"1", "2"}}}},
		{"trailing separator", "a,b,\n1,2,\n", []string{"a", "b", ""}, []row{{2, []string{"1", "2", ""}}}},
		{"unnamed columns", "a,,b,\n1,x,2,y\n", []string{"a", "", "b", ""}, []row{{2, []string{"1", "x", "2", "y"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rows, err := readAll(t, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h, tt.header) {
				t.Errorf("header = %q, want %q", h, tt.header)
			}
			if !reflect.DeepEqual(rows, tt.rows) {
				t.Errorf("rows = %v, want %v", rows, tt.rows)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "in.csv:1: empty file: want a header row"},
		{"only blank", "\n\n", "in.csv:1: empty file: want a header row"},
		{"too many", "a,b\n1,2\n1,2,3\n", "in.csv:3: row has 3 fields, header has 2"},
		{"too few", "a,b\n1,2\n\n1\n", "in.csv:4: row has 1 fields, header has 2"},
		{"bare quote", "a,b\n1,5'3\"\n", "in.csv:2:6: bare \" in non-quoted-field (a quote inside a field must be doubled and the field quoted: \"5'3\"\"\")"},
		{"unterminated", "a,b\n1,\"open\n", "in.csv:2:3: quoted field never ends: a closing \" is missing"},
		{"text after quotes", "a,b\n\"x\"y,2\n", "in.csv:2:4: extraneous or missing \" in quoted-field"},
		{"mixed encoding", "a,b\n1,Zo\xc3\xab \xeb\n", "in.csv:2: column \"b\" is neither UTF-8 nor Windows-1252 text; re-save the file as \"CSV UTF-8\""},
		{"undefined 1252", "a,b\n1,x\x81y\n", "in.csv:2: column \"b\" is neither UTF-8 nor Windows-1252 text; re-save the file as \"CSV UTF-8\""},
		{"header of empty cells", ",,\n1,2,3\n", "in.csv:1: the header row names no column"},
		{"half a utf-16 unit", "\xff\xfea\x00\n\x001", "in.csv:2: the file is not valid UTF-16 text (it starts with a UTF-16 byte order mark); re-save it as \"CSV UTF-8\""},
		{"lone surrogate", "\xff\xfea\x00\n\x00\x00\xd8x\x00", "in.csv:2: the file is not valid UTF-16 text (it starts with a UTF-16 byte order mark); re-save it as \"CSV UTF-8\""},
		{"duplicate header", "a, b,a\n", "in.csv:1: header has column \"a\" twice (columns 1 and 3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, tt.in)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestRequire(t *testing.T) {
	r, err := NewReader(strings.NewReader("a,b\n"), "x/in.csv")
	if err != nil {
		t.Fatal(err)
	}
	if idx, err := r.Require("b", "a"); err != nil || !reflect.DeepEqual(idx, []int{1, 0}) {
		t.Fatalf("Require = %v, %v", idx, err)
	}
	_, err = r.Require("a", "Email", "Phone")
	want := `x/in.csv:1: missing required columns "Email", "Phone" (header has a, b)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	_, err = r.Require("c")
	want = `x/in.csv:1: missing required column "c" (header has a, b)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestConvertedCount(t *testing.T) {
	r, err := NewReader(strings.NewReader("a\nok\n\xe9\nfine\n\xe8\n"), "in.csv")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := r.Read(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n, first := r.Converted(); n != 2 || first != 3 {
		t.Errorf("Converted = %d, %d; want 2, 3", n, first)
	}
}

// TestWriteHeaderSeparators checks that a header cell holding another
// separator is quoted, so that a one-column file reads back as one column.
func TestWriteHeaderSeparators(t *testing.T) {
	for _, cell := range []string{"fish; gluten free", "a\tb", "x;y"} {
		var b bytes.Buffer
		w := NewWriter(&b)
		w.Write([]string{cell})
		w.Write([]string{"1;2"})
		w.Flush()
		h, rows, err := readAll(t, b.String())
		if err != nil || !reflect.DeepEqual(h, []string{cell}) || len(rows) != 1 || rows[0].Fields[0] != "1;2" {
			t.Errorf("%q: wrote %q, read %q %v, %v", cell, b.String(), h, rows, err)
		}
	}
}

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	rows := [][]string{
		{"size", "count", "note"},
		{"M", "-5", "=SUM(A1:A2)"},
		{"L", "12.50", "+1 555 0100"},
		{"x, y", "say \"hi\"", "two\nlines"},
		{" pad", "@cmd", "-"},
		{"'=already", "", "\ttab"},
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "\uFEFFsize,count,note\n" +
		"M,-5,'=SUM(A1:A2)\n" +
		"L,12.50,'+1 555 0100\n" +
		"\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n" +
		"\" pad\",'@cmd,'-\n" +
		"''=already,,'\ttab\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	h, got, err := readAll(t, b.String())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h, rows[0]) {
		t.Errorf("header read back %q", h)
	}
	for i, r := range got {
		if !reflect.DeepEqual(r.Fields, rows[i+1]) {
			t.Errorf("row %d read back %q, want %q", i, r.Fields, rows[i+1])
		}
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, s := range []string{"", "'", "''", "=", "'=", "''=", "-5", "'-5", "-", "-x", "'-x", "@", "a", "'a", "+", "-1.5", "-1.", "\t", "'\r"} {
		if got := Unescape(Escape(s)); got != s {
			t.Errorf("Unescape(Escape(%q)) = %q", s, got)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n"))
	f.Add([]byte("\uFEFFa,b\r\n\"x,\"\"y\"\"\nz\",2\r\n\r\n"))
	f.Add([]byte("a\n\xe9\x93\n"))
	f.Add([]byte("a,b\n'=x,-5\n"))
	f.Add([]byte("sep=;\na;b;\n1;\"2;3\";\n"))
	f.Add([]byte("\xff\xfea\x00\t\x00b\x00\n\x00\x3d\xd8\x00\xde\t\x00\n\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "f.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.csv:") {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		header := append([]string(nil), r.Header()...)
		var rows [][]string
		last := 0
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "f.csv:") {
					t.Fatalf("error without position: %v", err)
				}
				return
			}
			if len(rec.Fields) != len(header) {
				t.Fatalf("record has %d fields, header %d", len(rec.Fields), len(header))
			}
			if rec.Line <= last {
				t.Fatalf("line %d after %d", rec.Line, last)
			}
			last = rec.Line
			for _, s := range rec.Fields {
				if !utf8.ValidString(s) {
					t.Fatalf("invalid UTF-8 field %q", s)
				}
			}
			rows = append(rows, append([]string(nil), rec.Fields...))
		}
		// What was read must survive a write and a second read exactly,
		// except cells that only differ in surrounding header space (the
		// header was trimmed already).
		var b bytes.Buffer
		w := NewWriter(&b)
		if err := w.Write(header); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			w.Write(r)
		}
		w.Flush()
		h2, rows2, err := readAll(t, b.String())
		if err != nil {
			t.Fatalf("re-read: %v\n%q", err, b.String())
		}
		if !reflect.DeepEqual(h2, header) {
			t.Fatalf("header %q != %q", h2, header)
		}
		if len(rows2) != len(rows) {
			t.Fatalf("re-read %d rows, want %d", len(rows2), len(rows))
		}
		for i := range rows {
			if !reflect.DeepEqual(rows2[i].Fields, rows[i]) {
				t.Fatalf("row %d: %q != %q", i, rows2[i].Fields, rows[i])
			}
		}
	})
}

// FuzzParserMatchesStdlib checks the hand-written parser against
// encoding/csv with the same settings: the same records, and an error
// exactly when encoding/csv has one.
func FuzzParserMatchesStdlib(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a,\"b\r\nc\",d\r\n\r\n", "\"a\"\"b\",c", "a\"b", "\"a\"b", "x\r", "\"open\n", ",,\n", "a\rb,c\n", "\"\"", "\n\n\"\n\""} {
		f.Add([]byte(s))
	}
	f.Add([]byte("a;\"b;c\";d\n"))
	f.Add([]byte("a\t\"b\"\"\"\t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The separator is chosen by the input's length, so that every
		// seed is read with each separator as the fuzzer grows it.
		sep := []byte{',', ';', '\t'}[len(data)%3]
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		cr.Comma = rune(sep)
		p := &parser{r: bufio.NewReaderSize(bytes.NewReader(data), 16), sep: sep}
		for {
			want, werr := cr.Read()
			got, lines, gerr := p.read()
			if werr == io.EOF || gerr == io.EOF {
				if werr != gerr {
					t.Fatalf("EOF mismatch: stdlib %v, parser %v", werr, gerr)
				}
				return
			}
			if (werr != nil) != (gerr != nil) {
				t.Fatalf("stdlib %v, parser %v (%q)", werr, gerr, got)
			}
			if werr != nil {
				return
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("stdlib %q, parser %q", want, got)
			}
			for i := range got {
				if l, _ := cr.FieldPos(i); l != lines[i] {
					t.Fatalf("field %d: stdlib line %d, parser %d", i, l, lines[i])
				}
			}
		}
	})
}

func TestReadAll(t *testing.T) {
	header, rows, err := ReadAll(strings.NewReader("\ufeffname,n\r\n'=SUM(A1),2\r\n\r\nb,3\r\n"), "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(header, []string{"name", "n"}) || !reflect.DeepEqual(rows, [][]string{{"=SUM(A1)", "2"}, {"b", "3"}}) {
		t.Fatalf("header %q rows %q", header, rows)
	}
	// Every value comes back as it was escaped: an apostrophe that is part
	// of the value is kept.
	for _, v := range []string{"'=x", "''=x", "'a", "'-5", "=x", "-x"} {
		_, rows, err := ReadAll(strings.NewReader("v\n"+Escape(v)+"\n"), "t.csv")
		if err != nil || len(rows) != 1 || rows[0][0] != v {
			t.Errorf("ReadAll of Escape(%q) = %q, %v", v, rows, err)
		}
	}
	if _, _, err := ReadAll(strings.NewReader("a,b\n1\n"), "t.csv"); err == nil || !strings.Contains(err.Error(), "t.csv:2:") {
		t.Fatalf("short row: %v", err)
	}
}

// TestSplitCommas checks the eight-bytes-at-a-time split against
// strings.Split on every line shape up to three words long: a comma at
// each position, next to bytes one bit away from a comma ('-' is ',' ^ 1,
// the byte a borrow-based zero test gets wrong) and non-ASCII bytes; and
// the same for the other separators a header can choose.
func TestSplitCommas(t *testing.T) {
	for _, sep := range []byte{',', ';', '\t'} {
		testSplitSep(t, sep)
	}
}

func testSplitSep(t *testing.T, sep byte) {
	alphabet := []byte{sep, sep ^ 1, '.', 'a', 0xac, 0xff, sep ^ 1 ^ 0x80, ','}
	for n := 0; n <= 24; n++ {
		for seed := 0; seed < 200; seed++ {
			l := make([]byte, n)
			x := uint32(seed*2654435761 + n)
			for i := range l {
				x = x*1664525 + 1013904223
				l[i] = alphabet[(x>>24)%uint32(len(alphabet))]
			}
			got := splitSep(nil, l, string(l), sep)
			if want := strings.Split(string(l), string(sep)); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: got %q, want %q", l, got, want)
			}
		}
	}
}
