// Package tomlguard refuses TOML input that would make the decoder run for
// minutes or exhaust memory, before it is decoded. The TOML decoder's cost
// grows with the square of inline-table nesting and of dotted-key length:
// a 48 KB pipeline.toml of nested inline tables took 45 s and 2.9 GB. No
// workspace file needs more than a few levels, so the limits are far above
// any real file and far below any harmful one.
//
// Every TOML file bethel reads (pipeline.toml, config files, patch files)
// goes through Check first. The package is a leaf: it imports pkg/pos and
// the standard library only.
package tomlguard

import (
	"fmt"

	"bethel/pkg/pos"
)

const (
	// MaxSize is the largest TOML file bethel decodes, in bytes. A patch
	// file of twenty thousand corrections is about 4 MB.
	MaxSize = 8 << 20
	// MaxDepth is how deeply arrays and inline tables may nest (a table
	// header [[x]] counts two). Workspace files need three or four.
	MaxDepth = 8
	// MaxDots is how many dots one dotted key (or table header) may hold.
	MaxDots = 8
)

// nestBudget is how much nesting a file of size bytes may hold in all:
// every array or inline table opened adds its depth. The decoder's time
// grows with that sum, so a file of many nests at the depth limit is
// refused too; real files use a fortieth of it (a [[patch]] with a match
// and a set costs 5 in about 200 bytes).
func nestBudget(size int) int { return size/16 + 4096 }

// Check returns a file:line:col error when data is larger than MaxSize,
// nests arrays or inline tables deeper than MaxDepth or more than its
// nestBudget in all, or has a dotted key of more than MaxDots parts. It reads strings and comments only to skip
// them: whatever else is wrong with the file is the decoder's to say. The
// error never quotes the file's content (a patch file may hold private
// values).
func Check(file string, data []byte) error {
	if len(data) > MaxSize {
		return &pos.Error{Pos: pos.Pos{File: file}, Msg: fmt.Sprintf("file is %d bytes, more than the %d a TOML file may have", len(data), MaxSize)}
	}
	s := scanner{data: data, line: 1, lineStart: 0}
	return s.run(file)
}

type scanner struct {
	data      []byte
	i         int
	line      int
	lineStart int // offset of the current line's first byte
}

func (s *scanner) pos(file string) pos.Pos {
	return pos.Pos{File: file, Line: s.line, Col: s.i - s.lineStart + 1}
}

func (s *scanner) newline() {
	s.line++
	s.lineStart = s.i + 1
}

func (s *scanner) has(prefix string) bool {
	return len(s.data)-s.i >= len(prefix) && string(s.data[s.i:s.i+len(prefix)]) == prefix
}

func (s *scanner) run(file string) error {
	depth, dots := 0, 0
	work, budget := 0, nestBudget(len(s.data))
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch c {
		case '\n':
			s.newline()
			dots = 0
		case '#':
			for s.i < len(s.data) && s.data[s.i] != '\n' {
				s.i++
			}
			continue
		case '"', '\'':
			s.skipString(c)
			continue
		case '[', '{':
			depth++
			dots = 0
			if depth > MaxDepth {
				return &pos.Error{Pos: s.pos(file), Msg: fmt.Sprintf("arrays and inline tables nest more than %d deep", MaxDepth)}
			}
			work += depth
			if work > budget {
				return &pos.Error{Pos: s.pos(file), Msg: fmt.Sprintf("too many nested arrays and inline tables for a file of %d bytes (their depths add up to more than %d)", len(s.data), budget)}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
			dots = 0
		case '=', ',':
			dots = 0
		case '.':
			dots++
			if dots > MaxDots {
				return &pos.Error{Pos: s.pos(file), Msg: fmt.Sprintf("a dotted key has more than %d parts", MaxDots+1)}
			}
		}
		s.i++
	}
	return nil
}

// skipString moves past the string starting at s.i, opened by q (a basic
// string for '"', a literal one for '\”), single-line or multi-line. An
// unterminated string ends at the end of its line (single-line) or of the
// file (multi-line); the decoder reports it.
func (s *scanner) skipString(q byte) {
	triple := string([]byte{q, q, q})
	if s.has(triple) {
		s.i += 3
		for s.i < len(s.data) {
			switch {
			case q == '"' && s.data[s.i] == '\\':
				if s.i+1 < len(s.data) && s.data[s.i+1] == '\n' {
					s.i++
					s.newline()
				}
				s.i += 2
				continue
			case s.has(triple):
				s.i += 3
				// Up to two more quotes belong to the string.
				for k := 0; k < 2 && s.i < len(s.data) && s.data[s.i] == q; k++ {
					s.i++
				}
				return
			case s.data[s.i] == '\n':
				s.newline()
			}
			s.i++
		}
		return
	}
	s.i++
	for s.i < len(s.data) {
		switch c := s.data[s.i]; {
		case c == '\n':
			return
		case q == '"' && c == '\\':
			if s.i+1 < len(s.data) && s.data[s.i+1] != '\n' {
				s.i++
			}
		case c == q:
			s.i++
			return
		}
		s.i++
	}
}
