package csvio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"unicode/utf8"
)

// parser is an RFC 4180 record parser with encoding/csv's strict rules
// (no lazy quotes, no comment lines, empty lines skipped, \r\n read as \n
// even inside quotes). It exists because encoding/csv was the largest
// single cost of a million-row build: this one scans a line for commas
// and quotes with IndexByte and allocates one string per record. A fuzz
// test checks that it agrees with encoding/csv on every input.
type parser struct {
	r      *bufio.Reader
	sep    byte // the field separator: ',' unless the header says otherwise
	line   int  // physical lines consumed
	buf    []byte
	ends   []int
	lines  []int
	fields []string
	long   []byte // a line longer than the bufio buffer
	// valid reports whether the last record read is valid UTF-8 as a
	// whole, so that the Reader checks fields one by one only when not.
	valid bool
}

// errQuote and errBareQuote carry encoding/csv's wording.
var (
	errQuote     = errors.New(`extraneous or missing " in quoted-field`)
	errBareQuote = errors.New(`bare " in non-quoted-field`)
	errNoClose   = errors.New(`quoted field never ends: a closing " is missing`)
)

// parseError is a syntax error at a physical line and 1-based byte column.
type parseError struct {
	line, col int
	err       error
}

func (e *parseError) Error() string { return e.err.Error() }

// readLine returns the next physical line without its line end (\n, or
// \r\n, or a final \r at the end of the input), and io.EOF when there is
// none. The slice is valid until the next call.
func (p *parser) readLine() ([]byte, error) {
	l, err := p.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		p.long = append(p.long[:0], l...)
		for err == bufio.ErrBufferFull {
			l, err = p.r.ReadSlice('\n')
			p.long = append(p.long, l...)
		}
		l = p.long
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(l) == 0 && err == io.EOF {
		return nil, io.EOF
	}
	p.line++
	if n := len(l); n > 0 && l[n-1] == '\n' {
		l = l[:n-1]
		if n := len(l); n > 0 && l[n-1] == '\r' {
			l = l[:n-1]
		}
	} else if n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, nil
}

// read returns the next record's fields and the line each field starts
// on; both slices are reused by the next call.
func (p *parser) read() ([]string, []int, error) {
	var l []byte
	for {
		var err error
		l, err = p.readLine()
		if err != nil {
			return nil, nil, err
		}
		if len(l) > 0 {
			break
		}
	}
	p.buf, p.ends, p.lines = p.buf[:0], p.ends[:0], p.lines[:0]
	if bytes.IndexByte(l, '"') < 0 {
		// Most records have no quotes: one copy of the line, fields are
		// substrings of it.
		s := string(l)
		p.valid = utf8.ValidString(s)
		p.fields = splitSep(p.fields[:0], l, s, p.sep)
		for range p.fields {
			p.lines = append(p.lines, p.line)
		}
		return p.fields, p.lines, nil
	}
	pos := 0
	for {
		p.lines = append(p.lines, p.line)
		if pos < len(l) && l[pos] == '"' {
			startLine, startCol := p.line, pos+1
			pos++
			for {
				i := bytes.IndexByte(l[pos:], '"')
				if i < 0 {
					// The quoted field goes on on the next line.
					p.buf = append(p.buf, l[pos:]...)
					p.buf = append(p.buf, '\n')
					var err error
					l, err = p.readLine()
					if err == io.EOF {
						return nil, nil, &parseError{line: startLine, col: startCol, err: errNoClose}
					}
					if err != nil {
						return nil, nil, err
					}
					pos = 0
					continue
				}
				p.buf = append(p.buf, l[pos:pos+i]...)
				pos += i + 1
				if pos < len(l) && l[pos] == '"' {
					p.buf = append(p.buf, '"')
					pos++
					continue
				}
				break
			}
			p.ends = append(p.ends, len(p.buf))
			if pos == len(l) {
				break
			}
			if l[pos] != p.sep {
				return nil, nil, &parseError{line: p.line, col: pos + 1, err: errQuote}
			}
			pos++
			continue
		}
		i := bytes.IndexByte(l[pos:], p.sep)
		f := l[pos:]
		if i >= 0 {
			f = l[pos : pos+i]
		}
		if j := bytes.IndexByte(f, '"'); j >= 0 {
			return nil, nil, &parseError{line: p.line, col: pos + j + 1, err: errBareQuote}
		}
		p.buf = append(p.buf, f...)
		p.ends = append(p.ends, len(p.buf))
		if i < 0 {
			break
		}
		pos += i + 1
	}
	s := string(p.buf)
	p.valid = utf8.ValidString(s)
	p.fields = p.fields[:0]
	start := 0
	for _, e := range p.ends {
		p.fields = append(p.fields, s[start:e])
		start = e
	}
	return p.fields, p.lines, nil
}

// splitSep appends the sep-separated fields of s to fields; l holds the
// same bytes as s, and sep is an ASCII byte. Cells are short (a
// registration averages eight bytes), so instead of an IndexByte call per
// field it tests eight bytes at a time for sep and takes their positions
// from the mask.
func splitSep(fields []string, l []byte, s string, sep byte) []string {
	const low7 = 0x7f7f7f7f7f7f7f7f
	seps := uint64(sep) * 0x0101010101010101
	start, i := 0, 0
	for ; i+8 <= len(l); i += 8 {
		v := binary.LittleEndian.Uint64(l[i:]) ^ seps
		// Bit 7 of each byte of m is set exactly where v's byte is zero,
		// that is, where l holds sep (no borrow crosses bytes).
		m := ^((v&low7 + low7) | v | low7)
		for m != 0 {
			j := i + bits.TrailingZeros64(m)>>3
			fields = append(fields, s[start:j])
			start = j + 1
			m &= m - 1
		}
	}
	for ; i < len(l); i++ {
		if l[i] == sep {
			fields = append(fields, s[start:i])
			start = i + 1
		}
	}
	return append(fields, s[start:])
}
