package main

import (
	"bytes"
	"encoding/csv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestOtherPlatformBuilds is the acceptance test of a form bethel's code
// has never seen: another platform's export (other headers; no preferred
// name, office, housing or photo consent; a beef meal; member types worded
// otherwise; a choir question) is scaffolded with init --from-export,
// which writes config and pipeline.toml only, and builds at once. Every
// cell of every summary is then compared with counts computed here, in
// plain Go over the raw export rows; and no personal value of the export
// reaches an internal or public output.
func TestOtherPlatformBuilds(t *testing.T) {
	tmp := t.TempDir()
	export := otherPlatformExport(240)
	if err := os.WriteFile(filepath.Join(tmp, "export.csv"), export, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "gb")
	if r := runBethel(t, tmp, "init", "--from-export", "export.csv", "gb"); r.code != 0 {
		t.Fatalf("init --from-export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBethel(t, dir, "make"); r.code != 0 {
		t.Fatalf("make: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The raw rows, read with encoding/csv and nothing of bethel.
	raw, err := csv.NewReader(bytes.NewReader(export)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range raw[0] {
		col[h] = i
	}
	group := map[string]string{"Member": "daughters", "Adult Leader": "adults", "Visitor": "guests"}
	type rec struct {
		chapter, group, meal, choir, allergies string
		days                                   []string
	}
	var active []rec
	for _, r := range raw[1:] {
		if r[col["Status"]] == "Withdrawn" {
			continue
		}
		active = append(active, rec{chapter: r[col["Chapter Number"]], group: group[r[col["Registrant Type"]]], meal: r[col["Meal Choice"]],
			choir: r[col["Sing in Choir?"]], allergies: strings.ToLower(r[col["Food Allergies"]]), days: strings.Split(r[col["Days"]], ", ")})
	}
	keywords := map[string][]string{"gluten free": {"gluten", "celiac", "coeliac"}, "lactose intolerant": {"lactose", "dairy"},
		"nut allergy": {"peanut", "tree nut", "nut"}, "shellfish allergy": {"shellfish"}, "vegetarian": {"vegetarian", "vegan"}}
	// in reports whether a record counts in a row of a summary.
	in := map[string]func(r rec, row string) bool{
		"attendance.csv":    func(r rec, row string) bool { return row == "TOTAL" || r.chapter == row },
		"meal_choice.csv":   func(r rec, row string) bool { return r.meal == row },
		"sing_in_choir.csv": func(r rec, row string) bool { return r.choir == row },
		"days.csv":          func(r rec, row string) bool { return slices.Contains(r.days, row) },
		"dietary.csv": func(r rec, row string) bool {
			if r.allergies == "" {
				return false
			}
			matched := false
			for _, kws := range keywords {
				for _, kw := range kws {
					matched = matched || strings.Contains(r.allergies, kw)
				}
			}
			switch row {
			case "any":
				return true
			case "unclassified":
				return !matched
			}
			for _, kw := range keywords[row] {
				if strings.Contains(r.allergies, kw) {
					return true
				}
			}
			return false
		},
	}
	files, _ := filepath.Glob(filepath.Join(dir, "out", "summary", "*.csv"))
	seen := map[string]bool{}
	cells := 0
	for _, f := range files {
		base := filepath.Base(f)
		if base == "duplicates.csv" {
			continue
		}
		seen[base] = true
		match := in[base]
		if match == nil {
			t.Errorf("unexpected summary %s", base)
			continue
		}
		data, _ := os.ReadFile(f)
		table, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		header := table[0]
		for _, row := range table[1:] {
			for c, h := range header {
				if h != "daughters" && h != "adults" && h != "guests" && h != "total" {
					continue
				}
				want := 0
				for _, r := range active {
					if match(r, row[0]) && (h == "total" || r.group == h) {
						want++
					}
				}
				cells++
				if row[c] != strconv.Itoa(want) {
					t.Errorf("%s: row %s column %s is %s, the export says %d", base, row[0], h, row[c], want)
				}
			}
		}
	}
	for base := range in {
		if !seen[base] {
			t.Errorf("no summary %s", base)
		}
	}
	if cells < 60 {
		t.Errorf("only %d cells compared", cells)
	}

	// No personal value in an internal or public output.
	personal := []string{"Participant First", "Participant Last", "E-mail Address", "Cell Phone", "Birthdate", "Food Allergies"}
	var outs []string
	filepath.WalkDir(filepath.Join(dir, "out"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(p, string(filepath.Separator)+"private"+string(filepath.Separator)) {
			outs = append(outs, p)
		}
		return nil
	})
	for _, p := range outs {
		data, _ := os.ReadFile(p)
		for _, r := range raw[1:] {
			for _, h := range personal {
				v := r[col[h]]
				if len(v) >= 5 && bytes.Contains(data, []byte(v)) {
					t.Errorf("%s holds a value of %q", p, h)
				}
			}
		}
	}
}
