// Package pos holds source positions and the file:line errors every
// user-facing message of bethel is built from. It exists on its own so that
// the loader, the stages and the engine agree on one error shape without
// depending on each other.
package pos

import (
	"errors"
	"fmt"
	"strings"
)

// Pos is a position in a workspace file. File is workspace-relative with
// forward slashes; Line and Col are 1-based, and 0 means "unknown", in which
// case it is left out of the printed form.
type Pos struct {
	File string
	Line int
	Col  int
}

// String prints file:line:col, dropping the parts that are unknown.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	return b.String()
}

// Error is an error at a position. Source, when set, is the offending source
// line; it is printed under the message with a caret at Col. Hint is a short
// suggestion ("did you mean ...") printed last.
//
// Source must never hold a private value: callers that read private data
// leave it empty and name the record key and column in Msg instead.
type Error struct {
	Pos    Pos
	Msg    string
	Source string
	Hint   string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Pos.File != "" {
		b.WriteString(e.Pos.String())
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Source != "" {
		b.WriteString("\n\t")
		b.WriteString(e.Source)
		if e.Pos.Col > 0 {
			b.WriteString("\n\t")
			// Tabs stay tabs so that the caret lines up under them.
			for i, r := range e.Source {
				if i >= e.Pos.Col-1 {
					break
				}
				if r == '\t' {
					b.WriteByte('\t')
				} else {
					b.WriteByte(' ')
				}
			}
			b.WriteByte('^')
		}
	}
	if e.Hint != "" {
		b.WriteString("\n\t(")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Errorf returns an *Error at p.
func Errorf(p Pos, format string, args ...any) error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// List is several errors reported together, e.g. every bad patch of a
// build. It prints one error per line, in the order they were added.
type List []error

func (l List) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap lets errors.Is and errors.As look inside the list.
func (l List) Unwrap() []error { return l }

// Err returns nil for an empty list, so that callers can
// `return errs.Err()` without the typed-nil trap.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// As reports whether err is or wraps an *Error, and returns it.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
