package pipeline

import (
	"strings"
	"testing"
)

// FuzzDeclaration feeds the privacy file's and the field model's readers
// arbitrary bytes: they must return errors, never panic, and every error
// must name the file.
func FuzzDeclaration(f *testing.F) {
	f.Add([]byte(privacyTOML), []byte(fieldsTOML))
	f.Add([]byte("sensitive = [\"email\"]\ncountable = []\n"), []byte("[[fields]]\nname = \"email\"\nsensitive = true\n"))
	f.Add([]byte("min_cell = 0\nsensitive_values = [\"../x\", \"config/a\"]\n[sources]\nsecret = [\"**\"]\n"), []byte("fields = 3"))
	f.Add([]byte("unsandboxed = \"\"\n[sources]\nprivate = \"inputs/**\"\n"), []byte("[[fields]]\nsensitive = \"yes\"\n"))
	f.Fuzz(func(t *testing.T, privacy, fields []byte) {
		d := &Declaration{Privacy: "config/privacy.toml", Fields: "config/fields.toml", sensitive: map[string]bool{}, countable: map[string]bool{}}
		for _, err := range d.parsePrivacy(privacy) {
			if !strings.Contains(err.Error(), "config/privacy.toml") {
				t.Errorf("error without the file: %v", err)
			}
		}
		if err := d.parseFields(fields); err != nil && !strings.Contains(err.Error(), "config/fields.toml") {
			t.Errorf("error without the file: %v", err)
		}
		for _, r := range d.sources {
			d.SourceLevel(r.pattern)
		}
	})
}
