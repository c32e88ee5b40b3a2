package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOtherPlatformWorkspace: testdata/otherplatform is an event on
// another registration platform (other headers, day-first dates, no
// preferred name, office, housing or photo consent, a beef dinner, member
// types worded its own way, a yes/no choir question), written by hand as
// an organizer would: config/fields.toml and pipeline.toml only. It
// builds, and every cell of its dinner, choir and attendance tables
// equals a count computed here from the raw export with encoding/csv, the
// patch file and nothing of bethel.
func TestOtherPlatformWorkspace(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "otherplatform"))); err != nil {
		t.Fatal(err)
	}
	if r := runBethel(t, dir, "make"); r.code != 0 {
		t.Fatalf("make: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "inputs", "registrations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	// The platform's wording, as config/fields.toml maps it.
	group := map[string]string{"Daughter (JD)": "daughters", "JD": "daughters", "Job's Daughter": "daughters",
		"Guardian Council": "adults", "Adult Leader": "adults", "Family Member": "guests", "Guest": "guests"}
	dinner := map[string]string{"Beef": "beef", "Roast Chicken": "chicken", "Chicken": "chicken", "Vegetarian": "vegetarian", "Veggie": "vegetarian", "": "(blank)"}
	choir := map[string]string{"Yes": "yes", "Y": "yes", "No": "no", "N": "no", "": "(blank)"}
	bethel := func(s string) string {
		s = strings.TrimLeft(strings.NewReplacer("Bethel No. ", "", "Bethel #", "", "Bethel ", "").Replace(s), "0")
		return s
	}
	type rec struct{ id, group, dinner, choir, bethel string }
	var recs []rec
	for _, r := range rows[1:] {
		if r[col["Registration Status"]] == "Cancelled" {
			continue
		}
		recs = append(recs, rec{r[col["Confirmation #"]], group[r[col["Attendee Type"]]], dinner[r[col["Dinner Selection"]]],
			choir[r[col["Choir?"]]], bethel(r[col["Bethel Number"]])})
	}
	// patches/registrations/10-fixes.toml: a walk-in guest of bethel 12
	// with no dinner and no choir answer; OP-005 will sing.
	recs = append(recs, rec{"OP-900", "guests", "(blank)", "(blank)", "12"})
	for i := range recs {
		if recs[i].id == "OP-005" {
			recs[i].choir = "yes"
		}
	}
	count := func(keep func(rec) bool) string {
		n := 0
		for _, r := range recs {
			if keep(r) {
				n++
			}
		}
		return strconv.Itoa(n)
	}
	check := func(file string, cell func(row, column string) string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "out", "summary", file))
		if err != nil {
			t.Fatal(err)
		}
		tab, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		cells := 0
		for _, r := range tab[1:] {
			for j, h := range tab[0] {
				if want := cell(r[0], h); want != "" && r[j] != want {
					t.Errorf("%s row %s column %s = %s, want %s", file, r[0], h, r[j], want)
				}
				cells++
			}
		}
		if cells < 6 {
			t.Errorf("%s: %d cells", file, cells)
		}
	}
	byGroup := func(match func(rec, string) bool) func(row, column string) string {
		return func(row, column string) string {
			switch column {
			case "daughters", "adults", "guests":
				return count(func(r rec) bool { return match(r, row) && r.group == column })
			case "total", "count":
				return count(func(r rec) bool { return match(r, row) })
			}
			return ""
		}
	}
	check("dinners.csv", byGroup(func(r rec, row string) bool { return r.dinner == row }))
	check("choir.csv", byGroup(func(r rec, row string) bool { return r.choir == row }))
	check("attendance.csv", byGroup(func(r rec, row string) bool { return row == "TOTAL" || r.bethel == row }))
	b, err := os.ReadFile(filepath.Join(dir, "out", "summary", "dinners.csv"))
	if err != nil || !strings.Contains(string(b), "\nbeef,") {
		t.Errorf("dinners.csv has no beef row:\n%s", b)
	}
	regs, err := os.ReadFile(filepath.Join(dir, "out", "private", "registrations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(regs), "\n") - 1; n != len(recs) {
		t.Errorf("registrations.csv has %d records, want %d", n, len(recs))
	}
	// Day-first dates: the patch's 14/2/2012 is 14 February.
	if !strings.Contains(string(regs), ",2012-02-14,") {
		t.Error("OP-005's birth date is not 2012-02-14")
	}
}
