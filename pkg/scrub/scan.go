package scrub

import (
	"sort"
	"strings"
)

// Limits of the scanner's candidates. A word form continues over a
// separator of at most maxWordGap bytes on one line ("Mia  Talcroft",
// "Talcroft, Mia"'s parts); a known phone number over at most
// maxPhoneTokens digit groups (15: one digit each, "6 3 0 5 5 5 0 1 0 9"),
// a number shaped like one (not known) over at most maxPatternTokens.
const (
	maxWordGap       = 4
	maxPhoneTokens   = 15
	maxPatternTokens = 6
	window           = 4 // tokens a date may span
)

type wordCand struct {
	start int
	line  int
	// one: a single word so far. A number of one or two digits is no
	// word of its own ("+1 shirt" is one word: found in `hidden="1">'Shirt'`
	// of a workbook as much as in a note).
	one bool
	// small: every token so far is a small number.
	small bool
	h     uint64
}

// small is a number of one or two digits: it adds no evidence to the word
// beside it.
func small(t token) bool { return t.digit && t.nd < 3 }

type phoneCand struct {
	start, line int
	fnv         uint64
	nd, ntok    int
	// firstND and firstEnd are the first digit group's digits and end
	// (a local number's 555 before its -0120).
	firstND, firstEnd int
}

// scanner walks the tokens of one text and collects hits.
type scanner struct {
	s        *Set
	b        []byte
	patterns bool
	hits     []Hit
	words    []wordCand
	next     []wordCand
	phones   []phoneCand
	// ring holds the latest tokens of the run of joined tokens, the
	// last at ring[(rpos-1)%window]; nwin of them (at most window) are
	// in the run.
	ring  [window]token
	rpos  int
	nwin  int
	dates []dateHit
}

func (sc *scanner) hit(start, end, line int, k Kind) {
	sc.hits = append(sc.hits, Hit{Offset: start, Length: end - start, Line: line, Kind: k})
}

func (sc *scanner) run() []Hit {
	l := newLexer(sc.b)
	var prev token
	have := false
	words := sc.s != nil && len(sc.s.keys) > 0
	for {
		t, ok := l.next()
		if !ok {
			break
		}
		joined := have && t.line == prev.line && t.start-prev.end <= maxWordGap
		if words {
			sc.stepWords(t, joined)
		}
		sc.stepPhones(t, prev, have)
		sc.stepDates(t, joined)
		prev, have = t, true
	}
	return merge(sc.hits)
}

// stepWords extends every word candidate by t and starts one at t.
func (sc *scanner) stepWords(t token, joined bool) {
	next := sc.next[:0]
	try := func(c wordCand) {
		f := sc.s.lookup(c.h)
		switch {
		case f&flagFull != 0 && c.one:
			sc.hit(c.start, t.end, c.line, KnownWord)
		case f&flagFull != 0:
			sc.hit(c.start, t.end, c.line, Known)
		case f&flagCategory != 0:
			sc.hit(c.start, t.end, c.line, KnownCategory)
		}
		if f&flagPrefix != 0 {
			next = append(next, c)
		}
	}
	if joined {
		for _, c := range sc.words {
			c.h = wordsNext(c.h, t.h)
			c.one = c.one && (small(t) || c.small)
			c.small = c.small && small(t)
			try(c)
		}
	}
	try(wordCand{start: t.start, line: t.line, one: true, small: small(t), h: wordsStart(t.h)})
	sc.words, sc.next = next, sc.words
}

// phoneGap: what may stand between the digit groups of a phone number.
const phoneGap = " -.()+/"

// stepPhones extends every run of digit groups by t and starts one at t.
func (sc *scanner) stepPhones(t token, prev token, have bool) {
	if !t.digit {
		sc.phones = sc.phones[:0]
		return
	}
	kept := sc.phones[:0]
	if have && prev.digit && prev.line == t.line && gapIs(sc.b, prev, t, phoneGap, 3) {
		for _, c := range sc.phones {
			c.fnv = digitsHash(c.fnv, sc.b[t.start:t.end])
			c.nd += t.nd
			c.ntok++
			if c.nd <= 15 && c.ntok <= maxPhoneTokens {
				kept = append(kept, c)
			}
		}
	}
	// A number token's hash is already the FNV-1a of its digits.
	kept = append(kept, phoneCand{start: t.start, line: t.line, fnv: t.h, nd: t.nd, ntok: 1, firstND: t.nd, firstEnd: t.end})
	sc.phones = kept
	for _, c := range kept {
		if c.nd < 7 {
			continue
		}
		if sc.s.lookup(phoneKey(c.fnv))&flagFull != 0 {
			sc.hit(c.start, t.end, c.line, Known)
			continue
		}
		if sc.patterns && c.ntok <= maxPatternTokens && sc.phoneLike(c, t) {
			sc.hit(c.start, t.end, c.line, PhoneLike)
		}
	}
}

// phoneLike: ten digits (eleven after a country code 1, up to fifteen
// after a +), or a local number written 555-0120.
func (sc *scanner) phoneLike(c phoneCand, last token) bool {
	switch {
	case c.nd == 10:
		return true
	case c.nd == 11 && sc.b[c.start] == '1':
		return true
	case c.nd >= 11 && c.start > 0 && sc.b[c.start-1] == '+':
		return true
	case c.nd == 7 && c.ntok == 2 && c.firstND == 3 && last.nd == 4:
		return gapIs(sc.b, token{end: c.firstEnd}, last, "-.", 1)
	}
	return false
}

// stepDates checks the dates that end at t.
func (sc *scanner) stepDates(t token, joined bool) {
	if !joined {
		sc.nwin = 0
	}
	sc.ring[sc.rpos%window] = t
	sc.rpos++
	sc.nwin = min(sc.nwin+1, window)
	if !t.digit {
		return
	}
	// Most numbers end no date (datesEnding's cases): only a day or a
	// month of one digit after a four-digit year and a small number, a
	// year of two or four digits, or eight digits written together.
	switch t.nd {
	case 2, 4, 8:
	case 1:
		if sc.nwin < 3 {
			return
		}
		a, c := &sc.ring[(sc.rpos-3)%window], &sc.ring[(sc.rpos-2)%window]
		if !a.digit || a.nd != 4 || !c.digit || c.nd > 2 {
			return
		}
	default:
		return
	}
	var win [window]token
	for i := range sc.nwin {
		win[i] = sc.ring[(sc.rpos-sc.nwin+i)%window]
	}
	sc.dates = datesEnding(sc.b, win[:sc.nwin], sc.dates[:0])
	for _, d := range sc.dates {
		first := win[d.first]
		if sc.s.lookup(dateKey(d.date.y, d.date.m, d.date.d))&flagFull != 0 {
			sc.hit(first.start, t.end, first.line, Known)
		} else if sc.patterns && d.date.y >= 1900 && d.date.y <= sc.s.birthYear() {
			sc.hit(first.start, t.end, first.line, BirthLike)
		}
	}
}

// merge sorts hits by offset and joins those that overlap, so every
// byte is in at most one hit; a joined hit keeps the first's line and the
// strongest kind (Known first).
func merge(hs []Hit) []Hit {
	if len(hs) < 2 {
		return hs
	}
	sort.Slice(hs, func(i, j int) bool {
		if hs[i].Offset != hs[j].Offset {
			return hs[i].Offset < hs[j].Offset
		}
		return hs[i].Length > hs[j].Length
	})
	out := hs[:1]
	for _, h := range hs[1:] {
		last := &out[len(out)-1]
		if h.Offset < last.Offset+last.Length {
			if end := h.Offset + h.Length; end > last.Offset+last.Length {
				last.Length = end - last.Offset
			}
			if h.Kind < last.Kind {
				last.Kind = h.Kind
			}
			continue
		}
		out = append(out, h)
	}
	return out
}

// Find returns where known values of the Set occur in text, in order, not
// overlapping. It applies no patterns: an output full of program dates is
// not a leak. A hit of Kind KnownWord is a single word (a first name alone)
// that may also be an ordinary word of the output (a bethel named after a
// flower); KnownCategory a countable field's category, which summaries
// name on purpose; Known is a whole multi-word value, a phone number or a
// date. Fast enough to scan every output of a build (see the
// benchmarks).
func (s *Set) Find(text []byte) []Hit {
	if s == nil || len(s.keys) == 0 {
		return nil
	}
	s.prepare()
	sc := scanner{s: s, b: text}
	return sc.run()
}

// Scrub returns text with every known value of the Set and everything
// shaped like an email address, a phone number or a possible birth date
// replaced by Withheld, and the hits (offsets in text). A nil Set applies
// the patterns only.
func (s *Set) Scrub(text string) (string, []Hit) {
	b := []byte(text)
	if s != nil {
		s.prepare()
	}
	sc := scanner{s: s, b: b, patterns: true}
	hits := sc.run()
	hits = merge(append(hits, emails(b)...))
	if len(hits) == 0 {
		return text, nil
	}
	// A withheld phone takes its "(" or "+" with it.
	for i := range hits {
		h := &hits[i]
		if h.Offset > 0 && (b[h.Offset-1] == '(' || b[h.Offset-1] == '+') && b[h.Offset] >= '0' && b[h.Offset] <= '9' &&
			(i == 0 || hits[i-1].Offset+hits[i-1].Length < h.Offset-1) {
			h.Offset--
			h.Length++
		}
	}
	var out strings.Builder
	at := 0
	for _, h := range hits {
		out.WriteString(text[at:h.Offset])
		out.WriteString(Withheld)
		at = h.Offset + h.Length
	}
	out.WriteString(text[at:])
	return out.String(), hits
}

// emails finds text shaped like an email address: a local part, an @, and
// a domain with a dot.
func emails(b []byte) []Hit {
	var hs []Hit
	line := 1
	lineAt := 0
	for i := 0; i < len(b); i++ {
		if b[i] != '@' {
			continue
		}
		lo := i
		for lo > 0 && emailLocal(b[lo-1]) {
			lo--
		}
		hi := i + 1
		dot := false
		for hi < len(b) && emailDomain(b[hi]) {
			if b[hi] == '.' && hi+1 < len(b) && emailDomain(b[hi+1]) && b[hi+1] != '.' {
				dot = true
			}
			hi++
		}
		for hi > i+1 && b[hi-1] == '.' {
			hi--
		}
		if lo == i || !dot {
			continue
		}
		for ; lineAt < lo; lineAt++ {
			if b[lineAt] == '\n' {
				line++
			}
		}
		hs = append(hs, Hit{Offset: lo, Length: hi - lo, Line: line, Kind: EmailLike})
		i = hi - 1
	}
	return hs
}

func emailLocal(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0
}

func emailDomain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
}
