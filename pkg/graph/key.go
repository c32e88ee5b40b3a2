package graph

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"bethel/pkg/cache"
)

// Action key descriptions. A node's key is the hash of its description
// (cache.Desc): one line per fact, each of one of the kinds in keyKinds,
// written in that order. The kinds are declared once, below, with the
// shape --explain reads them by: a new kind is a new row, and it can never
// be reported as another.
//
// The node's name is not part of the key: renaming a node is not a new
// computation. Paths holding spaces or other odd bytes are Go-quoted so that
// the hash, always the last field, can be split off.

// keyKind is one kind of line of an action key's description.
type keyKind int

const (
	// bethel <version>: every key is salted with bethel's version.
	kBethel keyKind = iota
	// stage <name> <version>: a built-in stage node's stage.
	kStage
	// run "<command>": a command node's shell command.
	kRun
	// lineage off: a stage node built with cell lineage off
	// (BETHEL_LINEAGE=off); its products differ from a build with it.
	kLineageOff
	// visibility <private|internal|public>
	kVisibility
	// declassify "<reason>": only when the node gives one.
	kDeclassify
	// env <NAME>=<hash>: a command node's declared environment variable,
	// in declared order, with a short hash of its value ("-" when unset),
	// never the value itself.
	kEnv
	// param <key>=<canonical value>: sorted by key (canon).
	kParam
	// output <path>: in declared order.
	kOutput
	// input <path> <hash>: in InputFiles order, then the engine
	// artifacts (EngineInputs: graph:, lineage:<path>) with the hash of
	// what the node's FS serves for them (artifacts.go).
	kInput
	// patch <path> <hash>: in PatchFiles order.
	kPatch
	numKeyKinds
)

// keyShape is how the lines of one kind are told apart and compared.
type keyShape int

const (
	single keyShape = iota // at most one line: compared by its text
	keyed                  // <id>=<value>, one line per id
	list                   // an ordered list of ids
	file                   // <id> <hash>, one line per id
)

// keyKinds declares every kind: its first word, its shape, and what
// --explain says when lines of it differ between the last build and this
// one (old or new is "" on the side that has no such line).
var keyKinds = [numKeyKinds]struct {
	word    string
	shape   keyShape
	explain func(id, old, new string) string
}{
	kBethel: {"bethel", single, func(_, o, n string) string { return fmt.Sprintf("bethel version changed: %s -> %s", o, n) }},
	kStage: {"stage", single, func(_, o, n string) string {
		oname, over, _ := strings.Cut(o, " ")
		nname, nver, _ := strings.Cut(n, " ")
		switch {
		case o == "" || n == "":
			return "node changed between a stage and a command"
		case oname == nname:
			return fmt.Sprintf("stage %s version changed: %s -> %s", nname, over, nver)
		}
		return fmt.Sprintf("stage changed: %s -> %s", oname, nname)
	}},
	kRun: {"run", single, func(_, o, n string) string {
		if o == "" || n == "" {
			return "node changed between a stage and a command"
		}
		return fmt.Sprintf("command changed: %s -> %s", clip(o), clip(n))
	}},
	kLineageOff: {"lineage", single, func(_, o, n string) string {
		if n != "" {
			return "cell lineage switched off"
		}
		return "cell lineage switched on (the last build had it off)"
	}},
	kVisibility: {"visibility", single, func(_, o, n string) string { return fmt.Sprintf("visibility changed: %s -> %s", o, n) }},
	kDeclassify: {"declassify", single, func(_, o, n string) string { return "declassify reason changed" }},
	kEnv: {"env", keyed, func(k, o, n string) string {
		switch {
		case o == "":
			return fmt.Sprintf("environment variable %s declared", k)
		case n == "":
			return fmt.Sprintf("environment variable %s no longer declared", k)
		}
		return fmt.Sprintf("environment variable %s changed", k)
	}},
	kParam: {"param", keyed, func(k, o, n string) string {
		switch {
		case o == "":
			return fmt.Sprintf("param %s added: %s", k, clip(n))
		case n == "":
			return fmt.Sprintf("param %s removed (was %s)", k, clip(o))
		}
		return fmt.Sprintf("param %s changed: %s -> %s", k, clip(o), clip(n))
	}},
	kOutput: {"output", list, func(_, o, n string) string { return fmt.Sprintf("declared outputs changed: [%s] -> [%s]", o, n) }},
	kInput:  {"input", file, fileChange("input", "input")},
	kPatch:  {"patch", file, fileChange("patch file", "patch")},
}

// fileChange explains a file line that appeared, went, or names other
// content.
func fileChange(noun, changedNoun string) func(id, o, n string) string {
	return func(id, o, n string) string {
		switch {
		case o == "":
			return fmt.Sprintf("%s %s added", noun, id)
		case n == "":
			return fmt.Sprintf("%s %s removed", noun, id)
		}
		return fmt.Sprintf("%s %s changed: %s -> %s", changedNoun, id, short(o), short(n))
	}
}

// keyKindOf is the kind of a line's first word; ok is false for a word no
// kind has (a description written by another version of bethel).
func keyKindOf(word, rest string) (keyKind, bool) {
	for k := range keyKinds {
		if keyKinds[k].word == word {
			if keyKind(k) == kLineageOff && rest != "off" {
				return 0, false
			}
			return keyKind(k), true
		}
	}
	return 0, false
}

// addKey appends a line of kind k whose text after the word is rest.
func addKey(d *cache.Desc, k keyKind, rest string) { d.Add(keyKinds[k].word + " " + rest) }

// addKeyQuoted appends a line of kind k holding s Go-quoted.
func addKeyQuoted(d *cache.Desc, k keyKind, s string) { d.AddQuoted(keyKinds[k].word, s) }

// addKeyFile appends a file line of kind k.
func addKeyFile(d *cache.Desc, k keyKind, path string, h cache.Hash) {
	d.AddFile(keyKinds[k].word, quotePath(path), h)
}

func quotePath(p string) string {
	for _, r := range p {
		if r <= ' ' || r == '"' || r == '\\' || r == 0x7f {
			return strconv.Quote(p)
		}
	}
	return p
}

// canon is the canonical encoding of a decoded TOML value: map keys sorted,
// every type tagged where two types could print alike (1 vs 1.0), so that
// equal params give equal keys and any change gives a different one.
func canon(v any) string {
	var b strings.Builder
	writeCanon(&b, v)
	return b.String()
}

func writeCanon(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(strconv.Quote(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !math.IsInf(x, 0) && !math.IsNaN(x) && !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		b.WriteString(s)
	case time.Time:
		b.WriteString("datetime(" + x.Format(time.RFC3339Nano) + ")")
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanon(b, e)
		}
		b.WriteByte(']')
	case []map[string]any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanon(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeCanon(b, x[k])
		}
		b.WriteByte('}')
	case []string:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(e))
		}
		b.WriteByte(']')
	default:
		// TOML local dates and times print deterministically.
		fmt.Fprintf(b, "%T(%v)", v, v)
	}
}

// keyLine is one parsed line of a description.
type keyLine struct {
	id, value string
}

// parsedDesc is a description split by kind, in the order of its lines;
// other holds the lines of no known kind.
type parsedDesc struct {
	lines [numKeyKinds][]keyLine
	other []string
}

func parseDesc(s string) *parsedDesc {
	d := &parsedDesc{}
	for _, line := range cache.Lines(s) {
		word, rest, _ := strings.Cut(line, " ")
		k, ok := keyKindOf(word, rest)
		if !ok {
			d.other = append(d.other, line)
			continue
		}
		var l keyLine
		switch keyKinds[k].shape {
		case single, list:
			l.value = rest
			l.id = rest
		case keyed:
			l.id, l.value, _ = strings.Cut(rest, "=")
		case file:
			i := strings.LastIndexByte(rest, ' ')
			if i < 0 {
				d.other = append(d.other, line)
				continue
			}
			l.id, l.value = rest[:i], rest[i+1:]
		}
		d.lines[k] = append(d.lines[k], l)
	}
	return d
}

func short(hexHash string) string {
	if len(hexHash) > 12 {
		return hexHash[:12]
	}
	return hexHash
}

func clip(s string) string {
	const max = 60
	if len(s) > max {
		return s[:max-3] + "..."
	}
	return s
}

// explainChange says, kind by kind, how the description a node was last
// built from differs from its current one. A reason that one file line
// changed (an input or patch file added, removed, or with other content)
// also comes back typed, in changes, naming its index in the reasons.
func explainChange(oldDesc, newDesc string) (r []string, changes []FileChange) {
	o, n := parseDesc(oldDesc), parseDesc(newDesc)
	seen := map[string]bool{}
	say := func(msg string) {
		if !seen[msg] {
			seen[msg] = true
			r = append(r, msg)
		}
	}
	reordered := false
	for k := range keyKinds {
		kind := &keyKinds[k]
		ol, nl := o.lines[k], n.lines[k]
		switch kind.shape {
		case single:
			var ov, nv string
			if len(ol) > 0 {
				ov = ol[0].value
			}
			if len(nl) > 0 {
				nv = nl[0].value
			}
			if ov != nv {
				say(kind.explain("", ov, nv))
			}
		case list:
			ids := func(ls []keyLine) string {
				s := make([]string, len(ls))
				for i, l := range ls {
					s[i] = l.id
				}
				return strings.Join(s, " ")
			}
			if ov, nv := ids(ol), ids(nl); ov != nv {
				say(kind.explain("", ov, nv))
			}
		case keyed, file:
			old := make(map[string]string, len(ol))
			for _, l := range ol {
				old[l.id] = l.value
			}
			cur := make(map[string]bool, len(nl))
			var changed []string
			var typed []FileChange // changed's, for file lines
			note := func(id, ov, nv string) {
				changed = append(changed, kind.explain(id, ov, nv))
				if kind.shape == file {
					typed = append(typed, FileChange{Kind: kind.word, Path: unquotePath(id), Old: ov, New: nv})
				}
			}
			for _, l := range nl {
				cur[l.id] = true
				if ov, ok := old[l.id]; !ok || ov != l.value {
					note(l.id, ov, l.value)
				}
			}
			for _, l := range ol {
				if !cur[l.id] {
					note(l.id, l.value, "")
				}
			}
			if kind.shape == keyed {
				sort.Strings(changed)
			}
			for i, c := range changed {
				if seen[c] {
					continue
				}
				say(c)
				if typed != nil {
					typed[i].Reason = len(r) - 1
					changes = append(changes, typed[i])
				}
			}
			if len(changed) == 0 && len(ol) == len(nl) {
				for i := range ol {
					reordered = reordered || ol[i].id != nl[i].id
				}
			}
		}
	}
	oldOther := make(map[string]bool, len(o.other))
	for _, l := range o.other {
		oldOther[l] = true
	}
	for _, l := range n.other {
		if !oldOther[l] {
			say(fmt.Sprintf("key line %q added", clip(l)))
		}
		delete(oldOther, l)
	}
	for _, l := range o.other {
		if oldOther[l] {
			say(fmt.Sprintf("key line %q is gone", clip(l)))
		}
	}
	if len(r) == 0 && reordered {
		r = append(r, "inputs reordered")
	}
	if len(r) == 0 && oldDesc != newDesc {
		r = append(r, "its key description changed")
	}
	return r, changes
}

// unquotePath undoes quotePath.
func unquotePath(p string) string {
	if strings.HasPrefix(p, `"`) {
		if u, err := strconv.Unquote(p); err == nil {
			return p[:0] + u
		}
	}
	return p
}
