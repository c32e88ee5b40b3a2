package patch

import (
	"testing"
	"testing/fstest"
)

func TestLoadBasic(t *testing.T) {
	fsys := fstest.MapFS{"p/a.toml": {Data: []byte(`
[[patch]]
id     = "fix-1"
target = "registrations"
match  = { registration_id = "R-1043" }
expect = { bethel = "21" }
set    = { bethel = 12, days_attending = ["Friday", "Saturday"] }
reason = "Parent confirmed by email"
date   = 2026-05-01
`)}}
	ps, err := Load(fsys, []string{"p/a.toml"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("got %d patches", len(ps))
	}
	p := ps[0]
	if p.ID != "fix-1" || p.Kind != Set || p.Pos.Line != 2 || p.Date != "2026-05-01" || len(p.Values) != 2 || p.Values[0].Value.Scalar != "12" || !p.Values[1].Value.IsList {
		t.Errorf("patch = %+v", p)
	}
}
