package schema

import (
	"strings"

	"bethel/pkg/pos"
)

// Fold is the comparison form of an export text, an alias or a header:
// lower case, curly apostrophes straight, dots dropped, runs of space
// collapsed, trimmed. Exports spell "Job's Daughter", "job’s daughter"
// and "Job's  Daughter" alike; they mean the same.
func Fold(s string) string {
	s = strings.TrimSpace(s)
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c == '.' || (c >= 'A' && c <= 'Z') || (c == ' ' && i > 0 && s[i-1] == ' ') || c == '\t' || c == '\n' || c == '\r' {
			simple = false
			break
		}
	}
	if simple {
		return s
	}
	s = strings.ToLower(s)
	s = foldReplacer.Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

var foldReplacer = strings.NewReplacer("\u2019", "'", "\u2018", "'", ".", "")

// Closest returns the name closest to s (by edit distance of the folded
// forms), or "" when none is close enough to be a likely typo.
func Closest(s string, names []string) string {
	k := Fold(s)
	best, bestD := "", max(3, len(k)/3)+1
	for _, n := range names {
		if d := pos.Distance(k, Fold(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}
