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

// Action key descriptions. A node's key is the hash of these lines (see
// cache.Desc), in this order:
//
//	bethel <version>
//	stage <name> <version>          or   run "<command>"
//	lineage off                     a stage node built with lineage off (BETHEL_LINEAGE=off)
//	visibility <private|internal|public>
//	declassify "<reason>"           only when given
//	param <key>=<canonical value>   sorted by key
//	output <path>                   declared order
//	input <path> <hash>             InputFiles order
//	patch <path> <hash>             PatchFiles order
//
// The node's name is not part of it: renaming a node is not a new
// computation. Paths holding spaces or other odd bytes are Go-quoted so that
// the hash, always the last field, can be split off.

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

// parsedDesc is a description split into what explain compares.
type parsedDesc struct {
	head    map[string]string // "bethel", "stage", "run", "visibility", "declassify"
	params  map[string]string
	outputs []string
	files   []descFile // inputs and patches, in order
}

type descFile struct {
	kind string // "input" or "patch"
	path string
	hash string
}

func parseDesc(s string) *parsedDesc {
	d := &parsedDesc{head: map[string]string{}, params: map[string]string{}}
	for _, line := range cache.Lines(s) {
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "param":
			k, v, _ := strings.Cut(rest, "=")
			d.params[k] = v
		case "output":
			d.outputs = append(d.outputs, rest)
		case "input", "patch":
			i := strings.LastIndexByte(rest, ' ')
			if i < 0 {
				continue
			}
			d.files = append(d.files, descFile{kind: kind, path: rest[:i], hash: rest[i+1:]})
		default:
			d.head[kind] = rest
		}
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

// explainChange says, line by line, how the description a node was last
// built from differs from its current one.
func explainChange(oldDesc, newDesc string) []string {
	o, n := parseDesc(oldDesc), parseDesc(newDesc)
	var r []string
	if o.head["bethel"] != n.head["bethel"] {
		r = append(r, fmt.Sprintf("bethel version changed: %s -> %s", o.head["bethel"], n.head["bethel"]))
	}
	os, ns := o.head["stage"], n.head["stage"]
	switch {
	case os != "" && ns != "":
		oname, over, _ := strings.Cut(os, " ")
		nname, nver, _ := strings.Cut(ns, " ")
		if oname == nname && over != nver {
			r = append(r, fmt.Sprintf("stage %s version changed: %s -> %s", nname, over, nver))
		} else if os != ns {
			r = append(r, fmt.Sprintf("stage changed: %s -> %s", oname, nname))
		}
	case os != "" || ns != "" || o.head["run"] != n.head["run"]:
		if o.head["run"] != "" && n.head["run"] != "" {
			r = append(r, fmt.Sprintf("command changed: %s -> %s", clip(o.head["run"]), clip(n.head["run"])))
		} else {
			r = append(r, "node changed between a stage and a command")
		}
	}
	if o.head["lineage"] != n.head["lineage"] {
		if n.head["lineage"] == "off" {
			r = append(r, "cell lineage switched off")
		} else {
			r = append(r, "cell lineage switched on (the last build had it off)")
		}
	}
	if o.head["visibility"] != n.head["visibility"] {
		r = append(r, fmt.Sprintf("visibility changed: %s -> %s", o.head["visibility"], n.head["visibility"]))
	}
	if o.head["declassify"] != n.head["declassify"] {
		r = append(r, "declassify reason changed")
	}
	keys := make([]string, 0, len(o.params)+len(n.params))
	for k := range o.params {
		keys = append(keys, k)
	}
	for k := range n.params {
		if _, ok := o.params[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		ov, inOld := o.params[k]
		nv, inNew := n.params[k]
		switch {
		case !inOld:
			r = append(r, fmt.Sprintf("param %s added: %s", k, clip(nv)))
		case !inNew:
			r = append(r, fmt.Sprintf("param %s removed (was %s)", k, clip(ov)))
		case ov != nv:
			r = append(r, fmt.Sprintf("param %s changed: %s -> %s", k, clip(ov), clip(nv)))
		}
	}
	if strings.Join(o.outputs, "\n") != strings.Join(n.outputs, "\n") {
		r = append(r, fmt.Sprintf("declared outputs changed: [%s] -> [%s]", strings.Join(o.outputs, " "), strings.Join(n.outputs, " ")))
	}
	old := make(map[string]descFile, len(o.files))
	for _, f := range o.files {
		old[f.kind+" "+f.path] = f
	}
	seen := make(map[string]bool, len(n.files))
	for _, f := range n.files {
		k := f.kind + " " + f.path
		seen[k] = true
		of, ok := old[k]
		switch {
		case !ok && f.kind == "patch":
			r = append(r, fmt.Sprintf("patch file %s added", f.path))
		case !ok:
			r = append(r, fmt.Sprintf("input %s added", f.path))
		case of.hash != f.hash:
			r = append(r, fmt.Sprintf("%s %s changed: %s -> %s", f.kind, f.path, short(of.hash), short(f.hash)))
		}
	}
	for _, f := range o.files {
		if !seen[f.kind+" "+f.path] {
			if f.kind == "patch" {
				r = append(r, fmt.Sprintf("patch file %s removed", f.path))
			} else {
				r = append(r, fmt.Sprintf("input %s removed", f.path))
			}
		}
	}
	if len(r) == 0 && oldDesc != newDesc {
		r = append(r, "inputs reordered")
	}
	return r
}
