package csvio

import (
	"io"
	"strings"
)

// Writer writes CSV for spreadsheets: see the package comment for the
// format. Call Flush (or check the error of the last Write) at the end.
//
// Rows are formatted straight into the Writer's own buffer (AppendRow),
// which goes to w in large writes: formatting was a third of the cost of
// writing the registrations table when each row went through a row buffer
// and then a bufio.Writer.
type Writer struct {
	w       io.Writer
	buf     []byte
	flushAt int // write buf out once it holds this much
	started bool
	noBOM   bool
	err     error // sticky, as bufio.Writer's
}

const writeBuffer = 256 << 10

// NewWriter returns a Writer that starts the file with a UTF-8 byte order
// mark.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, flushAt: writeBuffer}
}

// NewWriterNoBOM returns a Writer that omits the byte order mark, for
// files whose consumers are scripts rather than spreadsheets.
func NewWriterNoBOM(w io.Writer) *Writer {
	return &Writer{w: w, flushAt: writeBuffer, noBOM: true}
}

// Write writes one row. Every field is escaped (Escape) and quoted when
// needed. An error of the underlying writer is returned by this Write or
// a later one, and by Flush.
func (x *Writer) Write(fields []string) error {
	if x.err != nil {
		return x.err
	}
	if x.buf == nil {
		x.buf = make([]byte, 0, x.flushAt+x.flushAt/8+512)
	}
	if !x.started {
		x.started = true
		if !x.noBOM {
			x.buf = append(x.buf, "\uFEFF"...)
		}
		x.buf = appendHeader(x.buf, fields)
	} else {
		x.buf = AppendRow(x.buf, fields)
	}
	if len(x.buf) >= x.flushAt {
		return x.Flush()
	}
	return nil
}

// appendHeader is AppendRow for the first row, which also quotes a cell
// holding a semicolon or a tab: Reader takes its separator from the
// header, and a one-column header must not look semicolon-separated.
func appendHeader(dst []byte, fields []string) []byte {
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		if strings.ContainsAny(f, ";\t") && !needsEscape(f) && !needsQuotes(f) {
			dst = appendQuoted(dst, f)
			continue
		}
		dst = AppendRow(dst, []string{f})
		dst = dst[:len(dst)-1]
	}
	return append(dst, '\n')
}

// Flush writes any buffered data to the underlying writer.
func (x *Writer) Flush() error {
	if x.err != nil {
		return x.err
	}
	if len(x.buf) == 0 {
		return nil
	}
	n, err := x.w.Write(x.buf)
	if err == nil && n < len(x.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		x.err = err
		return err
	}
	x.buf = x.buf[:0]
	return nil
}

// Byte classes for AppendRow: one table lookup per byte decides whether a
// cell can be copied as it is.
const (
	// special bytes force quotes anywhere in a cell.
	special = 1 << iota
	// edge bytes force quotes at either end of a cell (leading or
	// trailing space).
	edge
	// lead bytes at the start of a cell may need the formula guard
	// (Escape): a trigger, or an apostrophe that may already be one.
	lead
)

var class = [256]uint8{
	',': special, '"': special, '\n': special, '\r': special | lead,
	' ': edge, '\t': edge | lead,
	'=': lead, '+': lead, '-': lead, '@': lead, '\'': lead,
}

// AppendRow appends one CSV row, as Writer writes it (escaped, quoted
// where needed, ending in \n), to dst and returns the extended slice. It
// lets a caller that keeps formatted rows in memory (to sort them, say)
// skip a Writer and a copy.
func AppendRow(dst []byte, fields []string) []byte {
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		if f == "" {
			continue
		}
		if class[f[0]]&(lead|edge) != 0 || class[f[len(f)-1]]&edge != 0 {
			dst = appendCell(dst, f)
			continue
		}
		if !hasSpecial(f) {
			dst = append(dst, f...)
		} else {
			dst = appendQuoted(dst, f)
		}
	}
	return append(dst, '\n')
}

// appendCell is the general case of one cell: the formula guard, then
// quotes when needed.
func appendCell(dst []byte, f string) []byte {
	if !needsEscape(f) {
		if needsQuotes(f) {
			return appendQuoted(dst, f)
		}
		return append(dst, f...)
	}
	// The apostrophe leads the cell: only f's last byte and its content
	// can call for quotes.
	if c := f[len(f)-1]; c == ' ' || c == '\t' || hasSpecial(f) {
		return appendQuotedBody(append(dst, '"', '\''), f)
	}
	dst = append(dst, '\'')
	return append(dst, f...)
}

// hasSpecial reports whether s holds a byte that forces quotes. (Testing
// eight bytes at a time was no faster on cells this short.)
func hasSpecial(s string) bool {
	for i := 0; i < len(s); i++ {
		if class[s[i]]&special != 0 {
			return true
		}
	}
	return false
}

func appendQuoted(dst []byte, f string) []byte {
	return appendQuotedBody(append(dst, '"'), f)
}

// appendQuotedBody appends f with its quotes doubled, and the closing
// quote.
func appendQuotedBody(dst []byte, f string) []byte {
	for {
		i := strings.IndexByte(f, '"')
		if i < 0 {
			break
		}
		dst = append(dst, f[:i+1]...)
		dst = append(dst, '"')
		f = f[i+1:]
	}
	dst = append(dst, f...)
	return append(dst, '"')
}

func needsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t' {
		return true
	}
	return hasSpecial(s)
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
	if needsEscape(s) {
		return "'" + s
	}
	return s
}

// needsEscape reports whether Escape changes s.
func needsEscape(s string) bool {
	return s != "" && ((isTrigger(s[0]) && !isNumber(s)) || escaped(s))
}

// Unescape reverses Escape: it drops one leading apostrophe of a cell that
// Escape would have produced.
func Unescape(s string) string {
	if len(s) > 1 && s[0] == '\'' && escaped(s) {
		return s[1:]
	}
	return s
}
