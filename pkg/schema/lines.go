package schema

import (
	"strconv"
	"strings"

	"bethel/pkg/lazyre"
)

// lines finds where keys are written: the TOML decoder keeps no positions,
// and an error that says "fields.toml:1" for a typo on line 80 sends the
// organizer hunting. Paths are dotted, with the index of an array-of-tables
// element after its name ("fields.3.categories"); the first writing wins.
type lines struct {
	at map[string]int
	// fields holds the line of each [[fields]] header, in order.
	fields []int
}

var (
	lineHeaderRE = lazyre.New(`^\s*(\[\[?)\s*([^\]]*?)\s*\]\]?`)
	lineKeyRE    = lazyre.New(`^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*(?:\.\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*)?=`)
)

func scanLines(data []byte) *lines {
	l := &lines{at: map[string]int{}}
	prefix := ""
	inMulti := false
	for i, text := range strings.Split(string(data), "\n") {
		n := i + 1
		// Skip the body of a multi-line string: its lines are no keys.
		if c := strings.Count(text, `"""`) + strings.Count(text, `'''`); c%2 == 1 {
			inMulti = !inMulti
			if !inMulti {
				continue
			}
		} else if inMulti {
			continue
		}
		// Blank and comment lines, most of a commented declaration, hold
		// no key: skip them without the regexps.
		if t := strings.TrimLeft(text, " \t"); t == "" || t[0] == '#' {
			continue
		}
		if m := lineHeaderRE().FindStringSubmatch(text); m != nil {
			name := unquoteKeys(m[2])
			if m[1] == "[[" && name == "fields" {
				l.fields = append(l.fields, n)
				prefix = "fields." + strconv.Itoa(len(l.fields)-1)
			} else if rest, ok := strings.CutPrefix(name, "fields."); ok && len(l.fields) > 0 {
				prefix = "fields." + strconv.Itoa(len(l.fields)-1) + "." + rest
			} else {
				prefix = name
			}
			l.set(prefix, n)
			continue
		}
		if m := lineKeyRE().FindStringSubmatch(text); m != nil {
			k := unquote(m[1])
			if m[2] != "" {
				k += "." + unquote(m[2])
			}
			if prefix != "" {
				k = prefix + "." + k
			}
			l.set(k, n)
		}
	}
	return l
}

func (l *lines) set(path string, n int) {
	if _, ok := l.at[path]; !ok {
		l.at[path] = n
	}
}

// line returns the line of path, or of its closest written ancestor, or 1.
func (l *lines) line(path string) int {
	for path != "" {
		if n, ok := l.at[path]; ok {
			return n
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 1
}

// field returns the line of key k of field i ("" for its header).
func (l *lines) field(i int, k string) int {
	p := "fields." + strconv.Itoa(i)
	if k != "" {
		p += "." + k
	}
	return l.line(p)
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') {
		if s[0] == '"' {
			if u, err := strconv.Unquote(s); err == nil {
				return u
			}
		}
		return s[1 : len(s)-1]
	}
	return s
}

// unquoteKeys turns a dotted header such as `fields . "aliases"` into
// fields.aliases.
func unquoteKeys(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = unquote(strings.TrimSpace(p))
	}
	return strings.Join(parts, ".")
}
