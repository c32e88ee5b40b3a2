package pipeline

import (
	"path"
	"sort"
	"strings"
)

// The workspace's one privacy declaration: two files named once, at the
// top of pipeline.toml, that every node reads.
//
//	fields  = "config/fields.toml"   # the field model: which fields are sensitive
//	privacy = "config/privacy.toml"  # source levels, min_cell, sensitive-value sets
//
// Both default to the paths shown, used only when the file exists. They are
// added to every node's inputs (so they key every action and a stage finds
// them as stage.Run.Fields and stage.Run.Privacy), and a node may not read
// any other file of the same name: a node that brought its own privacy file
// could declare nothing sensitive and publish everything.

// Default paths of the privacy declaration.
const (
	DefaultFields  = "config/fields.toml"
	DefaultPrivacy = "config/privacy.toml"
)

// decodeDecl checks a top-level fields or privacy path.
func (l *loader) decodeDecl(key string, v any) {
	p := srcPos{1, 0}
	if e := l.sc.find(-1, key); e != nil {
		p = e.val
	}
	s, ok := v.(string)
	if !ok {
		l.e.at(p, "", "%s must be a path string, not %s", key, typeName(v))
		return
	}
	c, why := cleanPath(s)
	switch {
	case why != "":
		l.e.at(p, "", "%s %q: %s", key, s, why)
		return
	case c != s:
		l.e.at(p, "", "%s %q is not clean; write %q", key, s, c)
		return
	case hasMeta(s):
		l.e.at(p, "", "%s %q must be a path, not a glob", key, s)
		return
	}
	if key == "fields" {
		l.p.Fields = c
	} else {
		l.p.Privacy = c
	}
	l.declPos = append(l.declPos, declAt{key, p})
}

// declAt is where a top-level fields or privacy key was written.
type declAt struct {
	key string
	at  srcPos
}

// declFiles settles the declaration's paths: a declared one must be a
// source file of the workspace; a default one is used when it exists.
func (l *loader) declFiles() {
	for _, k := range []struct {
		key, def string
		p        *string
	}{{"fields", DefaultFields, &l.p.Fields}, {"privacy", DefaultPrivacy, &l.p.Privacy}} {
		at := srcPos{1, 0}
		declared := false
		for _, d := range l.declPos {
			if d.key == k.key {
				at, declared = d.at, true
			}
		}
		if !declared {
			if t, ok := l.fs.lookup(k.def); ok && t.IsRegular() {
				*k.p = k.def
			}
			continue
		}
		f := *k.p
		if f == "" {
			continue
		}
		switch t, ok := l.fs.lookup(f); {
		case under(f, "out") || under(f, ".bethel") || l.producerOf(f) != nil:
			l.e.at(at, "", "%s %s must be a source file of the workspace, not a generated one", k.key, f)
			*k.p = ""
		case !ok:
			l.e.at(at, "", "%s file %s not found", k.key, f)
			*k.p = ""
		case !t.IsRegular():
			l.e.at(at, "", "%s %s is not a regular file", k.key, f)
			*k.p = ""
		}
	}
}

// declReads adds the declaration's files to every node's inputs and
// refuses a node that reads another file named like one of them.
func (l *loader) declReads() {
	var decl []string
	names := map[string]string{} // base name -> the workspace's file of that role
	for _, f := range []struct{ file, def string }{{l.p.Fields, DefaultFields}, {l.p.Privacy, DefaultPrivacy}} {
		if f.file != "" {
			decl = append(decl, f.file)
			names[path.Base(f.file)] = f.file
		}
		names[path.Base(f.def)] = f.file
	}
	for i, n := range l.p.Nodes {
		for _, list := range [][]string{n.InputFiles, n.PatchFiles} {
			for _, f := range list {
				own, ok := names[path.Base(f)]
				if !ok || f == own {
					continue
				}
				what := "the workspace declares none"
				if own != "" {
					what = "the workspace's is " + own
				}
				l.e.at(l.nodePos(i), "remove it from the node; every node reads the workspace's privacy declaration",
					"%s reads %s, a privacy declaration of its own (%s): a node cannot bring its own", l.label(i), f, what)
			}
		}
		// A param naming such a file is refused too: no stage reads a
		// declaration from its params, and none may start to.
		for _, v := range paramStrings(n.Params) {
			c, _ := cleanPath(v)
			own, ok := names[path.Base(c)]
			if !ok || c == own || !strings.HasSuffix(c, ".toml") {
				continue
			}
			l.e.at(l.nodePos(i), "remove it from the node's params; every node reads the workspace's privacy declaration",
				"%s names %s in its params, a privacy declaration of its own: a node cannot bring its own", l.label(i), v)
		}
		for _, f := range decl {
			if !containsStr(n.InputFiles, f) {
				n.InputFiles = append(n.InputFiles, f)
			}
		}
	}
}

// paramStrings is every string in a node's params, nested ones and map
// keys included, in a fixed order.
func paramStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			out = append(out, paramStrings(e)...)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, k)
			out = append(out, paramStrings(x[k])...)
		}
	}
	return out
}

func containsStr(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
