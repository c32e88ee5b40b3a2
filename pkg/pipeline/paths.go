package pipeline

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// cleanPath checks a path or pattern as written in the pipeline file and
// returns it cleaned, or a reason it is not acceptable.
func cleanPath(s string) (string, string) {
	switch {
	case s == "":
		return "", "empty path"
	case strings.ContainsRune(s, 0):
		return "", "path contains a NUL byte"
	case strings.ContainsRune(s, '\\'):
		return "", "path contains a backslash; paths use forward slashes"
	case strings.HasPrefix(s, "/"):
		return "", "absolute path; paths are relative to the workspace"
	}
	c := path.Clean(s)
	switch {
	case c == ".":
		return "", "path names the workspace itself"
	case c == ".." || strings.HasPrefix(c, "../"):
		return "", "path escapes the workspace"
	}
	return c, ""
}

// hasMeta reports whether s is a glob pattern.
func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir) && len(p) > len(dir) && p[len(dir)] == '/'
}

// checkOutputs cleans every output and claims it for its node.
func (l *loader) checkOutputs() {
	claimed := map[string][2]int{} // path -> node, element
	for i, n := range l.p.Nodes {
		outs := make([]string, 0, len(n.Outputs))
		for j, o := range n.Outputs {
			at := l.elemPos(i, "outputs", j)
			p, why := cleanPath(o)
			switch {
			case why != "":
				l.e.at(at, "", "%s: outputs: %q: %s", l.label(i), o, why)
				continue
			case hasMeta(o):
				l.e.at(at, "", "%s: outputs: %q: an output is a file path, not a glob", l.label(i), o)
				continue
			case under(p, "inputs"):
				l.e.at(at, "", "%s: output %s is under inputs/, which holds raw exports that bethel never writes", l.label(i), p)
				continue
			case under(p, ".bethel"):
				l.e.at(at, "", "%s: output %s is under .bethel/, bethel's own cache and state", l.label(i), p)
				continue
			case p == l.rel:
				l.e.at(at, "", "%s: output %s is the pipeline file itself", l.label(i), p)
				continue
			case !under(p, "out"):
				l.e.at(at, "write it under out/, e.g. "+path.Join("out", p),
					"%s: output %s is outside out/: bethel writes only under out/, never sources such as config/, patches/ or .git", l.label(i), p)
				continue
			}
			if c, ok := claimed[p]; ok {
				if c[0] == i {
					l.e.at(at, "", "%s: output %s is listed twice", l.label(i), p)
				} else {
					l.e.at(at, "", "output %s is written by two nodes: %s (%s:%d) and %s", p, l.label(c[0]), l.rel, l.elemPos(c[0], "outputs", c[1]).line, l.label(i))
				}
				continue
			}
			claimed[p] = [2]int{i, j}
			l.p.Producer[p] = n
			outs = append(outs, p)
		}
		n.Outputs = outs
	}
	// An output inside another output (a file under a directory output)
	// would have two writers too.
	for i, n := range l.p.Nodes {
		for j, o := range n.Outputs {
			if w, anc := l.producerAbove(o); w != nil {
				l.e.at(l.elemPos(i, "outputs", j), "", "%s: output %s is inside %s, an output of %s", l.label(i), o, anc, l.label(w.Index))
			}
		}
	}
}

// producerAbove returns the node writing a proper ancestor of p, if any.
func (l *loader) producerAbove(p string) (*Node, string) {
	for {
		k := strings.LastIndexByte(p, '/')
		if k < 0 {
			return nil, ""
		}
		p = p[:k]
		if w := l.p.Producer[p]; w != nil {
			return w, p
		}
	}
}

// producerOf returns the node that writes p (or a directory holding p).
func (l *loader) producerOf(p string) *Node {
	if w := l.p.Producer[p]; w != nil {
		return w
	}
	w, _ := l.producerAbove(p)
	return w
}

// excluded reports whether a glob must never see p: generated files and
// bethel's own state are not sources, whatever the pattern says.
func (l *loader) excluded(p string) bool {
	return under(p, "out") || under(p, ".bethel") || l.producerOf(p) != nil
}

// expand turns every node's inputs and patches into files.
func (l *loader) expand() {
	for i, n := range l.p.Nodes {
		n.InputFiles = l.expandList(i, n, "inputs", n.Inputs)
		n.PatchFiles = l.expandList(i, n, "patches", n.Patches)
		// Patches apply in file-name order, whatever order the patterns
		// were written in.
		sort.Strings(n.PatchFiles)
	}
	l.expandSummaries()
	l.reportMissing()
	l.declReads()
}

// missingSource is a source file that is neither on disk nor written by a
// node: where it is first named, and the nodes that read it.
type missingSource struct {
	path  string
	at    srcPos
	hint  string
	first int // the first reader's index
	nodes []string
}

// noteMissing records that node i names the missing source p at at.
func (l *loader) noteMissing(i int, p string, at srcPos, hint string) {
	if l.missing == nil {
		l.missing = map[string]*missingSource{}
	}
	m := l.missing[p]
	if m == nil {
		m = &missingSource{path: p, at: at, hint: hint, first: i}
		l.missing[p] = m
	}
	name := l.label(i)
	if n := l.p.Nodes[i]; n != nil && n.Name != "" {
		name = n.Name
	}
	if len(m.nodes) == 0 || m.nodes[len(m.nodes)-1] != name {
		m.nodes = append(m.nodes, name)
	}
}

// reportMissing reports each missing source once, at the first place it is
// named: one deleted file that many nodes read is one error, not one per
// node.
func (l *loader) reportMissing() {
	ms := make([]*missingSource, 0, len(l.missing))
	for _, m := range l.missing {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(a, b int) bool { return ms[a].path < ms[b].path })
	for _, m := range ms {
		if len(m.nodes) == 1 {
			l.e.at(m.at, m.hint, "%s: missing source file %s (not on disk, and no node writes it)", l.label(m.first), m.path)
			continue
		}
		l.e.at(m.at, m.hint, "missing source file %s (not on disk, and no node writes it), read by %d nodes: %s",
			m.path, len(m.nodes), strings.Join(m.nodes, ", "))
	}
}

func (l *loader) expandList(i int, n *Node, key string, list []string) []string {
	var files []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	for j, s := range list {
		if l.engineInput(i, n, key, j, s) {
			continue
		}
		at := l.elemPos(i, key, j)
		p, why := cleanPath(s)
		if why != "" {
			l.e.at(at, "", "%s: %s: %q: %s", l.label(i), key, s, why)
			continue
		}
		if under(p, ".bethel") {
			l.e.at(at, "", "%s: %s: %s is under .bethel/, bethel's own cache and state", l.label(i), key, p)
			continue
		}
		if hasMeta(p) {
			if _, err := path.Match(p, ""); err != nil {
				l.e.at(at, "", "%s: %s: bad glob pattern %q", l.label(i), key, s)
				continue
			}
			m := l.glob(p)
			if len(m) == 0 && key == "inputs" {
				hint := ""
				if under(p, "out") {
					hint = "globs never match generated files; list other nodes' outputs by path"
				}
				l.e.at(at, hint, "%s: inputs: pattern %s matches no file", l.label(i), p)
			}
			for _, f := range m {
				add(f)
			}
			continue
		}
		if w := l.producerOf(p); w != nil {
			if w == n {
				l.e.at(at, "", "%s: %s is both an input and an output of the node", l.label(i), p)
				continue
			}
			add(p)
			continue
		}
		if under(p, "out") {
			l.e.at(at, "", "%s: %s: %s is under out/ but no node writes it", l.label(i), key, p)
			continue
		}
		switch t, ok := l.fs.lookup(p); {
		case !ok:
			dir, base := path.Split(p)
			hint := ""
			if c := closest(base, l.fs.names(strings.TrimSuffix(dir, "/"))); c != "" {
				hint = didYouMean(dir + c)
			}
			l.noteMissing(i, p, at, hint)
		case t.IsDir():
			l.e.at(at, "", "%s: %s: %s is a directory; name its files or use a glob such as %s/**", l.label(i), key, p, p)
		default:
			add(p)
		}
	}
	return files
}

// links records the sources whose path goes through a symbolic link (the
// file itself or a directory above it): the engine resolves them before
// every build (see Pipeline.Links). The listings say which entries are
// links, so only those paths cost anything.
func (l *loader) links() {
	seen := map[string]bool{}
	for _, n := range l.p.Nodes {
		for _, f := range n.reads() {
			if seen[f] || l.producerOf(f) != nil {
				continue
			}
			seen[f] = true
			if l.viaLink(f) {
				l.p.Links = append(l.p.Links, f)
			}
		}
	}
	sort.Strings(l.p.Links)
}

// viaLink reports whether any element of the workspace path p is a
// symbolic link.
func (l *loader) viaLink(p string) bool {
	dir := ""
	for _, name := range strings.Split(p, "/") {
		ents := l.fs.list(dir)
		k := sort.Search(len(ents), func(i int) bool { return ents[i].name >= name })
		if k < len(ents) && ents[k].name == name && ents[k].typ&fs.ModeSymlink != 0 {
			return true
		}
		dir = join(dir, name)
	}
	return false
}

// glob returns the files matching a cleaned pattern, sorted. '*', '?' and
// '[...]' match within one path element as in path.Match; an element that
// is exactly "**" matches any number of directories. As in a shell, a
// wildcard does not match a leading '.' (editor swap and lock files are
// dot files) unless the pattern element starts with one.
func (l *loader) glob(pattern string) []string {
	parts := strings.Split(pattern, "/")
	k := 0
	for k < len(parts) && !hasMeta(parts[k]) {
		k++
	}
	base := strings.Join(parts[:k], "/")
	if base != "" && l.excluded(base) {
		return nil
	}
	var out []string
	l.walk(base, parts[k:], &out)
	sort.Strings(out)
	// "**/**" and the like reach a file more than once.
	u := out[:0]
	for i, f := range out {
		if i == 0 || f != out[i-1] {
			u = append(u, f)
		}
	}
	return u
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (l *loader) walk(dir string, pats []string, out *[]string) {
	ents := l.fs.list(dir)
	p, rest := pats[0], pats[1:]
	if p == "**" {
		if len(rest) > 0 {
			l.walk(dir, rest, out)
		}
		for _, e := range ents {
			if e.name[0] == '.' {
				continue
			}
			full := join(dir, e.name)
			if l.excluded(full) {
				continue
			}
			// Symlinked directories are not followed by "**": a link
			// back up the tree would never end.
			switch {
			case e.typ.IsDir():
				l.walk(full, pats, out)
			case len(rest) == 0 && l.fs.isFile(full, e.typ):
				*out = append(*out, full)
			}
		}
		return
	}
	for _, e := range ents {
		if e.name[0] == '.' && p[0] != '.' {
			continue
		}
		if ok, _ := path.Match(p, e.name); !ok {
			continue
		}
		full := join(dir, e.name)
		if l.excluded(full) {
			continue
		}
		if len(rest) == 0 {
			if l.fs.isFile(full, e.typ) {
				*out = append(*out, full)
			}
		} else if l.fs.isDir(full, e.typ) {
			l.walk(full, rest, out)
		}
	}
}

// dirEnt is one directory entry as listed: its type is the d_type
// (regular, directory, symlink, other), without following links.
type dirEnt struct {
	name string
	typ  fs.FileMode
}

// dirCache lists each directory at most once per load. The listings it
// read are exactly what glob expansion and the missing-file check depended
// on, so they also key the compiled-pipeline cache.
type dirCache struct {
	root    string
	m       map[string][]dirEnt
	missing map[string]bool        // listed, but not a readable directory
	order   []string               // directories in the order first listed
	links   map[string]fs.FileMode // symbolic links resolved, and to what
}

func newDirCache(root string) *dirCache {
	return &dirCache{root: root, m: map[string][]dirEnt{}, missing: map[string]bool{}, links: map[string]fs.FileMode{}}
}

// list returns dir's entries sorted by name; nil when dir is missing or
// not a directory.
func (c *dirCache) list(dir string) []dirEnt {
	if ents, ok := c.m[dir]; ok {
		return ents
	}
	ents, missing := readDirEnts(filepath.Join(c.root, filepath.FromSlash(dir)))
	c.m[dir] = ents
	if missing {
		c.missing[dir] = true
	}
	c.order = append(c.order, dir)
	return ents
}

// readDirEnts lists dir sorted by name; missing is set when it cannot be
// listed (absent, not a directory, unreadable).
func readDirEnts(dir string) (ents []dirEnt, missing bool) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, true
	}
	ents = make([]dirEnt, 0, len(des))
	for _, d := range des {
		ents = append(ents, dirEnt{name: d.Name(), typ: d.Type()})
	}
	return ents, false
}

// lookup returns the type of the workspace file p (links followed).
func (c *dirCache) lookup(p string) (fs.FileMode, bool) {
	dir, base := path.Split(p)
	ents := c.list(strings.TrimSuffix(dir, "/"))
	k := sort.Search(len(ents), func(i int) bool { return ents[i].name >= base })
	if k == len(ents) || ents[k].name != base {
		return 0, false
	}
	t := ents[k].typ
	if t&fs.ModeSymlink != 0 {
		fi, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(p)))
		if err != nil {
			c.links[p] = fs.ModeIrregular // dangling: never equal to a stat result
			return 0, false
		}
		c.links[p] = fi.Mode().Type()
		return fi.Mode().Type(), true
	}
	return t, true
}

func (c *dirCache) isFile(p string, t fs.FileMode) bool {
	if t&fs.ModeSymlink != 0 {
		t, _ = c.lookup(p)
	}
	return t.IsRegular()
}

func (c *dirCache) isDir(p string, t fs.FileMode) bool {
	if t&fs.ModeSymlink != 0 {
		t, _ = c.lookup(p)
	}
	return t.IsDir()
}

// names returns the names in dir, for "did you mean" hints.
func (c *dirCache) names(dir string) []string {
	ents := c.list(dir)
	s := make([]string, len(ents))
	for i, e := range ents {
		s[i] = e.name
	}
	return s
}
