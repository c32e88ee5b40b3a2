package watch

import (
	"path"
	"strings"
)

// editorTemp reports whether base (a file name without directory) is a
// scratch file an editor or office suite writes next to the file being
// edited: swap files, backups, lock files and the temporaries of atomic
// saves. Their events say nothing about content the pipeline reads; the
// rename that completes an atomic save is seen on the real name.
func editorTemp(base string) bool {
	switch {
	case base == "4913": // vim probes whether it may create files in the directory
		return true
	case strings.HasPrefix(base, ".") && (strings.HasSuffix(base, ".swp") || strings.HasSuffix(base, ".swo") ||
		strings.HasSuffix(base, ".swx") || strings.HasSuffix(base, ".swn")):
		return true // vim swap files: .name.swp, .swo, ...
	case strings.HasSuffix(base, "~"): // vim, emacs, gedit backups
		return true
	case strings.HasPrefix(base, ".#"): // emacs lock links
		return true
	case len(base) > 1 && strings.HasPrefix(base, "#") && strings.HasSuffix(base, "#"): // emacs auto-save
		return true
	case strings.HasSuffix(base, ".tmp"), strings.Contains(base, ".tmp."): // generic temporaries, VS Code's name.tmp.1234
		return true
	case strings.HasPrefix(base, ".goutputstream-"): // GTK (gedit) atomic save
		return true
	case strings.HasSuffix(base, "___jb_tmp___"), strings.HasSuffix(base, "___jb_old___"), strings.HasSuffix(base, "___jb_bak___"):
		return true // JetBrains "safe write"
	case strings.HasSuffix(base, ".vscode-tmp"), strings.HasSuffix(base, ".crswap"):
		return true // VS Code and browser-based editors
	case strings.HasPrefix(base, ".~lock.") && strings.HasSuffix(base, "#"): // LibreOffice lock file
		return true
	case strings.HasPrefix(base, "~$"): // Microsoft Office owner file
		return true
	case strings.HasSuffix(base, ".kate-swp"), strings.HasSuffix(base, ".bak"), strings.HasSuffix(base, ".orig"):
		return true
	case base == ".DS_Store", base == "Thumbs.db":
		return true
	}
	return false
}

// vcsDir reports whether a directory name is version-control or tooling
// metadata that a recursive glob must never descend into.
func vcsDir(base string) bool {
	switch base {
	case ".git", ".hg", ".svn", ".jj", "node_modules":
		return true
	}
	return false
}

// hasMeta reports whether s holds a glob metacharacter.
func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// glob is a compiled pattern: its segments, the literal directory it starts
// from, and whether a match can lie in a subdirectory of that directory that
// does not exist yet (a metacharacter or ** in a directory segment).
type glob struct {
	pattern   string
	segs      []string
	prefix    string // literal leading directory, "." for the root
	recursive bool
}

func compileGlob(p string) glob {
	p = path.Clean(p)
	segs := strings.Split(p, "/")
	g := glob{pattern: p, segs: segs, prefix: "."}
	i := 0
	for i < len(segs)-1 && !hasMeta(segs[i]) {
		i++
	}
	if i > 0 {
		g.prefix = strings.Join(segs[:i], "/")
	}
	for _, s := range segs[i : len(segs)-1] {
		if hasMeta(s) {
			g.recursive = true
		}
	}
	if segs[len(segs)-1] == "**" {
		g.recursive = true
	}
	return g
}

// match reports whether the slash-separated path name matches the pattern
// the way the pipeline loader expands it: each segment as path.Match, a
// "**" segment standing for any number of directories (zero included), and,
// as in a shell, no wildcard matching a leading '.' unless the pattern
// segment starts with one (so "**" never enters a dot directory).
func (g glob) match(name string) bool {
	return matchSegs(g.segs, strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for k := 0; k <= len(name); k++ {
				if matchSegs(pat[1:], name[k:]) {
					return true
				}
				if k < len(name) && strings.HasPrefix(name[k], ".") {
					return false
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if strings.HasPrefix(name[0], ".") && !strings.HasPrefix(pat[0], ".") {
			return false
		}
		ok, err := path.Match(pat[0], name[0])
		if err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// under reports whether name is dir or lies below it ("." holds everything).
func under(name, dir string) bool {
	return dir == "." || name == dir || strings.HasPrefix(name, dir+"/")
}

// ancestors returns dir and every directory above it up to ".", the root.
func ancestors(dir string) []string {
	out := []string{}
	for {
		out = append(out, dir)
		if dir == "." || dir == "/" || dir == "" {
			return out
		}
		dir = path.Dir(dir)
	}
}
