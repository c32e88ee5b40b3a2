package stages

import (
	"path"
	"strings"
	"testing"
	"testing/fstest"

	"bethel/pkg/stage"
)

func TestLoadPrivacy(t *testing.T) {
	tests := []struct {
		name, data, err string
		min             int
	}{
		{"ok", "min_cell = 3\n", "", 3},
		{"default min", "# nothing\n", "", 5},
		{"unknown key", "# x\n\nmincell = 3\n", "config/privacy.toml:3: unknown key \"mincell\" (want min_cell, sensitive_values, unsandboxed, sources)", 0},
		{"bad min", "# x\nmin_cell = 0\n", "config/privacy.toml:2: min_cell must be an integer of at least 1", 0},
		{"sensitive moved", "min_cell = 5\nsensitive = [\"email\"]\n", "config/privacy.toml:2: which fields are sensitive is declared with the fields: mark each field sensitive = true in the field model (config/fields.toml), and remove this key", 0},
		{"syntax", "min_cell = [\n", "config/privacy.toml:1: TOML syntax: unexpected EOF; expected value", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"config/privacy.toml": {Data: []byte(tt.data)}}
			p, err := LoadPrivacy(fsys, "config/privacy.toml")
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v\nwant %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.MinCell != tt.min {
				t.Errorf("MinCell = %d, want %d", p.MinCell, tt.min)
			}
		})
	}
}

func TestCheckPrivacy(t *testing.T) {
	fsys := fstest.MapFS{"config/privacy.toml": {Data: []byte("min_cell = 5\n")},
		"config/fields.toml": {Data: []byte(testFieldsTOML("first_name", "allergies"))}}
	p, err := LoadPrivacyWith(fsys, "config/privacy.toml", "config/fields.toml")
	if err != nil {
		t.Fatal(err)
	}
	cols := []Derivation{
		{Column: "bethel", From: []string{"bethel"}},
		{Column: "allergy_count", From: []string{"allergies"}, Aggregate: true},
		{Column: "who", From: []string{"bethel", "first_name"}},
	}
	want := `node names: internal output out/summary/x.csv: column "who" copies the values of sensitive field "first_name" (declared in config/fields.toml); make the node private, output counts instead, or declare the node's declassify reason`
	if err := p.CheckPrivacy("names", stage.Internal, "", "out/summary/x.csv", cols); err == nil || err.Error() != want {
		t.Errorf("internal: err = %v\nwant %s", err, want)
	}
	if err := p.CheckPrivacy("names", stage.Public, "", "out/public/x.csv", cols); err == nil {
		t.Error("public output copying first_name passed")
	}
	if err := p.CheckPrivacy("names", stage.Private, "", "out/private/x.csv", cols); err != nil {
		t.Errorf("private: %v", err)
	}
	if err := p.CheckPrivacy("names", stage.Internal, "badge printer needs names", "out/summary/x.csv", cols); err != nil {
		t.Errorf("declassified: %v", err)
	}
	if err := p.CheckPrivacy("names", stage.Internal, "", "out/summary/x.csv", cols[:2]); err != nil {
		t.Errorf("aggregate only: %v", err)
	}
}

// engineDecl sets r's privacy declaration as the engine does for a
// workspace laid out as the sample's: the inputs named fields.toml and
// privacy.toml (the loader adds the workspace's to every node's inputs).
// Stages themselves look at stage.Run.Fields and stage.Run.Privacy only.
func engineDecl(r *stage.Run) *stage.Run {
	for _, in := range r.Inputs {
		switch path.Base(in) {
		case FieldsFile:
			r.Fields = in
		case PrivacyFile:
			r.Privacy = in
		}
	}
	return r
}

// TestPrivacyOnlyFromTheEngine: a node's inputs named like the
// declaration are not read as one; only what the engine names is.
func TestPrivacyOnlyFromTheEngine(t *testing.T) {
	fsys := fstest.MapFS{
		"leak/privacy.toml":   {Data: []byte("min_cell = 1\n")},
		"leak/fields.toml":    {Data: []byte(testFieldsTOML())},
		"config/privacy.toml": {Data: []byte("min_cell = 7\n")},
		"config/fields.toml":  {Data: []byte(testFieldsTOML("first_name"))},
	}
	own := &stage.Run{Node: "n", Inputs: []string{"leak/privacy.toml", "leak/fields.toml"}, FS: fsys}
	p, err := PrivacyOf(own)
	if err != nil {
		t.Fatal(err)
	}
	if p.MinCell != 5 || len(p.Sensitive) != 0 || p.File != "" {
		t.Errorf("a node's own inputs were read as the declaration: %+v", p)
	}
	if _, err := SchemaOf(own); err == nil || !strings.Contains(err.Error(), "the workspace declares no field model") {
		t.Errorf("SchemaOf without the engine's field model: %v", err)
	}
	ws := &stage.Run{Node: "n", Inputs: own.Inputs, Fields: "config/fields.toml", Privacy: "config/privacy.toml", FS: fsys}
	if p, err = PrivacyOf(ws); err != nil {
		t.Fatal(err)
	}
	if p.MinCell != 7 || !p.IsSensitive("first_name") {
		t.Errorf("the workspace's declaration: %+v", p)
	}
}
