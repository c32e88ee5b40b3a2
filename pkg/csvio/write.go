package csvio

import (
	"bufio"
	"io"
)

// Writer writes CSV for spreadsheets: see the package comment for the
// format. Call Flush (or check the error of the last Write) at the end.
type Writer struct {
	w       *bufio.Writer
	started bool
	noBOM   bool
	buf     []byte
}

// NewWriter returns a Writer that starts the file with a UTF-8 byte order
// mark.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 256<<10)}
}

// NewWriterNoBOM returns a Writer that omits the byte order mark, for
// files whose consumers are scripts rather than spreadsheets.
func NewWriterNoBOM(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 256<<10), noBOM: true}
}

// Write writes one row. Every field is escaped (Escape) and quoted when
// needed.
func (x *Writer) Write(fields []string) error {
	b := x.buf[:0]
	if !x.started {
		x.started = true
		if !x.noBOM {
			b = append(b, "\uFEFF"...)
		}
	}
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		f = Escape(f)
		if needsQuotes(f) {
			b = append(b, '"')
			for j := 0; j < len(f); j++ {
				if f[j] == '"' {
					b = append(b, '"')
				}
				b = append(b, f[j])
			}
			b = append(b, '"')
		} else {
			b = append(b, f...)
		}
	}
	b = append(b, '\n')
	x.buf = b
	_, err := x.w.Write(b)
	return err
}

// Flush writes any buffered data to the underlying writer.
func (x *Writer) Flush() error { return x.w.Flush() }

func needsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t' {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			return true
		}
	}
	return false
}

// isTrigger reports whether a spreadsheet may read a cell starting with c
// as a formula (OWASP's list: = + - @, tab and carriage return).
func isTrigger(c byte) bool {
	return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r'
}

// isNumber reports whether s is a plain decimal number (-5, 12.50), which a
// spreadsheet reads as a number, never as a formula; such cells are not
// escaped so that count columns stay numeric.
func isNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		frac := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			frac++
		}
		if frac == 0 {
			return false
		}
	}
	return i == len(s)
}

// escaped reports whether s is apostrophes followed by a formula trigger,
// that is, whether it is the escaped form of something.
func escaped(s string) bool {
	i := 0
	for i < len(s) && s[i] == '\'' {
		i++
	}
	return i > 0 && i < len(s) && isTrigger(s[i]) && !isNumber(s[i:])
}

// Escape defuses formula injection: a cell that starts with = + - @, a tab
// or a carriage return (and is not a plain number such as -5) gets an
// apostrophe in front, which spreadsheets show as text. A cell that
// already looks escaped (apostrophes then a trigger) gets one more, so that
// Unescape restores every value exactly.
func Escape(s string) string {
	if s == "" {
		return s
	}
	if (isTrigger(s[0]) && !isNumber(s)) || escaped(s) {
		return "'" + s
	}
	return s
}

// Unescape reverses Escape: it drops one leading apostrophe of a cell that
// Escape would have produced.
func Unescape(s string) string {
	if len(s) > 1 && s[0] == '\'' && escaped(s) {
		return s[1:]
	}
	return s
}
