package cache

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Desc is the readable description of an action, one fact per line (as Go's
// build cache does for action IDs):
//
//	bethel 0.1.0
//	stage registrations.normalize v3
//	param threshold=5
//	input inputs/registrations.csv 3f1a…(64 hex)
//	patch patches/registrations/typos.toml 9c2e…
//
// Its hash is the action key. Because the key is computed from exactly these
// lines, printing them (BETHEL_DEBUG=key) explains every miss, and two
// descriptions can be compared line by line to say what changed.
//
// A no-op build describes every node, so Desc appends to one byte slice and
// only makes a string when asked (String).
type Desc struct {
	b []byte
}

// NewDesc starts a description salted with the tool's version, so that a
// new bethel never trusts entries written by an older one.
func NewDesc(version string) *Desc {
	d := &Desc{b: make([]byte, 0, 512)}
	d.Add("bethel " + version)
	return d
}

// Reset empties d and starts it again with the version line, so that a
// caller describing many actions can reuse one buffer.
func (d *Desc) Reset(version string) {
	d.b = d.b[:0]
	d.Add("bethel " + version)
}

// Add appends one line; a line must not contain a newline (callers quote
// arbitrary strings with strconv.Quote).
func (d *Desc) Add(line string) {
	if strings.IndexByte(line, '\n') >= 0 {
		panic(fmt.Sprintf("cache: description line contains a newline: %q", line))
	}
	d.b = append(d.b, line...)
	d.b = append(d.b, '\n')
}

// AddQuoted appends the line `<word> <Go-quoted s>`.
func (d *Desc) AddQuoted(word, s string) {
	d.b = append(d.b, word...)
	d.b = append(d.b, ' ')
	if plain(s) {
		// What strconv.Quote prints for printable ASCII without quotes
		// or backslashes, without its per-rune work.
		d.b = append(d.b, '"')
		d.b = append(d.b, s...)
		d.b = append(d.b, '"')
	} else {
		d.b = strconv.AppendQuote(d.b, s)
	}
	d.b = append(d.b, '\n')
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// AddFile appends the line `<word> <path> <hash hex>`; path must hold no
// space or control character (callers quote such paths first).
func (d *Desc) AddFile(word, path string, h Hash) {
	if strings.IndexByte(path, '\n') >= 0 {
		panic(fmt.Sprintf("cache: description path contains a newline: %q", path))
	}
	d.b = append(d.b, word...)
	d.b = append(d.b, ' ')
	d.b = append(d.b, path...)
	d.b = append(d.b, ' ')
	d.b = hex.AppendEncode(d.b, h[:])
	d.b = append(d.b, '\n')
}

// Key is the action key: the hash of the description.
func (d *Desc) Key() Hash { return Sum(d.b) }

// String is the description, one line per fact, newline-terminated.
func (d *Desc) String() string { return string(d.b) }

// Lines splits a description (as returned by String) into its lines.
func Lines(desc string) []string {
	desc = strings.TrimSuffix(desc, "\n")
	if desc == "" {
		return nil
	}
	return strings.Split(desc, "\n")
}
