// Package scrub finds sensitive values in text however they are written,
// and withholds them from free text.
//
// A Set holds keys of the normalized forms of known sensitive values (every
// name, email, phone and birth date of every record, active or not), never
// the values themselves. Text is compared with it token by token, after the
// same normalization (see lex.go), so "MIA  talcroft", "Mia Talcroft" and
// "Talcroft, Mia"'s "Mia" all meet the value "Mia Talcroft"; "+1 656 555
// 0141", "(656) 555-0141" and "656.555.0141" the phone "656-555-0141";
// "1/8/2011", "01/08/2011" and "Jan 8, 2011" the birth date 2011-01-08. A
// match is always a whole number of tokens: the name Beth is found in "Beth
// moved", never in "Bethel 57".
//
// Find reports where known values occur (the leak gate's question: did a
// private value reach this output?). Scrub answers the corrections report's
// question for a reason or an author: it withholds known values and also
// whatever looks like an email address, a phone number, or a date that could
// be a birth date, known or not.
//
// Values shorter than three letters or digits are not kept: they identify
// nobody and would garble every text they were withheld from.
package scrub

import (
	"math/bits"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Formats of a value for Forms and (*Builder).Add. They follow the
// field's declaration: a field with format email or phone, a field of type
// date, a name, or other text.
const (
	// Text is free text kept whole. It is found as a whole, never word
	// by word.
	Text = ""
	// Category is a value of a countable sensitive field (an allergy, a
	// dietary need): found as a whole like Text, but reported by Find as
	// KnownCategory, since summaries publish such categories' counts
	// under their names on purpose.
	Category = "category"
	// Name is a person's name: found whole and by each part of three
	// letters or more ("Mary Ann Smith": also "mary", "ann", "smith").
	Name = "name"
	// Email is an email address: found whole and by its local part.
	Email = "email"
	// Phone is a phone number: found by its digits, with and without the
	// country code 1.
	Phone = "phone"
	// Date is a date (a birth date): found in every written form.
	Date = "date"
)

// FormatOf is the format to add a sensitive field's values under, from
// its declaration: its format (email, phone), its type (date, datetime),
// and whether it is countable. A countable field (an allergy, a dietary
// need) holds categories that summaries count, so its values are found
// whole (Category), never word by word; any other free field is taken
// for a name (Name).
func FormatOf(typ, format string, countable bool) string {
	switch {
	case format == Email || format == Phone:
		return format
	case typ == "date" || typ == "datetime":
		return Date
	case countable:
		return Category
	}
	return Name
}

// Guess is the format a value of an undeclared field reads as: Email with
// an @, Phone for 7 to 15 digits among phone punctuation only, Date for a
// date in one of its written forms, else Name.
func Guess(value string) string {
	switch {
	case strings.Contains(value, "@"):
		return Email
	case phoneShaped(value):
		return Phone
	case len(parseDates(value)) > 0:
		return Date
	}
	return Name
}

func phoneShaped(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			n++
		case strings.IndexByte(phoneGap, c) < 0:
			return false
		}
	}
	return n >= 7 && n <= 15
}

// Withheld replaces what Scrub withholds; the same text as the patch
// reports' marker for a withheld value.
const Withheld = "<withheld>"

// Kind says why a hit was found; never what it holds.
type Kind uint8

const (
	// Known is a known sensitive value of the Set: several words of one
	// value, a phone number or a date.
	Known Kind = iota + 1
	// KnownWord is one word that is a known value or a part of one (a
	// first name, a surname). It is weaker evidence than Known: a first
	// name Willow also names the bethel Willow Creek. Scrub withholds it
	// all the same; a leak check may weigh it (see Find).
	KnownWord
	// KnownCategory is a known value of a countable field (Category):
	// "gluten free" in dietary.csv is a category counted on purpose, the
	// same words in a patch reason are private. Scrub withholds it.
	KnownCategory
	// EmailLike is text shaped like an email address (Scrub only).
	EmailLike
	// PhoneLike is text shaped like a phone number (Scrub only).
	PhoneLike
	// BirthLike is a date that could be a birth date (Scrub only): a full
	// date in or before the Set's latest birth year.
	BirthLike
)

// String names the kind for a warning ("a phone number"), never the text.
func (k Kind) String() string {
	switch k {
	case Known:
		return "a sensitive value"
	case KnownWord:
		return "a word of a sensitive value"
	case KnownCategory:
		return "a category of a sensitive field"
	case EmailLike:
		return "an email address"
	case PhoneLike:
		return "a phone number"
	case BirthLike:
		return "a date that could be a birth date"
	}
	return "unknown"
}

// Hit is where a sensitive value was found: byte offset and length in the
// searched text, and its 1-based line. It never holds the value.
type Hit struct {
	Offset, Length int
	Line           int
	Kind           Kind
}

// form is one normalized form of a value, ready to be keyed.
type form struct {
	kind   byte // 'w' words, 'd' date, 'p' phone digits
	words  []uint64
	date   ymd
	digits string
	text   string // the readable form, for Forms
}

func (f form) key() uint64 {
	switch f.kind {
	case 'd':
		return dateKey(f.date.y, f.date.m, f.date.d)
	case 'p':
		return phoneKey(digitsHash(fnvOffset, []byte(f.digits)))
	}
	h := wordsStart(f.words[0])
	for _, t := range f.words[1:] {
		h = wordsNext(h, t)
	}
	return h
}

// Forms returns the normalized forms of value under format (Text, Name,
// Email, Phone, Date), in a stable order without repeats: what a Set built
// from the value finds. Words are lower-cased, accent-folded and joined by
// one space; a multi-word value also joined with none ("o brien",
// "obrien"); dates are yyyy-mm-dd (an ambiguous 1/8/2011 gives both
// readings); phones are digits. A value that does not read as its format
// (a phone of fewer than 7 digits, a date that is no date) is taken as
// Text.
func Forms(format, value string) []string {
	fs := forms(format, value)
	out := make([]string, 0, len(fs))
	seen := map[string]bool{}
	for _, f := range fs {
		if !seen[f.text] {
			seen[f.text] = true
			out = append(out, f.text)
		}
	}
	return out
}

func forms(format, value string) []form {
	switch format {
	case Phone:
		var d []byte
		for i := 0; i < len(value); i++ {
			if c := value[i]; c >= '0' && c <= '9' {
				d = append(d, c)
			}
		}
		if len(d) < 7 || len(d) > 15 {
			return forms(Text, value)
		}
		s := string(d)
		fs := []form{{kind: 'p', digits: s, text: s}}
		switch {
		case len(s) == 10:
			fs = append(fs, form{kind: 'p', digits: "1" + s, text: "1" + s})
		case len(s) == 11 && s[0] == '1':
			fs = append(fs, form{kind: 'p', digits: s[1:], text: s[1:]})
		}
		return fs
	case Date:
		ds := parseDates(value)
		if len(ds) == 0 {
			return forms(Text, value)
		}
		var fs []form
		for _, d := range ds {
			fs = append(fs, form{kind: 'd', date: d, text: isoDate(d)})
		}
		return fs
	case Email:
		fs := wordForms(value, false)
		if at := strings.LastIndexByte(value, '@'); at > 0 {
			fs = append(fs, wordForms(value[:at], false)...)
		}
		return fs
	case Name:
		return wordForms(value, true)
	}
	return wordForms(value, false)
}

func isoDate(d ymd) string {
	b := []byte("0000-00-00")
	put := func(at, v, n int) {
		for i := at + n - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, d.y, 4)
	put(5, d.m, 2)
	put(8, d.d, 2)
	return string(b)
}

// wordForms are the word forms of value: all its tokens, all of them run
// together, and with parts each token of three letters or more.
func wordForms(value string, parts bool) []form {
	ts := tokens(value)
	if len(ts) == 0 {
		return nil
	}
	size := 0
	var words []string
	for _, t := range ts {
		size += t.end - t.start
		words = append(words, strings.ToLower(normWord(value[t.start:t.end])))
	}
	if size < 3 {
		return nil
	}
	var fs []form
	add := func(text string) {
		ts := tokens(text)
		var hs []uint64
		for _, t := range ts {
			hs = append(hs, t.h)
		}
		if len(hs) > 0 {
			fs = append(fs, form{kind: 'w', words: hs, text: text})
		}
	}
	add(strings.Join(words, " "))
	if len(words) > 1 {
		add(strings.Join(words, ""))
	}
	if parts && len(words) > 1 {
		for i, w := range words {
			if ts[i].digit || len([]rune(w)) < 3 {
				continue
			}
			add(w)
		}
	}
	return fs
}

// normWord is a token's text as the lexer hashes it.
func normWord(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(normRune(r))
	}
	return b.String()
}

// Flags stored in a key's two low bits.
const (
	flagFull     = 1 // a whole form ends here
	flagPrefix   = 2 // a longer word form continues
	flagCategory = 4 // a whole Category form ends here
	flagMask     = 7
)

// Builder collects the forms of sensitive values into a Set. The zero
// value is ready to use.
type Builder struct {
	ts       []token
	hs       []uint64
	buf      []byte    // scratch: a value's bytes or a phone's digits
	dates    []dateHit // scratch: a date value's readings
	table    []uint64  // open addressing by slot, flags merged; 0 is empty
	n        int
	latestBY int
	full     uint64 // see fullFlag
}

// Add adds value's forms (see Forms) under format. Values too short to
// identify anybody add nothing.
func (b *Builder) Add(format, value string) {
	switch format {
	case Phone:
		b.addPhone(value)
	case Date:
		b.addDate(value)
	case Email:
		b.addWords(value, false)
		if at := strings.LastIndexByte(value, '@'); at > 0 {
			b.addWords(value[:at], false)
		}
	case Name:
		b.addWords(value, true)
	case Category:
		b.full = flagCategory
		b.addWords(value, false)
		b.full = flagFull
	default:
		b.addWords(value, false)
	}
}

// addPhone adds the forms of a phone number (those forms gives Phone)
// from its digits in the Builder's buffer, building no string: most
// phones are distinct, so this runs once per record and phone column.
func (b *Builder) addPhone(value string) {
	d := b.buf[:0]
	for i := 0; i < len(value); i++ {
		if c := value[i]; c >= '0' && c <= '9' {
			d = append(d, c)
		}
	}
	b.buf = d
	if len(d) < 7 || len(d) > 15 {
		b.addWords(value, false)
		return
	}
	b.push(phoneKey(digitsHash(fnvOffset, d)), flagFull)
	switch {
	case len(d) == 10:
		// FNV-1a runs byte by byte: "1" then the digits is the hash of "1"+d.
		b.push(phoneKey(digitsHash(digitsHash(fnvOffset, []byte{'1'}), d)), flagFull)
	case len(d) == 11 && d[0] == '1':
		b.push(phoneKey(digitsHash(fnvOffset, d[1:])), flagFull)
	}
}

// addDate adds the forms of a date (those forms gives Date), lexed from
// the Builder's buffers: a value that reads as no date is Text.
func (b *Builder) addDate(value string) {
	b.buf = append(b.buf[:0], value...)
	b.ts = b.ts[:0]
	l := newLexer(b.buf)
	for {
		t, ok := l.next()
		if !ok {
			break
		}
		b.ts = append(b.ts, t)
	}
	b.dates = wholeDates(b.buf, b.ts, b.dates)
	if len(b.dates) == 0 {
		b.addWords(value, false)
		return
	}
	for _, h := range b.dates {
		d := h.date
		b.latestBY = max(b.latestBY, d.y)
		b.push(dateKey(d.y, d.m, d.d), flagFull)
	}
}

// addWords adds the word forms of value without building their texts
// (the same keys as wordForms; TestAddMatchesForms checks it). The value
// is lexed from a copy in the Builder's buffer, reused from value to value.
func (b *Builder) addWords(value string, parts bool) {
	b.buf = append(b.buf[:0], value...)
	text := b.buf
	b.ts = b.ts[:0]
	l := newLexer(text)
	size := 0
	for {
		t, ok := l.next()
		if !ok {
			break
		}
		size += t.end - t.start
		b.ts = append(b.ts, t)
	}
	if size < 3 || len(b.ts) == 0 {
		return
	}
	b.hs = b.hs[:0]
	for _, t := range b.ts {
		b.hs = append(b.hs, t.h)
	}
	b.words(b.hs)
	if len(b.ts) == 1 {
		return
	}
	// All tokens run together: neighbours of one class merge into one
	// token, as the lexer would read the joined text.
	b.hs = b.hs[:0]
	for i, t := range b.ts {
		if i > 0 && t.digit == b.ts[i-1].digit {
			b.hs[len(b.hs)-1] = continueHash(b.hs[len(b.hs)-1], text[t.start:t.end])
			continue
		}
		b.hs = append(b.hs, t.h)
	}
	b.words(b.hs)
	if parts {
		for _, t := range b.ts {
			if !t.digit && utf8.RuneCount(text[t.start:t.end]) >= 3 {
				b.push(wordsStart(t.h), flagFull)
			}
		}
	}
}

// words adds one word form: every shorter run of its first words is a
// prefix the scanner may extend.
func (b *Builder) words(hs []uint64) {
	h := wordsStart(hs[0])
	for _, t := range hs[1:] {
		b.push(h, flagPrefix)
		h = wordsNext(h, t)
	}
	b.push(h, b.fullFlag())
}

// fullFlag is the flag of a whole form being added: flagFull, or
// flagCategory while a Category value is.
func (b *Builder) fullFlag() uint64 {
	if b.full == 0 {
		return flagFull
	}
	return b.full
}

// push adds a key with its flag to the Builder's table, merging the flags
// of a key seen before: repeats are common (first names, shared prefixes),
// and memory follows the distinct forms, not the records.
func (b *Builder) push(h uint64, flag uint64) {
	if 2*(b.n+1) > len(b.table) {
		b.grow()
	}
	k := slot(h)
	i := mix64(k) & uint64(len(b.table)-1)
	for {
		e := b.table[i]
		if e == 0 {
			b.table[i] = k | flag
			b.n++
			return
		}
		if slot(e) == k {
			b.table[i] = e | flag
			return
		}
		i = (i + 1) & uint64(len(b.table)-1)
	}
}

func (b *Builder) grow() {
	old := b.table
	b.table = make([]uint64, max(1024, 2*len(old)))
	b.n = 0
	for _, e := range old {
		if e != 0 {
			b.push(e, e&flagMask)
		}
	}
}

// slot is the part of a key that identifies the form (the flags cleared),
// never zero, which marks an empty table slot.
func slot(h uint64) uint64 {
	h &^= flagMask
	if h == 0 {
		h = flagMask + 1
	}
	return h
}

// Set returns the Set of everything added. The Builder may be used on.
func (b *Builder) Set() *Set {
	return newSet(sortedKeys(b.table, b.n), b.latestBY)
}

// sortedKeys returns the n non-zero entries of table, uniform hashes,
// sorted. They are placed in one pass, each in a bucket by its top bits
// (about two keys a bucket), and the buckets, each a run of the output in
// order, are sorted alone: a general sort compares its way through log n
// passes over the keys.
func sortedKeys(table []uint64, n int) []uint64 {
	keys := make([]uint64, 0, n)
	if n < 1<<12 {
		for _, e := range table {
			if e != 0 {
				keys = append(keys, e)
			}
		}
		slices.Sort(keys)
		return keys
	}
	keys = keys[:n]
	shift := 64 - (bits.Len(uint(n)) - 1)
	start := make([]int32, 1<<(64-shift)+1)
	for _, e := range table {
		if e != 0 {
			start[e>>shift+1]++
		}
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	next := slices.Clone(start[:len(start)-1])
	for _, e := range table {
		if e != 0 {
			keys[next[e>>shift]] = e
			next[e>>shift]++
		}
	}
	for i := 0; i+1 < len(start); i++ {
		bucket := keys[start[i]:start[i+1]]
		if len(bucket) > 16 {
			slices.Sort(bucket) // keys that are not uniform after all
			continue
		}
		for j := 1; j < len(bucket); j++ {
			for m := j; m > 0 && bucket[m] < bucket[m-1]; m-- {
				bucket[m], bucket[m-1] = bucket[m-1], bucket[m]
			}
		}
	}
	return keys
}

// Set is a set of keys of normalized sensitive forms; safe for concurrent
// use. A nil *Set knows no values (Scrub still applies its patterns).
//
// The keys are kept sorted, as the file holds them, so reading a set
// builds no table: the keys are uniform hashes, so a lookup guesses a
// key's place from its value and searches a few neighbours.
type Set struct {
	keys []uint64 // sorted by slot, distinct, flags in the low bits
	// filter has one bit set per key, at a position of its own hash; a
	// clear bit answers most lookups of an ordinary word from a bitmap
	// small enough for the CPU's cache instead of the keys. It is made
	// by prepare, before a set's first lookup: a set read only to be
	// merged into a file (a million registrations' holds some seven
	// million keys) never needs it.
	filter     []uint64
	fmask      uint64
	filterOnce sync.Once
	latestBY   int
}

// DefaultBirthYear is the latest year Scrub takes a date for a possible
// birth date in when the Set knows no birth date.
const DefaultBirthYear = 2020

func newSet(keys []uint64, latestBY int) *Set {
	return &Set{keys: keys, latestBY: latestBY}
}

// prepare makes the filter, once; every caller of lookup calls it first.
func (s *Set) prepare() {
	s.filterOnce.Do(func() {
		fbits := 64
		for fbits < 8*len(s.keys) {
			fbits *= 2
		}
		s.filter = make([]uint64, fbits/64)
		s.fmask = uint64(fbits - 1)
		for _, k := range s.keys {
			f := (slot(k) >> 3) & s.fmask
			s.filter[f/64] |= 1 << (f % 64)
		}
	})
}

// Union is the Set of every form of the sets (nil ones are empty): a set
// read from a file and one of a few more values, merged in linear time.
func Union(sets ...*Set) *Set {
	if s := holdsAll(sets); s != nil {
		return s
	}
	var keys []uint64
	by := 0
	for _, s := range sets {
		if s == nil {
			continue
		}
		by = max(by, s.latestBY)
		if keys == nil {
			keys = s.keys // merged into a new list below, never written
			continue
		}
		keys = mergeKeys(keys, s.keys)
	}
	return newSet(keys, by)
}

// holdsAll returns the largest of sets when it already holds every key
// (with its flags) and the latest birth year of the others, else nil: a
// set read from a file and the few values a node adds to it, which the
// file mostly lists already, need no merge of its keys and no new filter.
func holdsAll(sets []*Set) *Set {
	var big *Set
	for _, s := range sets {
		if s != nil && (big == nil || len(s.keys) > len(big.keys)) {
			big = s
		}
	}
	if big == nil {
		return nil
	}
	big.prepare()
	for _, s := range sets {
		if s == nil || s == big {
			continue
		}
		if s.latestBY > big.latestBY || len(s.keys) > 64 {
			return nil
		}
		for _, k := range s.keys {
			if f := k & flagMask; big.lookup(k)&f != f {
				return nil
			}
		}
	}
	return big
}

// mergeKeys merges two sorted key lists, OR-ing the flags of a slot in
// both.
func mergeKeys(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch sa, sb := slot(a[i]), slot(b[j]); {
		case sa < sb:
			out = append(out, a[i])
			i++
		case sa > sb:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i]|b[j])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// Len is the number of distinct keys (forms and word prefixes).
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// lookup returns the flags of h, 0 when the Set does not hold it. The
// filter must be made (prepare).
func (s *Set) lookup(h uint64) uint64 {
	if s == nil || len(s.keys) == 0 {
		return 0
	}
	k := slot(h)
	if f := (k >> 3) & s.fmask; s.filter[f/64]&(1<<(f%64)) == 0 {
		return 0
	}
	keys := s.keys
	n := len(keys)
	// The expected place of a uniform key, then a gallop to bracket it.
	g, _ := bits.Mul64(k, uint64(n))
	i := int(g)
	lo, hi := 0, n // keys[lo-1] < k <= keys[hi] once bracketed
	if slot(keys[i]) < k {
		for step := 1; ; step *= 2 {
			j := i + step
			if j >= n {
				lo = i + 1
				break
			}
			if slot(keys[j]) >= k {
				lo, hi = i+1, j
				break
			}
			i = j
		}
	} else {
		for step := 1; ; step *= 2 {
			j := i - step
			if j < 0 {
				hi = i
				break
			}
			if slot(keys[j]) < k {
				lo, hi = j+1, i
				break
			}
			i = j
		}
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if slot(keys[m]) < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < n && slot(keys[lo]) == k {
		return keys[lo] & flagMask
	}
	return 0
}

func (s *Set) birthYear() int {
	if s == nil || s.latestBY == 0 {
		return DefaultBirthYear
	}
	return s.latestBY
}
