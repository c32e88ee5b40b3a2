package xlsxw

import (
	"unicode/utf8"
)

// special marks the bytes that text cannot copy as they are: XML's markup
// characters, the control characters XML 1.0 forbids (and the carriage
// return, which an XML reader would turn into a line feed), the underscore
// that may start an escape of the format's own (_x0041_), and every byte
// of a multi-byte character, which is checked for validity.
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t' && c != '\n'
	}
	for _, c := range `&<>"_` {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// appendText appends a <t> element holding s. Leading or trailing space
// is kept by xml:space="preserve" (readers trim it otherwise).
func appendText(b []byte, s string) []byte {
	if s != "" && (isSpace(s[0]) || isSpace(s[len(s)-1])) {
		b = append(b, `<t xml:space="preserve">`...)
	} else {
		b = append(b, `<t>`...)
	}
	b = appendEscaped(b, s, false)
	return append(b, `</t>`...)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendEscaped appends s as XML character data (attr: as an attribute
// value, which also escapes the double quote and keeps tabs and line feeds
// as references, which attribute normalization would otherwise turn into
// spaces). A control character XML cannot hold, U+FFFE and U+FFFF are
// written in the format's escape _xHHHH_, which spreadsheet applications
// read back as the character; an underscore that would otherwise start
// such an escape is itself escaped (_x005F_), so that the text reads back
// as written. A byte that is not UTF-8 becomes U+FFFD.
func appendEscaped(b []byte, s string, attr bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if !special[c] && !(attr && (c == '\t' || c == '\n')) {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		n := 1
		switch {
		case c == '&':
			b = append(b, "&amp;"...)
		case c == '<':
			b = append(b, "&lt;"...)
		case c == '>':
			b = append(b, "&gt;"...)
		case c == '"':
			if attr {
				b = append(b, "&quot;"...)
			} else {
				b = append(b, c)
			}
		case c == '\r':
			b = append(b, "&#13;"...)
		case c == '\t':
			b = append(b, "&#9;"...)
		case c == '\n':
			b = append(b, "&#10;"...)
		case c == '_':
			if isEscapeAt(s, i) {
				b = append(b, "_x005F_"...)
			} else {
				b = append(b, c)
			}
		case c < 0x20:
			b = appendHexEscape(b, rune(c))
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			n = size
			switch {
			case r == utf8.RuneError && size == 1:
				b = append(b, "\uFFFD"...)
			case r == 0xFFFE || r == 0xFFFF:
				b = appendHexEscape(b, r)
			default:
				b = append(b, s[i:i+size]...)
			}
		}
		i += n
		start = i
	}
	return append(b, s[start:]...)
}

// isEscapeAt reports whether s holds _xHHHH_ at i.
func isEscapeAt(s string, i int) bool {
	if i+7 > len(s) || s[i+1] != 'x' || s[i+6] != '_' {
		return false
	}
	for _, c := range []byte(s[i+2 : i+6]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func appendHexEscape(b []byte, r rune) []byte {
	const hex = "0123456789ABCDEF"
	return append(b, '_', 'x', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15], '_')
}
