package cache

import (
	"fmt"
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
type Desc struct {
	b strings.Builder
}

// NewDesc starts a description salted with the tool's version, so that a
// new bethel never trusts entries written by an older one.
func NewDesc(version string) *Desc {
	d := &Desc{}
	d.Add("bethel " + version)
	return d
}

// Add appends one line; a line must not contain a newline (callers quote
// arbitrary strings with strconv.Quote).
func (d *Desc) Add(line string) {
	if strings.ContainsRune(line, '\n') {
		panic(fmt.Sprintf("cache: description line contains a newline: %q", line))
	}
	d.b.WriteString(line)
	d.b.WriteByte('\n')
}

// Key is the action key: the hash of the description.
func (d *Desc) Key() Hash { return Sum([]byte(d.b.String())) }

// String is the description, one line per fact, newline-terminated.
func (d *Desc) String() string { return d.b.String() }

// Lines splits a description (as returned by String) into its lines.
func Lines(desc string) []string {
	desc = strings.TrimSuffix(desc, "\n")
	if desc == "" {
		return nil
	}
	return strings.Split(desc, "\n")
}
