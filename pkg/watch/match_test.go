package watch

import (
	"path"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"patches/registrations/*.toml", "patches/registrations/01.toml", true},
		{"patches/registrations/*.toml", "patches/registrations/.01.toml.swp", false},
		{"patches/registrations/*.toml", "patches/registrations/.hidden.toml", false},
		{"patches/registrations/.*.toml", "patches/registrations/.hidden.toml", true},
		{"patches/registrations/*.toml", "patches/registrations/sub/01.toml", false},
		{"patches/**/*.toml", "patches/01.toml", true},
		{"patches/**/*.toml", "patches/a/b/01.toml", true},
		{"patches/**/*.toml", "patches/.git/01.toml", false},
		{"patches/**", "patches/a/b", true},
		{"*/x.csv", "inputs/x.csv", true},
		{"*/x.csv", ".bethel/x.csv", false},
		{"inputs/[ab].csv", "inputs/a.csv", true},
		{"inputs/[ab].csv", "inputs/c.csv", false},
	}
	for _, c := range cases {
		if got := compileGlob(c.pattern).match(c.name); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func TestCompileGlob(t *testing.T) {
	cases := []struct {
		pattern, prefix string
		recursive       bool
	}{
		{"patches/registrations/*.toml", "patches/registrations", false},
		{"patches/**/*.toml", "patches", true},
		{"*.toml", ".", false},
		{"*/x.csv", ".", true},
		{"a/b/**", "a/b", true},
	}
	for _, c := range cases {
		g := compileGlob(c.pattern)
		if g.prefix != c.prefix || g.recursive != c.recursive {
			t.Errorf("compileGlob(%q) = prefix %q recursive %v, want %q %v", c.pattern, g.prefix, g.recursive, c.prefix, c.recursive)
		}
	}
}

func TestEditorTemp(t *testing.T) {
	temp := []string{".a.toml.swp", ".a.toml.swo", "a.toml~", "4913", ".#a.toml", "#a.toml#", "a.tmp",
		"a.csv.tmp.123", ".goutputstream-XYZ", "a.toml___jb_tmp___", "a.toml___jb_old___",
		".~lock.a.csv#", "~$a.xlsx", "a.kate-swp"}
	real := []string{"a.toml", "registrations.csv", "schedule.toml", "#notes", "tmp.csv", "a.swp.toml"}
	for _, n := range temp {
		if !editorTemp(n) {
			t.Errorf("editorTemp(%q) = false", n)
		}
	}
	for _, n := range real {
		if editorTemp(n) {
			t.Errorf("editorTemp(%q) = true", n)
		}
	}
}

// FuzzGlobMatch checks the segment matcher against path.Match, which it
// must agree with wherever neither "**" nor a dot file is involved.
func FuzzGlobMatch(f *testing.F) {
	f.Add("patches/*/*.toml", "patches/a/b.toml")
	f.Add("inputs/[a-c]?.csv", "inputs/b1.csv")
	f.Add("*", "x/y")
	f.Add(`a\*b/c`, "a*b/c")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if strings.Contains(pattern, "**") || strings.HasPrefix(name, ".") || strings.Contains(name, "/.") ||
			strings.Contains(pattern, "//") || strings.Contains(name, "//") ||
			strings.HasPrefix(pattern, "/") || strings.HasSuffix(pattern, "/") ||
			pattern == "" || path.Clean(pattern) != pattern || slashInClass(pattern) {
			return
		}
		want, err := path.Match(pattern, name)
		if err != nil {
			return
		}
		if got := compileGlob(pattern).match(name); got != want {
			t.Fatalf("match(%q, %q) = %v, path.Match says %v", pattern, name, got, want)
		}
	})
}

// slashInClass reports whether a '/' stands inside a [...] class: the
// loader, like this matcher, splits patterns at every '/', so such a
// pattern is malformed for both, whatever path.Match says.
func slashInClass(p string) bool {
	in := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\' && i+1 < len(p):
			i++
		case c == '[':
			in = true
		case c == ']':
			in = false
		case c == '/' && in:
			return true
		}
	}
	return false
}
