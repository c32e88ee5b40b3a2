package schema

import (
	"fmt"
	"strings"

	"bethel/pkg/pos"
)

// Columns binds an export's header to the declared fields.
type Columns struct {
	// Index holds, per field (in schema order), its column in the export,
	// or -1 when an optional field has none.
	Index []int
	// Missing lists the optional fields the export has no column for:
	// their value is blank in every record (worth one warning).
	Missing []*Field
	// Extra lists the export's headers that no field declares, in export
	// order: ignored, since platforms add columns.
	Extra []string
}

// Columns finds each field's column in an export's header: the first of
// the field's headers the export has, compared trimmed, then
// case-insensitively. A required field without a column is an error at
// the export's header line that names the field's line in the schema (the
// place to edit) and the closest header the export has; so is an optional
// field whose header looks renamed (an unclaimed header within typo
// distance of it, "E-mail" for "Email").
func (s *Schema) Columns(exportFile string, header []string) (*Columns, error) {
	exact := map[string]int{}
	folded := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := exact[h]; !dup {
			exact[h] = i
		}
		if _, dup := folded[Fold(h)]; !dup {
			folded[Fold(h)] = i
		}
	}
	c := &Columns{Index: make([]int, len(s.Fields))}
	used := make([]bool, len(header))
	for i, f := range s.Fields {
		c.Index[i] = -1
		for _, h := range f.Headers {
			if j, ok := exact[strings.TrimSpace(h)]; ok && !used[j] {
				c.Index[i] = j
				break
			}
		}
		if c.Index[i] < 0 {
			for _, h := range f.Headers {
				if j, ok := folded[Fold(h)]; ok && !used[j] {
					c.Index[i] = j
					break
				}
			}
		}
		if c.Index[i] >= 0 {
			used[c.Index[i]] = true
		}
	}
	for j, h := range header {
		// A column without a header (a trailing separator) cannot be
		// declared, so it is not worth a note.
		if !used[j] && strings.TrimSpace(h) != "" {
			c.Extra = append(c.Extra, strings.TrimSpace(h))
		}
	}
	var errs pos.List
	for i, f := range s.Fields {
		if c.Index[i] >= 0 {
			continue
		}
		near := closestHeader(f.Headers, c.Extra)
		renamed := near != "" && closeEnough(f.Headers, near)
		if !f.Required && !renamed {
			c.Missing = append(c.Missing, f)
			continue
		}
		if renamed {
			errs = append(errs, &pos.Error{Pos: pos.Pos{File: exportFile, Line: 1},
				Msg: fmt.Sprintf("no column for field %q (headers %s), but the export has %q: if the platform renamed the column, add the new header to the field at %s:%d",
					f.Name, quoteList(f.Headers), near, s.File, f.Line)})
			continue
		}
		e := &pos.Error{Pos: pos.Pos{File: exportFile, Line: 1},
			Msg: fmt.Sprintf("no column for required field %q (headers %s); if the platform renamed it, add the new header to the field at %s:%d",
				f.Name, quoteList(f.Headers), s.File, f.Line)}
		if near != "" {
			e.Hint = fmt.Sprintf("closest header in the export: %q", near)
		} else {
			e.Hint = "the export has no other header left"
		}
		errs = append(errs, e)
	}
	return c, errs.Err()
}

// MissingWarning is the one warning for the optional fields an export has
// no column for, or "" when it has them all.
func (c *Columns) MissingWarning(exportFile string) string {
	if len(c.Missing) == 0 {
		return ""
	}
	names := make([]string, len(c.Missing))
	for i, f := range c.Missing {
		names[i] = f.Name
	}
	return fmt.Sprintf("%s:1: no column for optional field(s) %s: blank in every record", exportFile, strings.Join(names, ", "))
}

// closeEnough reports whether header h is within typo distance of one
// of want: a renamed column rather than another question.
func closeEnough(want []string, h string) bool {
	for _, w := range want {
		if Closest(h, []string{w}) != "" {
			return true
		}
	}
	return false
}

// closestHeader returns the candidate closest to any of want, by edit
// distance of the folded forms.
func closestHeader(want, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		for _, w := range want {
			if d := pos.Distance(Fold(w), Fold(c)); d < bestD {
				best, bestD = c, d
			}
		}
	}
	return best
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
