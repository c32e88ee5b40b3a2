package patch

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

var testFields = []string{"registration_id", "first_name", "bethel", "member_type", "days_attending"}

// table builds a registrations-like table from "id,first,bethel,type,days" rows.
func table(rows ...string) *Table {
	t := &Table{Name: "registrations", Fields: testFields, Key: "registration_id",
		Lists: map[string]bool{"days_attending": true}, Sensitive: map[string]bool{"first_name": true},
		Source: "inputs/registrations.csv"}
	for i, r := range rows {
		t.Records = append(t.Records, NewRecord(strings.Split(r, ","), i+2))
	}
	return t
}

func load(t *testing.T, files ...string) []*Patch {
	t.Helper()
	fsys := fstest.MapFS{}
	var names []string
	for i, f := range files {
		n := fmt.Sprintf("patches/registrations/%02d.toml", i+1)
		fsys[n] = &fstest.MapFile{Data: []byte(f)}
		names = append(names, n)
	}
	ps, err := Load(fsys, names)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return ps
}

func dump(t *Table) []string {
	var out []string
	for i := range t.Records {
		r := &t.Records[i]
		if r.Dropped {
			continue
		}
		out = append(out, strings.Join(r.Values(), ","))
	}
	return out
}

func statuses(r *Report) []string {
	var s []string
	for _, e := range r.Patches {
		s = append(s, e.ID+"="+string(e.Status))
	}
	return s
}

var base = []string{
	"R-1,Ann,21,daughter,Friday;Saturday",
	"R-2,Bea,12,daughter,Friday",
	"R-3,Cat,12,adult,Saturday",
	"R-4,Ann,21,daughter,Friday;Saturday",
}

func TestApplyStatuses(t *testing.T) {
	tests := []struct {
		name    string
		patches string
		status  []string
		errs    string
		warns   []string
		after   []string
	}{
		{
			name: "applied",
			patches: `[[patch]]
id = "p1"
target = "registrations"
match = { registration_id = "R-1" }
expect = { bethel = "21" }
set = { bethel = "12" }
reason = "typo"
`,
			status: []string{"p1=applied"},
			after:  []string{"R-1,Ann,12,daughter,Friday;Saturday", base[1], base[2], base[3]},
		},
		{
			name: "redundant",
			patches: `[[patch]]
id = "p1"
target = "registrations"
match = { registration_id = "R-2" }
expect = { bethel = "21" }
set = { bethel = "12" }
reason = "typo"
`,
			status: []string{"p1=redundant"},
			warns:  []string{`patches/registrations/01.toml:1: patch "p1": redundant: record R-2 already holds bethel = "12" (the export caught up; the patch can be removed)`},
			after:  base,
		},
		{
			name: "conflict",
			patches: `[[patch]]
id = "p1"
target = "registrations"
match = { registration_id = "R-3" }
expect = { bethel = "21" }
set = { bethel = "31" }
reason = "typo"
`,
			status: []string{"p1=conflict"},
			errs:   `patches/registrations/01.toml:1: patch "p1": conflict: expect bethel = "21", but record R-3 holds bethel = "12" (the export changed underneath the patch; check the record and update or remove the patch)`,
			after:  base,
		},
		{
			name: "conflict withholds sensitive",
			patches: `[[patch]]
id = "p1"
target = "registrations"
match = { registration_id = "R-3" }
expect = { first_name = "Cathy" }
set = { first_name = "Catherine" }
reason = "preferred spelling"
`,
			status: []string{"p1=conflict"},
			errs:   `patches/registrations/01.toml:1: patch "p1": conflict: expect first_name = <withheld>, but record R-3 holds first_name = <withheld> (the export changed underneath the patch; check the record and update or remove the patch)`,
			after:  base,
		},
		{
			name: "orphan",
			patches: `[[patch]]
id = "p1"
target = "registrations"
match = { registration_id = "R-9" }
drop = true
reason = "duplicate of R-1"
`,
			status: []string{"p1=orphan"},
			errs:   `patches/registrations/01.toml:1: patch "p1": orphan: no record matches registration_id = "R-9" (remove the patch if the export no longer has that record)`,
			after:  base,
		},
		{
			name: "ambiguous",
			patches: `[[patch]]
id = "p1"
target = "registrations"
match = { first_name = "Ann", bethel = "21" }
set = { bethel = "12" }
reason = "whole family moved"
`,
			status: []string{"p1=ambiguous"},
			errs:   `patches/registrations/01.toml:1: patch "p1": ambiguous: match bethel = "21", first_name = <withheld> finds 2 records (R-1, R-4); narrow the match or set many = true`,
			after:  base,
		},
		{
			name: "many",
			patches: `[[patch]]
id = "p1"
target = "registrations"
match = { bethel = "12" }
many = true
set = { days_attending = ["Saturday", "Friday"] }
reason = "bethel 12 comes all weekend"
`,
			status: []string{"p1=applied"},
			after:  []string{base[0], "R-2,Bea,12,daughter,Saturday;Friday", "R-3,Cat,12,adult,Saturday;Friday", base[3]},
		},
		{
			name: "shadowed",
			patches: `[[patch]]
id = "p1"
target = "registrations"
match = { registration_id = "R-1" }
set = { bethel = "12" }
reason = "first try"

[[patch]]
id = "p2"
target = "registrations"
match = { registration_id = "R-1" }
set = { bethel = "31" }
reason = "second try"
`,
			status: []string{"p1=shadowed", "p2=applied"},
			warns:  []string{`patches/registrations/01.toml:1: patch "p1": shadowed: later patch "p2" (patches/registrations/01.toml:8) sets bethel of record R-1 again`},
			after:  []string{"R-1,Ann,31,daughter,Friday;Saturday", base[1], base[2], base[3]},
		},
		{
			name: "drop and add",
			patches: `[[patch]]
id = "dup"
target = "registrations"
match = { registration_id = "R-4" }
drop = true
reason = "duplicate of R-1"

[[patch]]
id = "walk-in"
target = "registrations"
add = { registration_id = "W-1", first_name = "Dee", bethel = "12", member_type = "guest", days_attending = ["Sunday"] }
reason = "walk-in"
`,
			status: []string{"dup=applied", "walk-in=applied"},
			after:  []string{base[0], base[1], base[2], "W-1,Dee,12,guest,Sunday"},
		},
		{
			name: "add existing same is redundant",
			patches: `[[patch]]
id = "walk-in"
target = "registrations"
add = { registration_id = "R-2", bethel = "12" }
reason = "walk-in"
`,
			status: []string{"walk-in=redundant"},
			warns:  []string{`patches/registrations/01.toml:1: patch "walk-in": redundant: the export now has record R-2 with the same values (the patch can be removed)`},
			after:  base,
		},
		{
			name: "add existing different conflicts",
			patches: `[[patch]]
id = "walk-in"
target = "registrations"
add = { registration_id = "R-2", bethel = "31", first_name = "Bee" }
reason = "walk-in"
`,
			status: []string{"walk-in=conflict"},
			errs:   `patches/registrations/01.toml:1: patch "walk-in": conflict: adds record R-2, but the export now has it with bethel = "12", first_name = <withheld> (drop the add patch, or turn it into a set patch)`,
			after:  base,
		},
		{
			name: "unknown field",
			patches: `[[patch]]
id = "p1"
target = "registrations"
match = { registration_id = "R-1" }
set = { bethal = "12" }
reason = "typo"
`,
			status: []string{"p1=invalid"},
			errs:   `patches/registrations/01.toml:1: patch "p1": invalid: unknown field "bethal" in set (did you mean "bethel"?)`,
			after:  base,
		},
		{
			name: "list in scalar field",
			patches: `[[patch]]
id = "p1"
target = "registrations"
match = { registration_id = "R-1" }
set = { bethel = ["12"] }
reason = "typo"
`,
			status: []string{"p1=invalid"},
			errs:   `patches/registrations/01.toml:1: patch "p1": invalid: set.bethel is an array, but bethel is not a list field`,
			after:  base,
		},
		{
			name: "wrong target",
			patches: `[[patch]]
id = "p1"
target = "program"
match = { id = "S-1" }
drop = true
reason = "cancelled"
`,
			status: []string{"p1=invalid"},
			errs:   `patches/registrations/01.toml:1: patch "p1": invalid: targets "program", but this node applies "registrations" patches; move the patch to that table's patch files`,
			after:  base,
		},
		{
			name: "drop then set is orphan",
			patches: `[[patch]]
id = "dup"
target = "registrations"
match = { registration_id = "R-4" }
drop = true
reason = "duplicate"

[[patch]]
id = "late"
target = "registrations"
match = { registration_id = "R-4" }
set = { bethel = "12" }
reason = "fix"
`,
			status: []string{"dup=applied", "late=orphan"},
			errs:   `patches/registrations/01.toml:8: patch "late": orphan: no record matches registration_id = "R-4" (remove the patch if the export no longer has that record)`,
			after:  base[:3],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := table(base...)
			// Lines in messages are the [[patch]] header lines; the test
			// files start at line 1.
			rep, warns, err := Apply(tab, load(t, tt.patches), Options{})
			if got := statuses(rep); !reflect.DeepEqual(got, tt.status) {
				t.Errorf("statuses = %v, want %v", got, tt.status)
			}
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.errs {
				t.Errorf("errors\n got %s\nwant %s", gotErr, tt.errs)
			}
			if !reflect.DeepEqual(warns, tt.warns) {
				t.Errorf("warnings\n got %q\nwant %q", warns, tt.warns)
			}
			if got := dump(tab); !reflect.DeepEqual(got, tt.after) && tt.errs == "" {
				t.Errorf("records\n got %q\nwant %q", got, tt.after)
			}
		})
	}
}

func TestShowPrivate(t *testing.T) {
	tab := table(base...)
	ps := load(t, `[[patch]]
id = "p1"
target = "registrations"
match = { registration_id = "R-3" }
expect = { first_name = "Cathy" }
set = { first_name = "Catherine" }
reason = "spelling"
`)
	_, _, err := Apply(tab, ps, Options{ShowPrivate: true})
	if err == nil || !strings.Contains(err.Error(), `expect first_name = "Cathy", but record R-3 holds first_name = "Cat"`) {
		t.Errorf("err = %v", err)
	}
}

func TestReportChanges(t *testing.T) {
	tab := table(base...)
	ps := load(t, `[[patch]]
id = "p1"
target = "registrations"
match = { registration_id = "R-1" }
set = { bethel = "12", first_name = "Anne" }
reason = "typo"
author = "Registrar"
date = 2026-05-01
`)
	rep, _, err := Apply(tab, ps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{Key: "R-1", Op: Set, Field: "bethel", Old: "21", New: "12"},
		{Key: "R-1", Op: Set, Field: "first_name", Old: "Ann", New: "Anne", Sensitive: true},
	}
	e := rep.Patches[0]
	if !reflect.DeepEqual(e.Changes, want) || e.Author != "Registrar" || e.Date != "2026-05-01" || e.Line != 1 {
		t.Errorf("entry = %+v", e)
	}
	ap := tab.Applied(0)
	if len(ap) != 1 || ap[0].Patch.ID != "p1" || !reflect.DeepEqual(ap[0].Fields, []string{"bethel", "first_name"}) {
		t.Errorf("Applied(0) = %+v", ap)
	}
}

// TestRefreshedExport is the weekly situation: patches written against
// last week's export meet this week's.
func TestRefreshedExport(t *testing.T) {
	patches := `[[patch]]
id = "typo-R-1"
target = "registrations"
match = { registration_id = "R-1" }
expect = { bethel = "21" }
set = { bethel = "12" }
reason = "parent email"

[[patch]]
id = "type-R-3"
target = "registrations"
match = { registration_id = "R-3" }
expect = { member_type = "adult" }
set = { member_type = "guest" }
reason = "is a parent, not a BG"

[[patch]]
id = "dup-R-4"
target = "registrations"
match = { registration_id = "R-4" }
drop = true
reason = "duplicate of R-1"
`
	old := table(base...)
	rep, warns, err := Apply(old, load(t, patches), Options{})
	if err != nil || len(warns) != 0 {
		t.Fatalf("old export: %v %v", err, warns)
	}
	if got := statuses(rep); !reflect.DeepEqual(got, []string{"typo-R-1=applied", "type-R-3=applied", "dup-R-4=applied"}) {
		t.Fatalf("old statuses %v", got)
	}
	// The new export fixed R-1 itself, someone changed R-3 to daughter on
	// the platform, and the platform removed the duplicate R-4.
	fresh := table(
		"R-1,Ann,12,daughter,Friday;Saturday",
		"R-2,Bea,12,daughter,Friday",
		"R-3,Cat,12,daughter,Saturday",
	)
	rep, warns, err = Apply(fresh, load(t, patches), Options{})
	if got := statuses(rep); !reflect.DeepEqual(got, []string{"typo-R-1=redundant", "type-R-3=conflict", "dup-R-4=orphan"}) {
		t.Errorf("statuses %v", got)
	}
	wantWarn := []string{`patches/registrations/01.toml:1: patch "typo-R-1": redundant: record R-1 already holds bethel = "12" (the export caught up; the patch can be removed)`}
	if !reflect.DeepEqual(warns, wantWarn) {
		t.Errorf("warnings %q", warns)
	}
	wantErr := `patches/registrations/01.toml:9: patch "type-R-3": conflict: expect member_type = "adult", but record R-3 holds member_type = "daughter" (the export changed underneath the patch; check the record and update or remove the patch)
patches/registrations/01.toml:17: patch "dup-R-4": orphan: no record matches registration_id = "R-4" (remove the patch if the export no longer has that record)`
	if err == nil || err.Error() != wantErr {
		t.Errorf("errors\n got %v\nwant %s", err, wantErr)
	}
}

func TestCanon(t *testing.T) {
	tab := table(base...)
	tab.Canon = func(field, v string) (string, error) {
		if field == "member_type" && v != "daughter" && v != "adult" && v != "guest" {
			return "", fmt.Errorf("not a canonical member_type (want daughter, adult or guest)")
		}
		return v, nil
	}
	ps := load(t, `[[patch]]
id = "p1"
target = "registrations"
match = { registration_id = "R-1" }
set = { member_type = "JD" }
reason = "x"
`)
	_, _, err := Apply(tab, ps, Options{})
	want := `patches/registrations/01.toml:1: patch "p1": invalid: set.member_type = "JD": not a canonical member_type (want daughter, adult or guest)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestRecordPacking(t *testing.T) {
	long := strings.Repeat("x", 70000)
	for _, vals := range [][]string{{}, {""}, {"a", "", "bc"}, {long, "y", ""}} {
		r := NewRecord(vals, 3)
		if got := r.Values(); !reflect.DeepEqual(got, vals) && len(vals) > 0 {
			t.Errorf("Values() = %q, want %q", got, vals)
		}
		if r.Len() != len(vals) {
			t.Errorf("Len = %d, want %d", r.Len(), len(vals))
		}
		got := r.AppendValues([]string{"kept"})
		for i := range vals {
			if got[i+1] != r.Get(i) || got[i+1] != vals[i] {
				t.Errorf("AppendValues field %d = %q, Get %q, want %q", i, got[i+1], r.Get(i), vals[i])
			}
		}
		if got[0] != "kept" || len(got) != len(vals)+1 {
			t.Errorf("AppendValues = %q", got)
		}
		if len(vals) > 1 {
			r.Set(1, "changed")
			if r.Get(1) != "changed" || r.Get(0) != vals[0] {
				t.Errorf("Set broke the record: %q", r.Values())
			}
		}
	}
}

// TestKeyLookupModes: an index of only the keys the patches name and an
// index of every key give the same report and table, through adds, drops,
// a renamed key and matches on the new and the old key.
func TestKeyLookupModes(t *testing.T) {
	var rows []string
	for i := 0; i < 40; i++ {
		rows = append(rows, fmt.Sprintf("R-%03d,Name%d,%d,daughter,Friday", i, i, 10+i%5))
	}
	rows = append(rows, "R-007,Twin,12,adult,Friday") // a key held twice
	var b strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, "[[patch]]\nid = \"s%d\"\ntarget = \"registrations\"\nmatch = { registration_id = \"R-%03d\" }\nset = { bethel = \"%d\" }\nreason = \"r\"\n\n", i, i, 30+i)
	}
	b.WriteString(`[[patch]]
id = "walk-in"
target = "registrations"
add = { registration_id = "R-900", first_name = "Walk", bethel = "12", member_type = "guest", days_attending = "Friday" }
reason = "r"

[[patch]]
id = "walk-in-set"
target = "registrations"
match = { registration_id = "R-900" }
set = { bethel = "14" }
reason = "r"

[[patch]]
id = "rename"
target = "registrations"
match = { registration_id = "R-031" }
set = { registration_id = "R-931" }
reason = "r"

[[patch]]
id = "by-new-key"
target = "registrations"
match = { registration_id = "R-931" }
set = { member_type = "adult" }
reason = "r"

[[patch]]
id = "by-old-key"
target = "registrations"
match = { registration_id = "R-031" }
set = { member_type = "guest" }
reason = "r"

[[patch]]
id = "twice"
target = "registrations"
match = { registration_id = "R-007" }
many = true
set = { member_type = "guest" }
reason = "r"

[[patch]]
id = "drop"
target = "registrations"
match = { registration_id = "R-002" }
drop = true
reason = "r"

[[patch]]
id = "after-drop"
target = "registrations"
match = { registration_id = "R-002" }
set = { bethel = "11" }
reason = "r"
`)
	run := func(every bool) ([]string, []string, string) {
		defer func(v bool) { indexEveryKey = v }(indexEveryKey)
		indexEveryKey = every
		tb := table(rows...)
		rep, warns, err := Apply(tb, load(t, b.String()), Options{})
		return dump(tb), statuses(rep), fmt.Sprint(err, warns)
	}
	wantT, wantS, wantErr := run(true)
	if !strings.Contains(strings.Join(wantS, " "), "by-new-key=applied") {
		t.Fatalf("the renamed record is not found by its new key: %v", wantS)
	}
	gotT, gotS, gotErr := run(false)
	if !reflect.DeepEqual(gotT, wantT) || !reflect.DeepEqual(gotS, wantS) || gotErr != wantErr {
		t.Errorf("index of the wanted keys:\ntable %v\nstatuses %v\nerr %s\nindex of every key:\ntable %v\nstatuses %v\nerr %s", gotT, gotS, gotErr, wantT, wantS, wantErr)
	}
}
