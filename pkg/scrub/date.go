package scrub

import "sync"

// Dates are recognized on tokens, so "1/8/2011", "01/08/2011",
// "2011-01-08", "2011-01-08T09:31:07", "20110108", "Jan 8, 2011",
// "8 January 2011" and "January 8th 2011" are all one calendar date. A
// numeric date whose order is not evident (1/8/2011) is read both ways
// (month first and day first); a two-digit year both as 19yy and 20yy. A
// wrong reading costs nothing: it is only ever compared with known values,
// or with the birth-year cutoff of the patterns.

type ymd struct{ y, m, d int }

// dateWords returns the hashes of the month names (to their numbers) and
// of the ordinal suffixes. They are made on first use, not in an init:
// every bethel command would pay for them, `bethel version` included.
var dateWords = sync.OnceValues(func() (months map[uint64]int, ordinals map[uint64]bool) {
	months = map[uint64]int{}
	names := [][]string{
		{"january", "jan"}, {"february", "feb"}, {"march", "mar"}, {"april", "apr"},
		{"may"}, {"june", "jun"}, {"july", "jul"}, {"august", "aug"},
		{"september", "sep", "sept"}, {"october", "oct"}, {"november", "nov"}, {"december", "dec"},
	}
	for i, ns := range names {
		for _, n := range ns {
			months[tokens(n)[0].h] = i + 1
		}
	}
	ordinals = map[uint64]bool{}
	for _, s := range []string{"st", "nd", "rd", "th"} {
		ordinals[tokens(s)[0].h] = true
	}
	return months, ordinals
})

func valid(y, m, d int) bool {
	if y < 1000 || y > 9999 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [...]int{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	return d <= days[m-1]
}

// years are the readings of a year token: a four-digit year as it is, a
// two-digit one in both centuries.
func years(t token) []int {
	switch t.nd {
	case 4:
		return []int{t.val}
	case 2:
		return []int{1900 + t.val, 2000 + t.val}
	}
	return nil
}

// gapIs reports whether the separator between tokens a and b (adjacent in
// the text's token order) consists only of bytes in set and is 1 to max
// bytes long; max 0 means "no separator at all".
func gapIs(b []byte, a, t token, set string, max int) bool {
	g := b[a.end:t.start]
	if len(g) > max || (max > 0 && len(g) == 0) {
		return false
	}
	for _, c := range g {
		ok := false
		for i := 0; i < len(set); i++ {
			if c == set[i] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// datesEnding appends to out every date whose last token is w[len(w)-1]
// (w is the window of the latest tokens, oldest first), with the index in
// w of its first token.
func datesEnding(b []byte, w []token, out []dateHit) []dateHit {
	n := len(w)
	if n == 0 {
		return out
	}
	t := w[n-1]
	if !t.digit {
		return out
	}
	months, ordinals := dateWords()
	add := func(first int, y, m, d int) {
		if valid(y, m, d) {
			out = append(out, dateHit{first: first, date: ymd{y, m, d}})
		}
	}
	// 20110108
	if t.nd == 8 {
		add(n-1, t.val/10000, t.val/100%100, t.val%100)
	}
	if n >= 3 {
		a, c := w[n-3], w[n-2]
		// 2011-01-08, 1/8/2011, 8.1.11; the T of a time makes its own token
		// after the day, so a datetime's date ends at the day.
		if a.digit && c.digit && c.nd <= 2 {
			for _, sep := range []string{"/", "-", "."} {
				if !gapIs(b, a, c, sep, 1) || !gapIs(b, c, t, sep, 1) {
					continue
				}
				if a.nd == 4 && t.nd <= 2 {
					add(n-3, a.val, c.val, t.val)
				} else if a.nd <= 2 {
					for _, y := range years(t) {
						add(n-3, y, a.val, c.val)
						add(n-3, y, c.val, a.val)
					}
				}
			}
		}
		// Jan 8, 2011 / 8 Jan 2011 / 8-Jan-2011
		if (t.nd == 4 || t.nd == 2) && gapIs(b, c, t, " ,.-/", 3) && gapIs(b, a, c, " ,.-/", 3) {
			if m, ok := months[a.h]; ok && c.digit && c.nd <= 2 {
				for _, y := range years(t) {
					add(n-3, y, m, c.val)
				}
			}
			if m, ok := months[c.h]; ok && a.digit && a.nd <= 2 {
				for _, y := range years(t) {
					add(n-3, y, m, a.val)
				}
			}
		}
	}
	if n >= 4 && (t.nd == 4 || t.nd == 2) {
		a, c, e := w[n-4], w[n-3], w[n-2]
		// January 8th, 2011 / 8th January 2011
		if m, ok := months[a.h]; ok && c.digit && c.nd <= 2 && ordinals[e.h] &&
			gapIs(b, a, c, " ,.-", 3) && gapIs(b, c, e, "", 0) && gapIs(b, e, t, " ,.-", 3) {
			for _, y := range years(t) {
				add(n-4, y, m, c.val)
			}
		}
		if m, ok := months[e.h]; ok && a.digit && a.nd <= 2 && ordinals[c.h] &&
			gapIs(b, a, c, "", 0) && gapIs(b, c, e, " ,.-", 3) && gapIs(b, e, t, " ,.-", 3) {
			for _, y := range years(t) {
				add(n-4, y, m, a.val)
			}
		}
	}
	return out
}

type dateHit struct {
	first int
	date  ymd
}

// parseDates is every reading of value as one date (all its tokens).
func parseDates(value string) []ymd {
	hits := wholeDates([]byte(value), tokens(value), nil)
	if len(hits) == 0 {
		return nil
	}
	out := make([]ymd, len(hits))
	for i, h := range hits {
		out[i] = h.date
	}
	return out
}

// wholeDates puts into hits (its contents dropped, its array reused) every
// reading as one date of the longest run of ts's first tokens that reads
// as one: a datetime's time part follows the date.
func wholeDates(b []byte, ts []token, hits []dateHit) []dateHit {
	for n := len(ts); n >= 1; n-- {
		hits = datesEnding(b, ts[:n], hits[:0])
		k := 0
		for _, h := range hits {
			if h.first == 0 {
				hits[k] = h
				k++
			}
		}
		if k > 0 {
			return hits[:k]
		}
	}
	return hits[:0]
}
