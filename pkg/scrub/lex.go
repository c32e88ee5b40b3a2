package scrub

import (
	"unicode"
	"unicode/utf8"
)

// A token is a maximal run of letters or of ASCII digits, normalized:
// letters lower-cased with their accents folded (É and e are one letter),
// combining marks ignored. A change from letters to digits ends a token, so
// "calgate35" is two tokens and "21st" is "21" and "st"; everything else
// (spaces, punctuation, symbols) separates tokens and is recorded as the
// gap before the next one. Values and searched text go through this same
// lexer, which is what makes the match insensitive to case, spacing and
// punctuation.
type token struct {
	start, end int    // byte offsets in the text
	gap        int    // byte offset where the separator before it starts
	h          uint64 // FNV-1a of the normalized bytes
	digit      bool
	nd         int // number of digits when digit
	val        int // numeric value when digit and nd <= 8, else -1
	line       int // 1-based line of start
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fold maps U+00C0..U+017F to its base letter; '?' means no fold.
const fold = "aaaaaaaceeeeiiiidnoooooxouuuuytsaaaaaaaceeeeiiiidnooooo?ouuuuytyaaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii??jjkkkllllllllllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs"

// normRune is r as it takes part in a token's hash.
func normRune(r rune) rune {
	if r >= 0xC0 && r < 0x180 {
		if c := fold[r-0xC0]; c != '?' {
			return rune(c)
		}
	}
	return unicode.ToLower(r)
}

// lexer yields the tokens of b in order.
type lexer struct {
	b    []byte
	i    int
	line int
}

func newLexer(b []byte) lexer { return lexer{b: b, line: 1} }

// class is 0 for a separator, 1 for a letter, 2 for a digit, 3 for a
// combining mark (part of a letter token, else a separator).
func classAt(b []byte, i int) (class int, r rune, size int) {
	c := b[i]
	if c < utf8.RuneSelf {
		return int(asciiClass[c]), rune(c), 1
	}
	r, size = utf8.DecodeRune(b[i:])
	switch {
	case unicode.IsLetter(r):
		return 1, r, size
	case unicode.Is(unicode.Mn, r):
		return 3, r, size
	}
	return 0, r, size
}

// asciiClass is classAt's class of each ASCII byte.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			t[c] = 1
		case c >= '0' && c <= '9':
			t[c] = 2
		}
	}
	return t
}()

func (l *lexer) next() (token, bool) {
	b := l.b
	gap := l.i
	for l.i < len(b) {
		c := b[l.i]
		if c < utf8.RuneSelf {
			if asciiClass[c] != 0 {
				break
			}
			if c == '\n' {
				l.line++
			}
			l.i++
			continue
		}
		cl, _, size := classAt(b, l.i)
		if cl == 1 || cl == 2 {
			break
		}
		l.i += size
	}
	if l.i >= len(b) {
		return token{}, false
	}
	t := token{start: l.i, gap: gap, h: fnvOffset, val: -1, line: l.line}
	cl, _, _ := classAt(b, l.i)
	if cl == 2 {
		t.digit = true
		v := 0
		for l.i < len(b) && b[l.i] >= '0' && b[l.i] <= '9' {
			t.h = (t.h ^ uint64(b[l.i])) * fnvPrime
			v = v*10 + int(b[l.i]-'0')
			t.nd++
			l.i++
		}
		if t.nd <= 8 {
			t.val = v
		}
		t.end = l.i
		return t, true
	}
	var enc [utf8.UTFMax]byte
	for l.i < len(b) {
		c := b[l.i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			} else if c < 'a' || c > 'z' {
				break
			}
			t.h = (t.h ^ uint64(c)) * fnvPrime
			l.i++
			continue
		}
		cl, r, size := classAt(b, l.i)
		if cl == 3 {
			l.i += size
			continue
		}
		if cl != 1 {
			break
		}
		n := utf8.EncodeRune(enc[:], normRune(r))
		for _, x := range enc[:n] {
			t.h = (t.h ^ uint64(x)) * fnvPrime
		}
		l.i += size
	}
	t.end = l.i
	return t, true
}

// tokens lexes s whole; for building forms, never for large text.
func tokens(s string) []token {
	var ts []token
	l := newLexer([]byte(s))
	for {
		t, ok := l.next()
		if !ok {
			return ts
		}
		ts = append(ts, t)
	}
}

// mix64 is the splitmix64 finalizer: it spreads every input bit over the
// whole word, so that the low bits used for flags and table slots are as
// good as the high ones.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Seeds keep the three kinds of keys apart: a phone's digits never equal
// a word sequence's key.
const (
	seedWords = 0x9e3779b97f4a7c15
	seedDate  = 0xc2b2ae3d27d4eb4f
	seedPhone = 0x165667b19e3779f9
)

// wordsStart and wordsNext compute a word sequence's key one token at a
// time, so the scanner extends a candidate without rehashing its text.
func wordsStart(t uint64) uint64   { return mix64(seedWords ^ t) }
func wordsNext(h, t uint64) uint64 { return mix64(h*0x9fb21c651e98df25 + t) }

// dateKey is the key of a calendar date.
func dateKey(y, m, d int) uint64 { return mix64(seedDate ^ uint64(y*10000+m*100+d)) }

// phoneKey is the key of a phone number's digits, given their running
// FNV-1a state (see digitsHash).
func phoneKey(fnv uint64) uint64 { return mix64(seedPhone ^ fnv) }

// digitsHash continues an FNV-1a state over the ASCII digits of b.
func digitsHash(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

// continueHash continues a token's FNV-1a state over b, the bytes of a
// following token of the same class, normalized as the lexer does: the
// hash of the two tokens written together.
func continueHash(h uint64, b []byte) uint64 {
	var enc [utf8.UTFMax]byte
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			h = (h ^ uint64(c)) * fnvPrime
			i++
			continue
		}
		cl, r, size := classAt(b, i)
		i += size
		if cl != 1 {
			continue
		}
		n := utf8.EncodeRune(enc[:], normRune(r))
		for _, x := range enc[:n] {
			h = (h ^ uint64(x)) * fnvPrime
		}
	}
	return h
}
