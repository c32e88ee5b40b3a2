package stages

import (
	"testing"
	"testing/fstest"
)

// TestBethelsResolve: a place beside a number must be that bethel's city
// or name, and a message about one says what the directory lists, also
// when it lists no name (a directory bethel init scaffolded).
func TestBethelsResolve(t *testing.T) {
	fsys := fstest.MapFS{"config/bethels.csv": {Data: []byte("number,name,city,district\n12,Rosewood,Springfield,North\n20,,Deer Junction,\n31,Aurora,,\n")}}
	b, err := LoadBethels(fsys, "config/bethels.csv")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ raw, want, err string }{
		{"Bethel 12 - Springfield", "12", ""},
		{"Bethel # 12 (Rosewood)", "12", ""},
		{"rosewood", "12", ""},
		{"Bethel 20 - Deer Junction", "20", ""},
		{"Bethel 12 - Lakeport", "", "contradictory bethel (bethel 12 is Rosewood in Springfield, per config/bethels.csv)"},
		{"Bethel #20 (Rosewood)", "", "contradictory bethel (bethel 20 is in Deer Junction (no name listed), per config/bethels.csv)"},
		{"31 (Elm)", "", "contradictory bethel (bethel 31 is Aurora (no city listed), per config/bethels.csv)"},
	}
	for _, tt := range tests {
		got, err := b.Resolve(tt.raw)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.err {
			t.Errorf("Resolve(%q) = %q, %q; want %q, %q", tt.raw, got, gotErr, tt.want, tt.err)
		}
	}
}
