package watch

import "testing"

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
