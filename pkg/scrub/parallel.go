package scrub

import (
	"bytes"
	"sync"
)

// parallelMin is the smallest text FindParallel divides: below it the
// goroutines cost more than they save.
var parallelMin = 1 << 20

// FindParallel is Find on up to n goroutines. The text is cut at line
// starts into n pieces scanned side by side, and their hits are joined
// with offsets and lines counted from the start of the whole text. No
// match spans a line (words, a phone number's digit groups and a date's
// parts join only within one line), and the lexer starts every line
// afresh, so the hits are exactly Find's. The leak gate scans the review
// site's lineage (3 MB at 100,000 registrations, the largest internal
// output) last of a build, when the other processors are idle.
func (s *Set) FindParallel(text []byte, n int) []Hit {
	if n < 2 || len(text) < parallelMin {
		return s.Find(text)
	}
	if s == nil || len(s.keys) == 0 {
		return nil
	}
	s.prepare()
	cuts := []int{0}
	for k := 1; k < n; k++ {
		c := len(text) * k / n
		if c <= cuts[len(cuts)-1] {
			continue
		}
		i := bytes.IndexByte(text[c:], '\n')
		if i < 0 {
			break
		}
		if c += i + 1; c < len(text) && c > cuts[len(cuts)-1] {
			cuts = append(cuts, c)
		}
	}
	cuts = append(cuts, len(text))
	pieces := make([][]Hit, len(cuts)-1)
	var wg sync.WaitGroup
	for j := range pieces {
		wg.Go(func() {
			sc := scanner{s: s, b: text[cuts[j]:cuts[j+1]]}
			pieces[j] = sc.run()
		})
	}
	wg.Wait()
	var hits []Hit
	lines := 0 // newlines before the piece
	for j, hs := range pieces {
		if j > 0 {
			lines += bytes.Count(text[cuts[j-1]:cuts[j]], []byte{'\n'})
		}
		for _, h := range hs {
			h.Offset += cuts[j]
			h.Line += lines
			hits = append(hits, h)
		}
	}
	return hits
}
