package pipeline

import (
	"strings"

	"github.com/BurntSushi/toml"
)

// The TOML decoder reports values, not where they were written, and its
// own key positions are keyed by dotted name, so every [[node]] shares one
// entry (the last node's). scan recovers positions with a lenient
// statement-level pass over a file the decoder has already accepted: it
// only has to find where headers, keys, values and array elements start,
// never to judge validity. It must not panic or loop on any input, because
// the fuzzer feeds it everything the decoder accepts.

// srcPos is a 1-based line and byte column.
type srcPos struct{ line, col int }

// keyEntry is one `key = value` or one table header.
type keyEntry struct {
	// node is the index of the [[node]] this key belongs to, or -1 for
	// top-level keys and headers.
	node int
	// name is the first key part below the node ("params" for
	// `[node.params]` and for `params.x = 1`), or the first part of a
	// top-level key; "" for a [[node]] header.
	name string
	key  srcPos // where the key (or header) starts
	val  srcPos // where the value starts; zero for headers
	// elems are where the top-level elements of an array value start.
	elems []srcPos
}

// scanResult is what scan found, in file order.
type scanResult struct {
	nodes   []srcPos   // every [[node]] header
	entries []keyEntry // every key and table header
	// byNode indexes entries by node (top level at 0, node i at i+1), so
	// that a lookup costs the size of one node, not of the file.
	byNode [][]int32
}

type scanner struct {
	src  string
	i    int
	line int
	lnat int // offset of the current line's first byte
}

func (s *scanner) pos() srcPos { return srcPos{s.line, s.i - s.lnat + 1} }

func (s *scanner) eof() bool { return s.i >= len(s.src) }

func (s *scanner) peek(k int) byte {
	if s.i+k < len(s.src) {
		return s.src[s.i+k]
	}
	return 0
}

// adv moves past one byte, keeping line counts.
func (s *scanner) adv() {
	if s.i < len(s.src) {
		if s.src[s.i] == '\n' {
			s.line++
			s.lnat = s.i + 1
		}
		s.i++
	}
}

// skipSpace skips blanks, and newlines and comments when nl is set.
func (s *scanner) skipSpace(nl bool) {
	for !s.eof() {
		switch c := s.src[s.i]; {
		case c == ' ' || c == '\t' || c == '\r':
			s.adv()
		case c == '\n' && nl:
			s.adv()
		case c == '#' && nl:
			s.skipLine()
		default:
			return
		}
	}
}

// skipLine moves to the start of the next line.
func (s *scanner) skipLine() {
	for !s.eof() && s.src[s.i] != '\n' {
		s.adv()
	}
	s.adv()
}

func scan(src string) *scanResult {
	s := &scanner{src: src, line: 1}
	r := &scanResult{entries: make([]keyEntry, 0, 1+strings.Count(src, "\n"))}
	var ctx []string
	node := -1 // current [[node]] index for keys under it
	for {
		s.skipSpace(true)
		if s.eof() {
			r.index()
			return r
		}
		start := s.i
		p := s.pos()
		if s.src[s.i] == '[' {
			array := s.peek(1) == '['
			s.adv()
			if array {
				s.adv()
			}
			key := s.keyPath()
			ctx = key
			if array && len(key) == 1 && key[0] == "node" {
				r.nodes = append(r.nodes, p)
				node = len(r.nodes) - 1
			}
			e := keyEntry{node: nodeOf(key, node), name: entryName(key, nil), key: p}
			if e.node < 0 && len(key) > 0 {
				// A top-level table such as [node] or [settings].
				e.name = key[0]
			}
			r.entries = append(r.entries, e)
			s.skipLine()
		} else {
			key := s.keyPath()
			s.skipSpace(false)
			if !s.eof() && s.src[s.i] == '=' {
				s.adv()
			}
			s.skipSpace(false)
			e := keyEntry{node: nodeOf(ctx, node), name: entryName(ctx, key), key: p, val: s.pos()}
			e.elems = s.skipValue(true)
			r.entries = append(r.entries, e)
			s.skipLine()
		}
		if s.i == start { // cannot happen after skipLine; guards the loop
			s.adv()
		}
	}
}

// entryName is the name a key is found by: the first part below "node"
// for keys in a node, else the first part.
func entryName(ctx, key []string) string {
	if len(ctx) > 0 {
		if ctx[0] == "node" {
			if len(ctx) > 1 {
				return ctx[1]
			}
			if len(key) > 0 {
				return key[0]
			}
			return ""
		}
		return ctx[0]
	}
	if len(key) > 0 {
		return key[0]
	}
	return ""
}

// nodeOf is the node a key under context belongs to.
func nodeOf(path []string, node int) int {
	if len(path) > 0 && path[0] == "node" {
		return node
	}
	return -1
}

// keyPath reads a dotted key up to '=', ']' or end of line.
func (s *scanner) keyPath() []string {
	var parts []string
	for {
		s.skipSpace(false)
		if s.eof() {
			return parts
		}
		switch c := s.src[s.i]; {
		case c == '"' || c == '\'':
			a := s.i
			s.skipString()
			parts = append(parts, unquoteKey(s.src[a:s.i]))
		case isBare(c):
			a := s.i
			for !s.eof() && isBare(s.src[s.i]) {
				s.adv()
			}
			parts = append(parts, s.src[a:s.i])
		default:
			return parts
		}
		s.skipSpace(false)
		if s.eof() || s.src[s.i] != '.' {
			if !s.eof() && s.src[s.i] == ']' {
				s.adv()
				if !s.eof() && s.src[s.i] == ']' {
					s.adv()
				}
			}
			return parts
		}
		s.adv()
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// unquoteKey decodes a quoted key part. Keys with escapes are rare, so the
// decoder itself does the work for them.
func unquoteKey(q string) string {
	if len(q) < 2 {
		return q
	}
	if q[0] == '\'' {
		return q[1 : len(q)-1]
	}
	body := q[1 : len(q)-1]
	hasEsc := false
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' {
			hasEsc = true
			break
		}
	}
	if !hasEsc {
		return body
	}
	var m map[string]any
	if _, err := toml.Decode("k = "+q, &m); err == nil {
		if v, ok := m["k"].(string); ok {
			return v
		}
	}
	return body
}

// skipString moves past a string starting at the current byte (any of the
// four TOML string forms).
func (s *scanner) skipString() {
	q := s.src[s.i]
	if s.peek(1) == q && s.peek(2) == q {
		s.adv()
		s.adv()
		s.adv()
		for !s.eof() {
			c := s.src[s.i]
			if c == '\\' && q == '"' {
				s.adv()
				s.adv()
				continue
			}
			if c == q && s.peek(1) == q && s.peek(2) == q {
				// Up to two more quotes belong to the content.
				n := 0
				for !s.eof() && s.src[s.i] == q && n < 5 {
					s.adv()
					n++
				}
				return
			}
			s.adv()
		}
		return
	}
	s.adv()
	for !s.eof() {
		c := s.src[s.i]
		if c == '\n' {
			return
		}
		if c == '\\' && q == '"' {
			s.adv()
			s.adv()
			continue
		}
		s.adv()
		if c == q {
			return
		}
	}
}

// skipValue moves past one value; for an array it returns where each
// top-level element starts when top is set.
func (s *scanner) skipValue(top bool) []srcPos {
	if s.eof() {
		return nil
	}
	switch c := s.src[s.i]; c {
	case '"', '\'':
		s.skipString()
	case '[':
		var elems []srcPos
		s.adv()
		for {
			s.skipSpace(true)
			if s.eof() {
				return elems
			}
			switch s.src[s.i] {
			case ']':
				s.adv()
				return elems
			case ',':
				s.adv()
				continue
			}
			if top {
				elems = append(elems, s.pos())
			}
			at := s.i
			s.skipValue(false)
			if s.i == at {
				s.adv()
			}
		}
	case '{':
		s.adv()
		for {
			s.skipSpace(true)
			if s.eof() {
				return nil
			}
			switch s.src[s.i] {
			case '}':
				s.adv()
				return nil
			case ',', '=', '.':
				s.adv()
				continue
			case '"', '\'':
				s.skipString()
				continue
			}
			at := s.i
			if isBare(s.src[s.i]) {
				for !s.eof() && isBare(s.src[s.i]) {
					s.adv()
				}
				s.skipSpace(false)
				if !s.eof() && s.src[s.i] == '=' {
					s.adv()
					s.skipSpace(false)
					s.skipValue(false)
				}
			} else {
				s.skipValue(false)
			}
			if s.i == at {
				s.adv()
			}
		}
	default:
		// A scalar: number, bool, date or time. A date may hold one space
		// before its time part.
		for !s.eof() {
			c := s.src[s.i]
			if c == ' ' && s.i+1 < len(s.src) && s.src[s.i+1] >= '0' && s.src[s.i+1] <= '9' && s.i >= 10 && s.src[s.i-3] == '-' {
				s.adv()
				continue
			}
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ']' || c == '}' || c == '#' {
				break
			}
			s.adv()
		}
	}
	return nil
}

func (r *scanResult) index() {
	r.byNode = make([][]int32, len(r.nodes)+1)
	for i, e := range r.entries {
		k := e.node + 1
		if k >= 0 && k < len(r.byNode) {
			r.byNode[k] = append(r.byNode[k], int32(i))
		}
	}
}

// find returns the first entry of node n (-1 for top level) named key.
func (r *scanResult) find(n int, key string) *keyEntry {
	if n+1 < 0 || n+1 >= len(r.byNode) {
		return nil
	}
	for _, i := range r.byNode[n+1] {
		if e := &r.entries[i]; e.name == key {
			return e
		}
	}
	return nil
}
