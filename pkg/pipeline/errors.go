package pipeline

import (
	"fmt"
	"sort"
	"strings"

	"bethel/pkg/pos"
)

// maxErrors bounds one report: past it the rest is noise caused by the
// first mistakes.
const maxErrors = 20

// errs collects positioned errors for one phase of loading.
type errs struct {
	file  string
	src   string
	lines []string // lazily split src
	list  pos.List
}

func (e *errs) line(n int) string {
	if e.lines == nil {
		e.lines = strings.Split(e.src, "\n")
	}
	if n < 1 || n > len(e.lines) {
		return ""
	}
	return strings.TrimRight(e.lines[n-1], "\r")
}

// at records an error at p with the source line and a caret under col.
// hint may be empty.
func (e *errs) at(p srcPos, hint, format string, args ...any) {
	if len(e.list) >= maxErrors {
		return
	}
	pe := &pos.Error{Pos: pos.Pos{File: e.file, Line: p.line, Col: p.col}, Msg: fmt.Sprintf(format, args...), Hint: hint}
	if p.line > 0 {
		pe.Source = e.line(p.line)
		if p.col > len(pe.Source)+1 {
			pe.Pos.Col = 0
		}
	}
	e.list = append(e.list, pe)
}

// atLine records an error that points at a whole line (no source shown).
func (e *errs) atLine(line int, format string, args ...any) {
	if len(e.list) >= maxErrors {
		return
	}
	e.list = append(e.list, &pos.Error{Pos: pos.Pos{File: e.file, Line: line}, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected errors sorted by position (so that map order
// never shows), as one *pos.Error when there is one.
func (e *errs) err() error {
	switch len(e.list) {
	case 0:
		return nil
	case 1:
		return e.list[0]
	}
	sort.SliceStable(e.list, func(i, j int) bool {
		a, b := e.list[i].(*pos.Error).Pos, e.list[j].(*pos.Error).Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return e.list
}

// closest returns the candidate nearest to s by edit distance when it is
// near enough to be a likely typo, else "".
func closest(s string, candidates []string) string {
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := pos.Distance(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := len(s) / 3
	if limit < 1 {
		limit = 1
	}
	if limit > 3 {
		limit = 3
	}
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

// didYouMean formats a hint, or "" when there is no suggestion.
func didYouMean(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf("did you mean %s?", s)
}
