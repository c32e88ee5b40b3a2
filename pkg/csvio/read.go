// Package csvio reads CSV exports as spreadsheets and form platforms really
// write them, and writes CSV that Excel and LibreOffice open correctly.
//
// Reading (Reader) survives: a UTF-8 byte order mark, UTF-16 text with a
// byte order mark, semicolon- or tab-separated files, CRLF line ends,
// quoted commas, quotes and newlines, blank lines and rows of empty cells
// (Excel leaves them at the end of a sheet), header cells with surrounding
// spaces, and Windows-1252 bytes. Every record carries the line it starts
// on, so that every error downstream can say file:line. Rows stream: the
// file is never held in memory whole.
//
// Encoding policy: bethel never guesses silently and never produces
// mojibake. A field that is valid UTF-8 is taken as is. A field that is not
// valid UTF-8 and holds no valid multi-byte UTF-8 sequence at all is what
// Excel's "CSV" (Windows-1252) save produces, and is converted from
// Windows-1252; Reader.Converted counts those fields so that a stage can
// warn. A field that mixes valid UTF-8 sequences with invalid bytes, or
// holds one of the five bytes Windows-1252 leaves undefined, cannot be
// decoded with confidence and is an error naming file:line and the column.
//
// Writing (Writer): a UTF-8 byte order mark first (without it Excel reads
// UTF-8 as the local code page and garbles every accented name), `\n` line
// ends, columns in the order the caller gives, a field quoted only when it
// must be (it holds a comma, a quote, a line break, or leading or trailing
// space). Formula injection is defused by prefixing an apostrophe: see
// Escape. Reader undoes both the byte order mark and the escaping, so a file
// written by Writer reads back exactly.
package csvio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"bethel/pkg/pos"
)

// Record is one data row: its fields (as many as the header has columns)
// and the 1-based line of the file it starts on.
type Record struct {
	Line   int
	Fields []string
}

// Reader streams the records of one CSV file.
type Reader struct {
	file      string
	p         *parser
	header    []string
	index     map[string]int
	converted int
	firstConv int
	rec       Record
}

// NewReader returns a Reader of r; file is the workspace-relative path used
// in every error. It reads the header at once: a file without one (empty,
// or only blank lines) is an error.
//
// The separator is taken from the header line, as spreadsheets write it
// where the decimal mark is a comma: an Excel "sep=;" first line, or
// else, when the header holds no comma outside quotes, whichever of
// semicolon and tab it holds more of. A wrong guess cannot pass unseen: the
// header would then be one column that matches no declared field. UTF-16
// text with a byte order mark (Excel's "Unicode Text") is read as UTF-8.
// A header cell left empty (a trailing separator on every line) names no
// column: its cells are read and belong to no field.
func NewReader(r io.Reader, file string) (*Reader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	// A byte order mark is dropped here rather than by trimming the first
	// header cell, so that a quoted first cell still parses as quoted.
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	} else if b, err := br.Peek(2); err == nil && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF) {
		br.Discard(2)
		br = bufio.NewReaderSize(&utf16Reader{r: br, bigEndian: b[0] == 0xFE}, 256<<10)
	}
	x := &Reader{file: file, p: &parser{r: br, sep: ','}}
	if err := x.sniff(); err != nil {
		return nil, err
	}
	h, line, err := x.next()
	if err == io.EOF {
		return nil, pos.Errorf(pos.Pos{File: file, Line: 1}, "empty file: want a header row")
	}
	if err != nil {
		return nil, err
	}
	x.header = make([]string, len(h))
	x.index = make(map[string]int, len(h))
	for i, c := range h {
		c = strings.TrimSpace(c)
		x.header[i] = c
		if c == "" {
			continue
		}
		if j, dup := x.index[c]; dup {
			return nil, pos.Errorf(pos.Pos{File: file, Line: line}, "header has column %q twice (columns %d and %d)", c, j+1, i+1)
		}
		x.index[c] = i
	}
	if len(x.index) == 0 {
		return nil, pos.Errorf(pos.Pos{File: file, Line: line}, "the header row names no column")
	}
	return x, nil
}

// sniff sets the separator from the first line: an Excel "sep=X" line
// (consumed), or the most frequent of comma, semicolon and tab outside
// quotes.
func (x *Reader) sniff() error {
	// A read error is left for the parser, which names its line: both
	// the files and the UTF-16 decoder repeat their errors.
	b, _ := x.p.r.Peek(x.p.r.Size())
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 5 && strings.EqualFold(string(b[:4]), "sep=") && b[4] < utf8.RuneSelf && b[4] != '"' {
		x.p.sep = b[4]
		_, err := x.p.readLine()
		return err
	}
	var n [3]int
	quoted := false
	for _, c := range b {
		switch c {
		case '"':
			quoted = !quoted
		case ',', ';', '\t':
			if !quoted {
				n[strings.IndexByte(",;\t", c)]++
			}
		}
	}
	// A comma anywhere outside quotes keeps the comma: every file bethel
	// writes has one in its header, unless it has one column, and Writer
	// quotes a header cell holding another separator.
	if n[0] == 0 && n[1] >= n[2] && n[1] > 0 {
		x.p.sep = ';'
	} else if n[0] == 0 && n[2] > n[1] {
		x.p.sep = '\t'
	}
	return nil
}

// Separator is the field separator the Reader uses.
func (x *Reader) Separator() byte { return x.p.sep }

// File is the path the Reader names in errors.
func (x *Reader) File() string { return x.file }

// Header returns the header cells, trimmed of surrounding space.
func (x *Reader) Header() []string { return x.header }

// Index returns the position of column name in each record, or -1.
func (x *Reader) Index(name string) int {
	if i, ok := x.index[name]; ok {
		return i
	}
	return -1
}

// Require returns the positions of cols, or an error naming the file and
// every missing column.
func (x *Reader) Require(cols ...string) ([]int, error) {
	idx := make([]int, len(cols))
	var missing []string
	for i, c := range cols {
		idx[i] = x.Index(c)
		if idx[i] < 0 {
			missing = append(missing, fmt.Sprintf("%q", c))
		}
	}
	if len(missing) > 0 {
		word := "column"
		if len(missing) > 1 {
			word = "columns"
		}
		return nil, pos.Errorf(pos.Pos{File: x.file, Line: 1}, "missing required %s %s (header has %s)",
			word, strings.Join(missing, ", "), strings.Join(x.header, ", "))
	}
	return idx, nil
}

// Converted reports how many fields were decoded from Windows-1252, and the
// line of the first one (0 when none).
func (x *Reader) Converted() (fields, firstLine int) { return x.converted, x.firstConv }

// Read returns the next data record, or io.EOF after the last one. Blank
// lines and rows whose cells are all empty are skipped. The returned
// record's Fields slice is reused by the next Read; the strings in it may
// be kept.
func (x *Reader) Read() (*Record, error) {
	for {
		f, line, err := x.next()
		if err != nil {
			return nil, err
		}
		if blank(f) {
			continue
		}
		if len(f) != len(x.header) {
			return nil, pos.Errorf(pos.Pos{File: x.file, Line: line},
				"row has %d fields, header has %d", len(f), len(x.header))
		}
		x.rec = Record{Line: line, Fields: f}
		return &x.rec, nil
	}
}

// ReadAll reads a whole small table (a summary bethel wrote, an export to
// guess fields from): its header and its rows with the formula guard
// undone (Unescape), as a reader of the values wants them.
func ReadAll(r io.Reader, file string) (header []string, rows [][]string, err error) {
	cr, err := NewReader(r, file)
	if err != nil {
		return nil, nil, err
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return cr.Header(), rows, nil
		}
		if err != nil {
			return nil, nil, err
		}
		// Read has already undone Escape; a second Unescape would eat an
		// apostrophe that is part of the value ('=x read back as =x).
		rows = append(rows, append([]string(nil), rec.Fields...))
	}
}

// next reads one raw record, decoded and unescaped, with its start line.
func (x *Reader) next() ([]string, int, error) {
	f, lines, err := x.p.read()
	if err != nil {
		var pe *parseError
		if errors.As(err, &pe) {
			msg := pe.Error()
			if pe.err == errBareQuote {
				msg += ` (a quote inside a field must be doubled and the field quoted: "5'3""")`
			}
			return nil, 0, pos.Errorf(pos.Pos{File: x.file, Line: pe.line, Col: pe.col}, "%s", msg)
		}
		if err != io.EOF {
			// A read error (a file that is not valid UTF-16, a disk
			// error) is named at the line the parser had reached.
			return nil, 0, pos.Errorf(pos.Pos{File: x.file, Line: x.p.line + 1}, "%v", err)
		}
		return nil, 0, err
	}
	line := lines[0]
	// Fields are substrings of one string per record: checking the whole
	// record once is far cheaper than checking every field.
	if x.p.valid {
		// The common case, without a store per field.
		for i, s := range f {
			if len(s) > 1 && s[0] == '\'' {
				f[i] = Unescape(s)
			}
		}
		return f, line, nil
	}
	for i, s := range f {
		if !utf8.ValidString(s) {
			d, ok := decode1252(s)
			if !ok {
				col := fmt.Sprintf("column %d", i+1)
				if i < len(x.header) {
					col = fmt.Sprintf("column %q", x.header[i])
				}
				return nil, 0, pos.Errorf(pos.Pos{File: x.file, Line: lines[i]},
					"%s is neither UTF-8 nor Windows-1252 text; re-save the file as \"CSV UTF-8\"", col)
			}
			if x.converted == 0 {
				x.firstConv = line
			}
			x.converted++
			s = d
		}
		if len(s) > 1 && s[0] == '\'' {
			s = Unescape(s)
		}
		f[i] = s
	}
	return f, line, nil
}

func blank(f []string) bool {
	for _, s := range f {
		if strings.TrimSpace(s) != "" {
			return false
		}
	}
	return true
}

// cp1252 maps the bytes 0x80-0x9F, where Windows-1252 differs from Latin-1;
// 0 marks the five bytes it leaves undefined.
var cp1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

// decode1252 converts s from Windows-1252. It refuses (ok false) when s
// holds a valid multi-byte UTF-8 sequence (a file mixing encodings, or
// UTF-8 with a damaged byte: converting would garble the valid part) or an
// undefined byte.
func decode1252(s string) (string, bool) {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || n > 1 {
			return "", false
		}
		i++
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x80:
			b.WriteByte(c)
		case c < 0xA0:
			r := cp1252[c-0x80]
			if r == 0 {
				return "", false
			}
			b.WriteRune(r)
		default:
			b.WriteRune(rune(c))
		}
	}
	return b.String(), true
}
