package schema

import (
	"slices"
	"strings"
	"testing"
)

func TestParsePrivacy(t *testing.T) {
	tests := []struct {
		name, data, err string
		want            Privacy
	}{
		{name: "defaults", data: "# nothing\n", want: Privacy{MinCell: 5}},
		{name: "all keys", data: "min_cell = 3\nsensitive_values = [\"out/a.sensitive\"]\nunsandboxed = \"reviewed\"\n[sources]\npublic = [\"x\"]\nprivate = [\"inputs/**\"]\n",
			want: Privacy{MinCell: 3, SensitiveValues: []string{"out/a.sensitive"}, SensitiveValuesLine: 2, Unsandboxed: "reviewed",
				Sources: []SourceRule{{"inputs/**", "private", 6}, {"x", "public", 5}}}},
		{name: "sensitive belongs to the fields", data: "min_cell = 5\nsensitive = [\"email\"]\n",
			err: "config/privacy.toml:2: which fields are sensitive is declared with the fields: mark each field sensitive = true in the field model (config/fields.toml), and remove this key"},
		{name: "countable belongs to the fields", data: "countable = []\n",
			err: "config/privacy.toml:1: which fields are countable is declared with the fields: mark each field countable = true in the field model (config/fields.toml), and remove this key"},
		{name: "unknown key", data: "# x\n\nmincell = 3\n", err: `config/privacy.toml:3: unknown key "mincell" (want min_cell, sensitive_values, unsandboxed, sources)`},
		{name: "bad min", data: "# x\nmin_cell = 0\n", err: "config/privacy.toml:2: min_cell must be an integer of at least 1"},
		{name: "unknown level", data: "[sources]\nsecret = [\"**\"]\n", err: `config/privacy.toml:2: sources: unknown level "secret" (want private, internal or public)`},
		{name: "no reason", data: "unsandboxed = \" \"\n", err: "config/privacy.toml:1: unsandboxed needs a reason"},
		{name: "syntax", data: "min_cell = [\n", err: "config/privacy.toml:1: TOML syntax: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePrivacy("config/privacy.toml", []byte(tt.data))
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("err = %v\nwant %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.MinCell != tt.want.MinCell || p.Unsandboxed != tt.want.Unsandboxed || p.SensitiveValuesLine != tt.want.SensitiveValuesLine ||
				!slices.Equal(p.SensitiveValues, tt.want.SensitiveValues) || !slices.Equal(p.Sources, tt.want.Sources) {
				t.Errorf("got %+v\nwant %+v", *p, tt.want)
			}
		})
	}
}

// FuzzParsePrivacy: any bytes give settings or an error naming the file,
// never a panic; settings always have a min_cell of at least 1 and only
// known levels.
func FuzzParsePrivacy(f *testing.F) {
	f.Add([]byte("min_cell = 5\nsensitive_values = [\"out/private/registrations.sensitive\"]\n[sources]\nprivate = [\"inputs/**\"]\n"))
	f.Add([]byte("sensitive = [\"email\"]\ncountable = 3\n"))
	f.Add([]byte("[sources]\nprivate = \"inputs/**\"\n\"public\" = [1]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePrivacy("config/privacy.toml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "config/privacy.toml") {
				t.Errorf("error without the file: %v", err)
			}
			return
		}
		if p.MinCell < 1 {
			t.Errorf("min_cell %d", p.MinCell)
		}
		for _, r := range p.Sources {
			if !isPrivacyLevel(r.Level) {
				t.Errorf("level %q", r.Level)
			}
		}
	})
}
