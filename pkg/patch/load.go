// Package patch loads patch files (patches/<target>/*.toml) and applies
// them to a generic table of records. It knows nothing of registrations or
// programs: a stage hands it a Table (canonical fields in order, the key
// field, which fields are lists or sensitive, and a hook that canonicalizes
// values), and gets back the patched table and a Report of what every
// patch did.
//
// The file format (one or more entries per file):
//
//	[[patch]]
//	id     = "bethel-typo-R-1043"             # unique across all files
//	target = "registrations"                   # the table it applies to
//	match  = { registration_id = "R-1043" }    # must find exactly one record
//	expect = { bethel = "21" }                 # optional compare-and-set
//	set    = { bethel = "12" }                 # or: drop = true, or: add = { ... }
//	many   = true                              # optional: match may find several
//	reason = "Parent confirmed by email"       # required
//	author = "Registrar"                       # optional
//	date   = 2026-05-01                        # optional (TOML date or "YYYY-MM-DD")
//	after_lock = true                          # optional, program patches only
//
// Values are strings, integers, floats, or arrays of strings (for list
// fields such as days_attending, stored joined by the table's separator).
// Loading is strict: an unknown key, a wrong type, a missing id, target or
// reason, none or two of set/drop/add, and an id used twice across files
// are errors naming file:line.
package patch

import (
	"bytes"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"bethel/pkg/lazyre"
	"bethel/pkg/pos"
	"bethel/pkg/tomlguard"
)

// Kind is what a patch does to the records it matches.
type Kind string

// The three kinds of patch.
const (
	Set  Kind = "set"
	Drop Kind = "drop"
	Add  Kind = "add"
)

// Value is a patch value as written: a scalar, or a list of strings.
type Value struct {
	Scalar string
	List   []string
	IsList bool
}

// Field is one name = value pair of a match, expect, set or add table.
type Field struct {
	Name  string
	Value Value
	// Line is where the table holding the field is written.
	Line int
}

// Patch is one [[patch]] entry of a patch file.
type Patch struct {
	ID     string
	Target string
	Kind   Kind
	// Match, Expect and Values (the set or add table) are sorted by field
	// name; Apply reorders nothing, so messages are stable.
	Match     []Field
	Expect    []Field
	Values    []Field
	Many      bool
	AfterLock bool
	Reason    string
	Author    string
	Date      string // YYYY-MM-DD or ""
	// Pos is the file and line of the entry's [[patch]] header.
	Pos pos.Pos
	// keyLines maps a top-level key to the line it is written on.
	keyLines map[string]int
}

// KeyPos returns the position of key in the entry, falling back to the
// [[patch]] header.
func (p *Patch) KeyPos(key string) pos.Pos {
	q := p.Pos
	if l := p.keyLines[key]; l > 0 {
		q.Line = l
	}
	return q
}

var knownKeys = map[string]bool{
	"id": true, "target": true, "match": true, "expect": true, "set": true, "drop": true,
	"add": true, "many": true, "reason": true, "author": true, "date": true, "after_lock": true,
}

var knownKeyList = []string{"add", "after_lock", "author", "date", "drop", "expect", "id", "many", "match", "reason", "set", "target"}

var (
	headerRE = lazyre.New(`^\s*\[\[\s*patch\s*\]\]`)
	tableRE  = lazyre.New(`^\s*\[\s*patch\s*\.\s*([A-Za-z0-9_-]+)\s*\]`)
	keyRE    = lazyre.New(`^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(?:\.|=)`)
	idRE     = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
)

// Load reads the patch files in the given order (callers pass them sorted
// by name: the order patches apply in) and checks that ids are unique
// across them. Every problem of every file is reported, as a pos.List.
func Load(fsys fs.FS, files []string) ([]*Patch, error) {
	var all []*Patch
	var errs pos.List
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		ps, err := Parse(f, data)
		if err != nil {
			if l, ok := err.(pos.List); ok {
				errs = append(errs, l...)
			} else {
				errs = append(errs, err)
			}
		}
		all = append(all, ps...)
	}
	seen := map[string]*Patch{}
	for _, p := range all {
		if q, dup := seen[p.ID]; dup {
			errs = append(errs, pos.Errorf(p.KeyPos("id"), "duplicate patch id %q (first used at %s)", p.ID, q.KeyPos("id")))
			continue
		}
		seen[p.ID] = p
	}
	return all, errs.Err()
}

// Parse parses one patch file. It returns the entries that are valid with
// the errors of the others.
func Parse(file string, data []byte) ([]*Patch, error) {
	if err := tomlguard.Check(file, data); err != nil {
		return nil, pos.List{err}
	}
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		if pe, ok := err.(toml.ParseError); ok {
			return nil, pos.List{syntaxError(file, data, pe)}
		}
		return nil, pos.List{fmt.Errorf("%s: %v", file, err)}
	}
	var errs pos.List
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "patch" {
			errs = append(errs, pos.Errorf(pos.Pos{File: file, Line: topKeyLine(data, k)},
				"unknown top-level key %q: a patch file holds only [[patch]] entries", k))
		}
	}
	raw, ok := doc["patch"]
	if !ok {
		if len(errs) == 0 {
			errs = append(errs, pos.Errorf(pos.Pos{File: file, Line: 1}, "no [[patch]] entries"))
		}
		return nil, errs
	}
	entries, ok := raw.([]map[string]any)
	if !ok {
		return nil, append(errs, pos.Errorf(pos.Pos{File: file, Line: topKeyLine(data, "patch")},
			"patch must be an array of tables ([[patch]]), not %s", typeName(raw)))
	}
	lines := entryLines(data, len(entries))
	var out []*Patch
	for i, e := range entries {
		p := &Patch{Pos: pos.Pos{File: file, Line: lines[i].header}, keyLines: lines[i].keys}
		before := len(errs)
		errs = p.decode(e, errs)
		if len(errs) == before {
			out = append(out, p)
		}
	}
	return out, errs.Err()
}

type entryPos struct {
	header int
	keys   map[string]int
}

// entryLines finds the line of each [[patch]] header and of each key
// directly under it. The TOML decoder keeps no positions, so this is a
// line scan; if it cannot agree with the decoder (a multi-line string that
// holds "[[patch]]"), positions fall back to line 1, never to a wrong line.
func entryLines(data []byte, n int) []entryPos {
	res := make([]entryPos, n)
	lines := bytes.Split(data, []byte("\n"))
	idx := -1
	inMulti := false
	for ln, l := range lines {
		s := string(l)
		if c := strings.Count(s, `"""`) + strings.Count(s, `'''`); c%2 == 1 {
			inMulti = !inMulti
			if inMulti {
				// The key that opens the string is on this line.
				if idx >= 0 && idx < n {
					if m := keyRE().FindStringSubmatch(s); m != nil {
						setKey(&res[idx], m, ln+1)
					}
				}
				continue
			}
		}
		if inMulti {
			continue
		}
		if headerRE().MatchString(s) {
			idx++
			if idx < n {
				res[idx] = entryPos{header: ln + 1, keys: map[string]int{}}
			}
			continue
		}
		if idx < 0 || idx >= n {
			continue
		}
		if m := tableRE().FindStringSubmatch(s); m != nil {
			res[idx].keys[m[1]] = ln + 1
			continue
		}
		if m := keyRE().FindStringSubmatch(s); m != nil {
			setKey(&res[idx], m, ln+1)
		}
	}
	if idx+1 != n {
		for i := range res {
			res[i] = entryPos{header: 1, keys: map[string]int{}}
		}
	}
	return res
}

func setKey(e *entryPos, m []string, line int) {
	k := m[1] + m[2] + m[3]
	if _, ok := e.keys[k]; !ok {
		e.keys[k] = line
	}
}

func topKeyLine(data []byte, key string) int {
	for i, l := range bytes.Split(data, []byte("\n")) {
		s := string(l)
		if m := keyRE().FindStringSubmatch(s); m != nil && m[1]+m[2]+m[3] == key {
			return i + 1
		}
		if m := regexp.MustCompile(`^\s*\[\[?\s*([A-Za-z0-9_-]+)`).FindStringSubmatch(s); m != nil && m[1] == key {
			return i + 1
		}
	}
	return 1
}

// decode validates one entry and fills p, appending every problem to errs.
func (p *Patch) decode(e map[string]any, errs pos.List) pos.List {
	label := func() string {
		if p.ID != "" {
			return fmt.Sprintf("patch %q: ", p.ID)
		}
		return "patch: "
	}
	bad := func(key, format string, args ...any) {
		errs = append(errs, pos.Errorf(p.KeyPos(key), "%s%s", label(), fmt.Sprintf(format, args...)))
	}
	str := func(key string, required bool) string {
		v, ok := e[key]
		if !ok {
			if required {
				errs = append(errs, pos.Errorf(p.Pos, "%smissing %s", label(), key))
			}
			return ""
		}
		s, ok := v.(string)
		if !ok {
			bad(key, "%s must be a string, not %s", key, typeName(v))
			return ""
		}
		if required && strings.TrimSpace(s) == "" {
			bad(key, "%s is empty", key)
		}
		return s
	}
	boolean := func(key string) (bool, bool) {
		v, ok := e[key]
		if !ok {
			return false, false
		}
		b, ok := v.(bool)
		if !ok {
			bad(key, "%s must be true or false, not %s", key, typeName(v))
			return false, false
		}
		return b, true
	}

	p.ID = str("id", true)
	if p.ID != "" && !idRE().MatchString(p.ID) {
		bad("id", "id %q: use letters, digits and . _ : - (starting with a letter or digit)", p.ID)
	}
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !knownKeys[k] {
			hint := ""
			for _, kk := range knownKeyList {
				if strings.EqualFold(kk, k) || strings.ReplaceAll(kk, "_", "") == strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(k)) || pos.Distance(strings.ToLower(k), kk) <= 2 {
					hint = fmt.Sprintf(" (did you mean %q?)", kk)
				}
			}
			bad(k, "unknown key %q%s", k, hint)
		}
	}
	p.Target = str("target", true)
	p.Reason = str("reason", true)
	p.Author = str("author", false)
	if v, ok := e["date"]; ok {
		switch d := v.(type) {
		case time.Time:
			p.Date = d.Format("2006-01-02")
		case string:
			if _, err := time.Parse("2006-01-02", d); err != nil {
				bad("date", "date %q: want YYYY-MM-DD", d)
			}
			p.Date = d
		default:
			bad("date", "date must be a date (2026-05-01), not %s", typeName(v))
		}
	}
	p.Many, _ = boolean("many")
	p.AfterLock, _ = boolean("after_lock")
	if drop, valid := boolean("drop"); valid && !drop {
		bad("drop", "drop = false does nothing; remove the key")
	}

	var kinds []string
	for _, k := range []string{"set", "drop", "add"} {
		if _, ok := e[k]; ok {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		errs = append(errs, pos.Errorf(p.Pos, "%sneeds one of set, drop = true or add", label()))
	case 1:
		p.Kind = Kind(kinds[0])
	default:
		bad(kinds[1], "has both %s and %s; a patch does one thing", kinds[0], kinds[1])
	}

	table := func(key string) []Field {
		v, ok := e[key]
		if !ok {
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			bad(key, "%s must be a table of field = value ({ field = \"value\" }), not %s", key, typeName(v))
			return nil
		}
		if len(m) == 0 {
			bad(key, "%s is empty", key)
			return nil
		}
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		sort.Strings(names)
		fields := make([]Field, 0, len(m))
		for _, n := range names {
			val, err := toValue(m[n])
			if err != nil {
				bad(key, "%s.%s %v", key, n, err)
				continue
			}
			fields = append(fields, Field{Name: n, Value: val, Line: p.KeyPos(key).Line})
		}
		return fields
	}
	p.Match = table("match")
	p.Expect = table("expect")
	switch p.Kind {
	case Set:
		p.Values = table("set")
	case Add:
		p.Values = table("add")
	}
	switch p.Kind {
	case Set, Drop:
		if _, ok := e["match"]; !ok {
			errs = append(errs, pos.Errorf(p.Pos, "%s%s needs match", label(), p.Kind))
		}
	case Add:
		for _, k := range []string{"match", "expect", "many"} {
			if _, ok := e[k]; ok {
				bad(k, "add takes no %s: it adds one new record", k)
			}
		}
	}
	return errs
}

// toValue converts a decoded TOML value to a Value.
func toValue(v any) (Value, error) {
	switch x := v.(type) {
	case string:
		return Value{Scalar: x}, nil
	case int64:
		return Value{Scalar: strconv.FormatInt(x, 10)}, nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return Value{}, fmt.Errorf("must be a finite number")
		}
		return Value{Scalar: strconv.FormatFloat(x, 'f', -1, 64)}, nil
	case []any:
		list := make([]string, 0, len(x))
		for _, it := range x {
			s, ok := it.(string)
			if !ok {
				return Value{}, fmt.Errorf("must be an array of strings, not an array holding %s", typeName(it))
			}
			list = append(list, s)
		}
		return Value{List: list, IsList: true}, nil
	default:
		return Value{}, fmt.Errorf("must be a string, a number or an array of strings, not %s", typeName(v))
	}
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date/time"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return fmt.Sprintf("%T", v)
	}
}
