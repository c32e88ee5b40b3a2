package patch

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadErrors(t *testing.T) {
	const ok = `[[patch]]
id = "a"
target = "registrations"
match = { registration_id = "R-1" }
drop = true
reason = "dup"
`
	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"syntax", []string{"[[patch]\nid = 1\n"}, "patches/r/01.toml:1:8: expected end of table array name delimiter ']'\n\t[[patch]\n\t       ^"},
		{"unknown key", []string{strings.Replace(ok, `reason = "dup"`, "reason = \"dup\"\nReason = \"x\"", 1)},
			`patches/r/01.toml:7: patch "a": unknown key "Reason" (did you mean "reason"?)`},
		{"missing reason", []string{strings.Replace(ok, `reason = "dup"`, "", 1)}, `patches/r/01.toml:1: patch "a": missing reason`},
		{"empty reason", []string{strings.Replace(ok, `reason = "dup"`, `reason = " "`, 1)}, `patches/r/01.toml:6: patch "a": reason is empty`},
		{"missing id", []string{strings.Replace(ok, `id = "a"`, "", 1)}, `patches/r/01.toml:1: patch: missing id`},
		{"missing target", []string{strings.Replace(ok, `target = "registrations"`, "", 1)}, `patches/r/01.toml:1: patch "a": missing target`},
		{"bad id", []string{strings.Replace(ok, `id = "a"`, `id = "a b"`, 1)}, `patches/r/01.toml:2: patch "a b": id "a b": use letters, digits and . _ : - (starting with a letter or digit)`},
		{"id not string", []string{strings.Replace(ok, `id = "a"`, `id = 7`, 1)}, `patches/r/01.toml:2: patch: id must be a string, not an integer`},
		{"two kinds", []string{strings.Replace(ok, `drop = true`, "drop = true\nset = { bethel = \"1\" }", 1)}, `patches/r/01.toml:5: patch "a": has both set and drop; a patch does one thing`},
		{"no kind", []string{strings.Replace(ok, "drop = true\n", "", 1)}, `patches/r/01.toml:1: patch "a": needs one of set, drop = true or add`},
		{"drop false", []string{strings.Replace(ok, `drop = true`, `drop = false`, 1)}, `patches/r/01.toml:5: patch "a": drop = false does nothing; remove the key`},
		{"drop not bool", []string{strings.Replace(ok, `drop = true`, `drop = "yes"`, 1)}, `patches/r/01.toml:5: patch "a": drop must be true or false, not a string`},
		{"many not bool", []string{strings.Replace(ok, `drop = true`, "drop = true\nmany = 1", 1)}, `patches/r/01.toml:6: patch "a": many must be true or false, not an integer`},
		{"match not table", []string{strings.Replace(ok, `match = { registration_id = "R-1" }`, `match = "R-1"`, 1)}, `patches/r/01.toml:4: patch "a": match must be a table of field = value ({ field = "value" }), not a string`},
		{"match empty", []string{strings.Replace(ok, `match = { registration_id = "R-1" }`, `match = {}`, 1)}, `patches/r/01.toml:4: patch "a": match is empty`},
		{"no match", []string{strings.Replace(ok, "match = { registration_id = \"R-1\" }\n", "", 1)}, `patches/r/01.toml:1: patch "a": drop needs match`},
		{"bool value", []string{strings.Replace(ok, `drop = true`, `set = { photo_consent = true }`, 1)}, `patches/r/01.toml:5: patch "a": set.photo_consent must be a string, a number or an array of strings, not a boolean`},
		{"mixed array", []string{strings.Replace(ok, `drop = true`, `set = { days_attending = ["Friday", 2] }`, 1)}, `patches/r/01.toml:5: patch "a": set.days_attending must be an array of strings, not an array holding an integer`},
		{"add with match", []string{strings.Replace(ok, `drop = true`, `add = { registration_id = "W-1" }`, 1)}, `patches/r/01.toml:4: patch "a": add takes no match: it adds one new record`},
		{"bad date", []string{strings.Replace(ok, `reason = "dup"`, "reason = \"dup\"\ndate = \"May 1\"", 1)}, `patches/r/01.toml:7: patch "a": date "May 1": want YYYY-MM-DD`},
		{"top-level key", []string{"target = \"x\"\n" + ok}, `patches/r/01.toml:1: unknown top-level key "target": a patch file holds only [[patch]] entries`},
		{"not array", []string{"[patch]\nid = \"a\"\n"}, `patches/r/01.toml:1: patch must be an array of tables ([[patch]]), not a table`},
		{"empty file", []string{"# nothing yet\n"}, `patches/r/01.toml:1: no [[patch]] entries`},
		{"duplicate id", []string{ok, "# second file\n\n" + ok}, `patches/r/02.toml:4: duplicate patch id "a" (first used at patches/r/01.toml:2)`},
		{"sub-table lines", []string{"[[patch]]\nid = \"a\"\ntarget = \"registrations\"\nreason = \"x\"\n[patch.match]\nregistration_id = \"R-1\"\n[patch.set]\nbethel = true\n"},
			`patches/r/01.toml:7: patch "a": set.bethel must be a string, a number or an array of strings, not a boolean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			var names []string
			for i, f := range tt.files {
				n := "patches/r/0" + string(rune('1'+i)) + ".toml"
				fsys[n] = &fstest.MapFile{Data: []byte(f)}
				names = append(names, n)
			}
			_, err := Load(fsys, names)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte("[[patch]]\nid = \"a\"\ntarget = \"registrations\"\nmatch = { registration_id = \"R-1\" }\nset = { bethel = 12, days_attending = [\"Friday\"] }\nreason = \"x\"\ndate = 2026-05-01\n"))
	f.Add([]byte("[[patch]]\nid = \"w\"\ntarget = \"registrations\"\nadd = { registration_id = \"W-1\" }\nreason = '''\nmulti\n[[patch]]\n'''\n"))
	f.Add([]byte("[[patch]]\nid = \"a\"\n[patch.match]\nx = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := Parse("p.toml", data)
		if err != nil && !strings.HasPrefix(err.Error(), "p.toml") {
			t.Fatalf("error without file: %v", err)
		}
		for _, p := range ps {
			if p.ID == "" || p.Reason == "" || p.Target == "" || p.Kind == "" {
				t.Fatalf("accepted an incomplete patch: %+v", p)
			}
			if p.Pos.Line < 1 {
				t.Fatalf("patch without line: %+v", p)
			}
			if (p.Kind == Set || p.Kind == Drop) && len(p.Match) == 0 {
				t.Fatalf("%s without match accepted", p.Kind)
			}
		}
		// Whatever loads must apply without panicking.
		tab := table(base...)
		Apply(tab, ps, Options{})
	})
}
