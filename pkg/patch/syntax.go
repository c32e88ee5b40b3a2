package patch

import (
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"bethel/pkg/lazyre"
	"bethel/pkg/pos"
)

// syntaxError turns a TOML parse error of a patch file into a pos.Error
// that shows the offending line with a caret under the problem. Patch
// files hold values of minors' records (a misspelt first name is the usual
// reason for a patch), and the error reaches the terminal, the build report
// and the review site, so every value in the excerpt and in the message is
// masked: keys, brackets, quotes and '=' stay, so the shape of the mistake
// is still visible.
func syntaxError(file string, data []byte, pe toml.ParseError) error {
	line, col := pe.Position.Line, pe.Position.Col
	if st := pe.Position.Start; st >= 0 && st <= len(data) {
		// Start (a byte offset) is exact where Col is not after an inline
		// table that spans lines.
		line = 1 + strings.Count(string(data[:st]), "\n")
		col = st - (strings.LastIndexByte(string(data[:st]), '\n') + 1) + 1
	}
	msg := maskMessage(pe.Message)
	lines := strings.Split(string(data), "\n")
	// The parser notices a missing '}' or ',' only at the next key, which
	// is on the next line: point at the end of the line that lacks it.
	if strings.HasPrefix(pe.Message, "expected a comma or an inline table terminator") && line >= 2 && line <= len(lines) &&
		strings.TrimSpace(lines[line-1][:min(max(col-1, 0), len(lines[line-1]))]) == "" {
		prev := line - 1
		for prev > 1 && strings.TrimSpace(stripComment(lines[prev-1])) == "" {
			prev--
		}
		line = prev
		col = len(strings.TrimRight(stripComment(lines[line-1]), " \t\r")) + 1
		msg = "inline table not closed: a '}' is missing at the end of this line (or a ',' before the next key)"
	}
	e := &pos.Error{Pos: pos.Pos{File: file, Line: line}, Msg: msg}
	if line >= 1 && line <= len(lines) {
		src, offsets := maskLine(strings.TrimRight(lines[line-1], "\r"))
		e.Source = src
		if col >= 1 {
			// Col counts bytes from 1 in the original line; offsets maps it
			// into the masked one.
			c := col - 1
			if c >= len(offsets) {
				c = len(offsets) - 1
			}
			e.Pos.Col = offsets[c] + 1
		}
	}
	return e
}

var (
	// quotedRE finds what the TOML parser quotes in its messages: the text
	// it read, which may be part of a value.
	quotedRE = lazyre.New(`"(?:[^"\\]|\\.)*"|'[^']*'`)
	// foundRE and datetimeRE are the messages that say what a bare value
	// should have been.
	foundRE    = lazyre.New(`^expected value but found "(?:[^"\\]|\\.)*" instead$`)
	datetimeRE = lazyre.New(`^invalid datetime: `)
)

// maskMessage rewrites a parser message so that it quotes no text of the
// file (only punctuation the parser expected), and says what to do for the
// common mistakes.
func maskMessage(m string) string {
	switch {
	case foundRE().MatchString(m):
		return `expected a value: text needs quotes ("like this"), numbers and dates do not`
	case datetimeRE().MatchString(m):
		return "invalid date: write YYYY-MM-DD (2026-05-01)"
	}
	if i := strings.Index(m, ", but got"); i > 0 {
		m = m[:i]
	}
	return quotedRE().ReplaceAllStringFunc(m, func(q string) string {
		inner := q[1 : len(q)-1]
		if len(inner) <= 3 && strings.Trim(inner, "{}[],=.\\n") == "" {
			return q
		}
		return q[:1] + "…" + q[len(q)-1:]
	})
}

// maskLine replaces every value character of one TOML line with '*': the
// contents of strings in value position, bare values (numbers, dates,
// unquoted words) and comments. Keys (before '='), table headers and
// punctuation stay. It returns the masked line and, for each byte offset
// of the original line (and one past its end), the offset in the masked
// line.
func maskLine(s string) (string, []int) {
	var b strings.Builder
	offsets := make([]int, len(s)+1)
	header := isHeader(s)
	// A line that starts with a key begins in key position; anything else
	// (the continuation of a multi-line array or inline table) is values.
	cont := !header && !startsWithKey(s)
	value := cont
	var quote byte // the open string's quote, or 0
	comment := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		for k := 0; k < n; k++ {
			offsets[i+k] = b.Len()
		}
		c := s[i]
		out := string(r)
		switch {
		case comment:
			if c != ' ' && c != '\t' {
				out = "*"
			}
		case quote != 0:
			if c == quote {
				quote = 0
				// After a value string, a key follows unless an array is
				// open (a missing ',' is the usual mistake).
				value = value && inArray(s[:i], cont)
			} else if value {
				out = "*"
				if c == '\\' && i+1 < len(s) {
					// An escape is one masked character.
					i++
					offsets[i] = b.Len()
				}
			}
		case header:
		case c == '#':
			comment = true
		case c == '"' || c == '\'':
			quote = c
		case c == '=':
			value = true
		case c == ',' || c == '{':
			// After ',' or '{' comes a key inside an inline table, or the
			// next value of an array.
			value = c == ',' && inArray(s[:i], cont)
		case c == '[' || c == ']' || c == '}' || c == ' ' || c == '\t':
		default:
			if value {
				out = "*"
			}
		}
		b.WriteString(out)
		i += n
	}
	offsets[len(s)] = b.Len()
	return b.String(), offsets
}

var (
	headerLineRE = lazyre.New(`^\s*\[\[?\s*[A-Za-z0-9_."' -]+\]\]?\s*(#.*)?$`)
	keyStartRE   = lazyre.New(`^\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*\s*=`)
)

func isHeader(s string) bool { return headerLineRE().MatchString(s) }

func startsWithKey(s string) bool { return keyStartRE().MatchString(s) }

// inArray reports whether the prefix of a line leaves an array open (more
// '[' than ']' after the last '{' that is still open), so that a ','
// separates values rather than key = value pairs. Strings are skipped. A
// continuation line (cont) starts inside a multi-line array.
func inArray(prefix string, cont bool) bool {
	var stack []byte
	var quote byte
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			stack = append(stack, c)
		case (c == ']' || c == '}') && len(stack) > 0:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) == 0 {
		return cont
	}
	return stack[len(stack)-1] == '['
}

// stripComment drops a '#' comment that is outside strings.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			return s[:i]
		}
	}
	return s
}
