package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// whySample copies the sample event at the repository root into a
// temporary workspace and builds it with the real binary.
func whySample(t *testing.T) string {
	t.Helper()
	dir := sampleClone(t)
	if r := runBethel(t, dir, "make"); r.code != 0 {
		t.Fatalf("make: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return dir
}

// whyIn runs `bethel why --json` in process (hundreds of cells are asked
// about; the binary is used for the golden and error cases).
func whyIn(t *testing.T, dir, target string, args ...string) whyAnswer {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Dir: dir}
	if err := Run(context.Background(), env, append([]string{"why", target, "--json"}, args...)); err != nil {
		t.Fatalf("why %s: %v\n%s", target, err, errb.String())
	}
	var a whyAnswer
	if err := json.Unmarshal(out.Bytes(), &a); err != nil {
		t.Fatalf("why %s: %v\n%s", target, err, out.String())
	}
	return a
}

// readCSV returns the header and rows of a workspace CSV (BOM removed).
func readCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows[0], rows[1:]
}

// registrationsByKey reads out/private/registrations.csv into maps of
// field -> value, keyed by registration_id.
func registrationsByKey(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	h, rows := readCSV(t, filepath.Join(dir, "out/private/registrations.csv"))
	m := map[string]map[string]string{}
	for _, r := range rows {
		rec := map[string]string{}
		for i, f := range h {
			rec[f] = r[i]
		}
		m[rec["registration_id"]] = rec
	}
	return m
}

// summaryKeyField is the registration field each summary's first column
// counts by (dietary matches keywords and is checked by count only).
var summaryKeyField = map[string]string{
	"attendance.csv": "bethel", "meals.csv": "banquet_meal", "tshirts.csv": "tshirt_size",
	"days.csv": "days_attending", "housing.csv": "housing", "dietary.csv": "",
}

var memberOf = map[string]string{"daughters": "daughter", "adults": "adult", "guests": "guest"}

// counted recomputes whether registration rec counts in the cell (row key
// key, column col) of summary file.
func counted(file, key, col string, rec map[string]string) bool {
	if m, ok := memberOf[col]; ok && rec["member_type"] != m {
		return false
	}
	if key == "TOTAL" {
		return true
	}
	f := summaryKeyField[file]
	if f == "days_attending" {
		for _, d := range strings.Split(rec[f], ";") {
			if d == key {
				return true
			}
		}
		return false
	}
	return rec[f] == key
}

// TestWhyLineageCompleteAndSound: for every count cell of every summary,
// the source records in its lineage are as many as the value, and they
// are exactly the registrations that the cell's rule counts.
func TestWhyLineageCompleteAndSound(t *testing.T) {
	dir := whySample(t)
	regs := registrationsByKey(t, dir)
	cells := 0
	for file := range summaryKeyField {
		path := "out/summary/" + file
		header, rows := readCSV(t, filepath.Join(dir, path))
		for ri, row := range rows {
			for ci := 1; ci < len(header); ci++ {
				n, err := strconv.Atoi(row[ci])
				if err != nil {
					continue // not a count (bethel_name)
				}
				cells++
				a := whyIn(t, dir, fmt.Sprintf("%s:%d:%s", path, ri+2, header[ci]))
				if len(a.Sources) != n {
					t.Errorf("%s row %d %s = %d, lineage has %d source records", path, ri+2, header[ci], n, len(a.Sources))
					continue
				}
				if summaryKeyField[file] == "" {
					continue
				}
				got := map[string]bool{}
				for _, s := range a.Sources {
					rec := regs[s.Key]
					if rec == nil {
						t.Errorf("%s row %d %s: source %s:%d key %s is not an active registration", path, ri+1, header[ci], s.File, s.Line, s.Key)
						continue
					}
					if !counted(file, row[0], header[ci], rec) {
						t.Errorf("%s row %d %s: source %s does not satisfy the cell's rule", path, ri+1, header[ci], s.Key)
					}
					got[s.Key] = true
				}
				want := 0
				for k, rec := range regs {
					if counted(file, row[0], header[ci], rec) {
						want++
						if !got[k] {
							t.Errorf("%s row %d %s: registration %s counts but is not in the lineage", path, ri+1, header[ci], k)
						}
					}
				}
				if want != n {
					t.Errorf("%s row %d %s: recomputed %d from the registrations, file says %d", path, ri+1, header[ci], want, n)
				}
			}
		}
	}
	if cells < 50 {
		t.Fatalf("only %d count cells checked", cells)
	}
}

// rowForm maps a cellValues key to the PATH:ROW:COL form of the cell.
var rowForm = map[string]string{}

// cellValues reads every numeric cell of the summaries and the public
// attendance: "path:row:col" -> value.
func cellValues(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	paths := []string{"out/public/attendance.csv"}
	for f := range summaryKeyField {
		paths = append(paths, "out/summary/"+f)
	}
	for _, p := range paths {
		h, rows := readCSV(t, filepath.Join(dir, p))
		for ri, r := range rows {
			for ci := 1; ci < len(h); ci++ {
				if n, err := strconv.Atoi(r[ci]); err == nil {
					out[fmt.Sprintf("%s@%s=%s:%s", p, h[0], r[0], h[ci])] = n
					rowForm[fmt.Sprintf("%s@%s=%s:%s", p, h[0], r[0], h[ci])] = fmt.Sprintf("%s:%d:%s", p, ri+2, h[ci]) // the header is row 1
				}
			}
		}
	}
	return out
}

// TestWhyPatchMovingARecord: a patch moving a daughter to another bethel
// is in the lineage of exactly the cells it added her to, and the other
// cells that changed are those of the bethel she left.
func TestWhyPatchMovingARecord(t *testing.T) {
	dir := whySample(t)
	regs := registrationsByKey(t, dir)
	before := cellValues(t, dir)
	// A daughter of bethel 2 with no patch, moved to bethel 4.
	var key string
	keys := make([]string, 0, len(regs))
	for k := range regs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if r := regs[k]; r["bethel"] == "2" && r["member_type"] == "daughter" && strings.HasPrefix(k, "R-") {
			key = k
			break
		}
	}
	if key == "" {
		t.Fatal("no daughter of bethel 2 in the sample")
	}
	writeFileT(t, filepath.Join(dir, "patches/registrations/90-move.toml"), fmt.Sprintf(`[[patch]]
id     = "move-%s"
target = "registrations"
match  = { registration_id = %q }
expect = { bethel = "2" }
set    = { bethel = "4" }
reason = "Transferred to Bethel 4 (test)"
`, key, key))
	if r := runBethel(t, dir, "make"); r.code != 0 {
		t.Fatalf("make: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	after := cellValues(t, dir)
	id := "move-" + key
	var inLineage, gained, lost []string
	for c, v := range after {
		a := whyIn(t, dir, c)
		for _, p := range a.Patches {
			if p.ID == id {
				inLineage = append(inLineage, c)
				if p.Reason != "Transferred to Bethel 4 (test)" || p.File != "patches/registrations/90-move.toml" || p.Line != 1 {
					t.Errorf("%s: patch reported as %+v", c, p)
				}
			}
		}
		switch {
		case v > before[c]:
			gained = append(gained, c)
		case v < before[c]:
			lost = append(lost, c)
		}
	}
	sort.Strings(inLineage)
	sort.Strings(gained)
	if strings.Join(inLineage, " ") != strings.Join(gained, " ") {
		t.Errorf("patch in the lineage of\n  %v\ncells that gained the record:\n  %v", inLineage, gained)
	}
	if len(gained) == 0 {
		t.Fatal("the patch changed no cell")
	}
	for _, c := range lost {
		if !strings.Contains(c, "@bethel=2:") {
			t.Errorf("cell %s lost a count but is not of bethel 2", c)
		}
	}
	if len(lost) == 0 {
		t.Error("no cell of bethel 2 lost the record")
	}
	// patches --impact finds the same cells from lineage; built with and
	// without the patch, --exact also finds the cells the record left:
	// exactly the summary cells that gained or lost a count.
	rep := checkImpact(t, dir, id, gained, "lineage", "--impact")
	exact := checkImpact(t, dir, id, append(append([]string{}, gained...), lost...), "built with and without", "--impact", "--exact")
	// The moved record's own bethel cell in the registrations table is
	// a changed cell too.
	data, err := os.ReadFile(filepath.Join(dir, "out/private/registrations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	row := 0
	for i, line := range strings.Split(string(data), "\n")[1:] {
		if strings.HasPrefix(line, key+",") {
			row = i + 2 // the header is row 1
		}
	}
	if cell := fmt.Sprintf("out/private/registrations.csv:%d:bethel", row); row == 0 || !slices.Contains(rep.Cells[id], cell) {
		t.Errorf("patches --impact does not list %s for %s: %v", cell, id, rep.Cells[id])
	} else if !slices.Contains(exact.Cells[id], cell) {
		t.Errorf("patches --impact --exact does not list %s for %s: %v", cell, id, exact.Cells[id])
	}
}

// checkImpact runs `bethel patches --json` with flags and checks that the
// summary and public cells it lists for patch id are exactly cells (in
// cellValues' form), and that it says how it computed them (method).
func checkImpact(t *testing.T, dir, id string, cells []string, method string, flags ...string) patchImpact {
	t.Helper()
	r := runBethel(t, dir, append([]string{"patches", "--json"}, flags...)...)
	var rep struct {
		Impact patchImpact `json:"impact"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("patches %v: %v\n%s%s", flags, err, r.stdout, r.stderr)
	}
	var want, got []string
	for _, c := range cells {
		want = append(want, rowForm[c])
	}
	for _, c := range rep.Impact.Cells[id] {
		if strings.HasPrefix(c, "out/summary/") && strings.Contains(c, ".csv:") || strings.HasPrefix(c, "out/public/") {
			got = append(got, c)
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("patches %v lists for %s:\n  %v\nwant:\n  %v", flags, id, got, want)
	}
	if !strings.Contains(rep.Impact.Method, method) {
		t.Errorf("patches %v does not say how it computed the cells: %q", flags, rep.Impact.Method)
	}
	return rep.Impact
}

// stable drops what legitimately differs between two builds of the same
// content: when and how the artifact was last written.
func stable(a whyAnswer) string {
	a.Artifact = nil
	for i := range a.Nodes {
		a.Nodes[i].Status = ""
	}
	b, _ := json.Marshal(a)
	return string(b)
}

// TestWhyLineageSurvivesRestoreAndNoop: lineage comes back from the cache
// with the outputs, and a no-op build keeps it.
func TestWhyLineageSurvivesRestoreAndNoop(t *testing.T) {
	dir := whySample(t)
	targets := []string{"out/summary/attendance.csv@bethel=80:daughters", "out/summary/summary.json#/meals/vegetarian/total",
		"out/public/attendance.csv:4:total"}
	want := map[string]string{}
	for _, tg := range targets {
		want[tg] = stable(whyIn(t, dir, tg))
	}
	check := func(when, status string) {
		for _, tg := range targets {
			a := whyIn(t, dir, tg)
			if got := stable(a); got != want[tg] {
				t.Errorf("%s, %s:\n got %s\nwant %s", when, tg, got, want[tg])
			}
			if a.Artifact.Status != status {
				t.Errorf("%s, %s: artifact status %q, want %q", when, tg, a.Artifact.Status, status)
			}
		}
	}
	if r := runBethel(t, dir, "clean"); r.code != 0 {
		t.Fatalf("clean: %s%s", r.stdout, r.stderr)
	}
	r := runBethel(t, dir, "make")
	if r.code != 0 || !strings.Contains(r.stderr+r.stdout, ": 0 ran") {
		t.Fatalf("make after clean should restore everything: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	check("after restore", "restored")
	if r := runBethel(t, dir, "make"); r.code != 0 {
		t.Fatalf("make: %s%s", r.stdout, r.stderr)
	}
	check("after a no-op build", "restored")
}

// TestWhyLineageOffIsNotRestored: a cache entry made with lineage off is
// not restored by a build with lineage on (it would bring no lineage).
func TestWhyLineageOffIsNotRestored(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join("..", "..")
	for _, d := range []string{"inputs", "config", "patches"} {
		wCopyTree(t, filepath.Join(root, d), filepath.Join(dir, d))
	}
	b, _ := os.ReadFile(filepath.Join(root, "pipeline.toml"))
	writeFileT(t, filepath.Join(dir, "pipeline.toml"), string(b))
	t.Setenv("BETHEL_LINEAGE", "off")
	r := runBethel(t, dir, "make")
	os.Unsetenv("BETHEL_LINEAGE")
	if r.code != 0 {
		t.Fatalf("make: %s%s", r.stdout, r.stderr)
	}
	res := runBethel(t, dir, "why", "out/summary/meals.csv:2:total")
	if res.code != 1 || !strings.Contains(res.stderr, "recorded no cell lineage") {
		t.Fatalf("why after a build without lineage: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	runBethel(t, dir, "clean")
	if r := runBethel(t, dir, "make"); r.code != 0 || strings.Contains(r.stdout+r.stderr, ": 0 ran") {
		t.Fatalf("make with lineage on after a build without should run, not restore:\n%s%s", r.stdout, r.stderr)
	}
	if a := whyIn(t, dir, "out/summary/meals.csv:2:total"); len(a.Sources) == 0 {
		t.Fatal("no lineage after rebuilding with lineage on")
	}
}

var (
	timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	hashRE = regexp.MustCompile(`\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b`)
)

// normalize masks build times and hashes, which change with any edit of
// the sample, so that the goldens test the answer's shape and content.
func normalize(s string) string {
	return hashRE.ReplaceAllString(timeRE.ReplaceAllString(s, "TIME"), "HASH")
}

// TestWhyGolden: one golden file per TARGET form, text and JSON.
func TestWhyGolden(t *testing.T) {
	dir := whySample(t)
	// A command node: its output answers at artifact level only.
	p, _ := os.ReadFile(filepath.Join(dir, "pipeline.toml"))
	writeFileT(t, filepath.Join(dir, "pipeline.toml"), string(p)+`
[[node]]
name    = "meal-names"
run     = "cut -d, -f1 out/summary/meals.csv > out/summary/meal-names.txt"
inputs  = ["out/summary/meals.csv"]
outputs = ["out/summary/meal-names.txt"]
`)
	if r := runBethel(t, dir, "make"); r.code != 0 {
		t.Fatalf("make: %s%s", r.stdout, r.stderr)
	}
	cases := []struct {
		name string
		args []string
	}{
		{"row-col-name", []string{"out/summary/attendance.csv:2:daughters"}},
		{"row-col-number", []string{"out/summary/meals.csv:3:5"}},
		{"key", []string{"out/summary/attendance.csv@bethel=80:daughters"}},
		{"key-all", []string{"out/summary/attendance.csv@bethel=80:daughters", "--all"}},
		{"pointer", []string{"out/summary/summary.json#/meals/vegetarian/total"}},
		{"pointer-index", []string{"out/summary/summary.json#/attendance/0/daughters"}},
		{"public", []string{"out/public/attendance.csv:3:total"}},
		{"artifact", []string{"out/summary/meals.csv"}},
		{"private-row", []string{"out/private/registrations.csv:5:bethel"}},
		{"private-row-shown", []string{"out/private/registrations.csv:5:bethel", "--show-private"}},
		{"private-sensitive", []string{"out/private/registrations.csv:5:first_name"}},
		{"command-cell", []string{"out/summary/meal-names.txt:2:1"}},
		{"command-artifact", []string{"out/summary/meal-names.txt"}},
	}
	for _, c := range cases {
		for _, form := range []string{"text", "json"} {
			t.Run(c.name+"-"+form, func(t *testing.T) {
				args := append([]string{"why"}, c.args...)
				if form == "json" {
					args = append(args, "--json")
				}
				r := runBethel(t, dir, args...)
				if r.code != 0 {
					t.Fatalf("exit %d\n%s", r.code, r.stderr)
				}
				got := normalize(r.stdout)
				file := filepath.Join("testdata", "why", c.name+"."+form+".golden")
				if *updateGolden {
					os.MkdirAll(filepath.Dir(file), 0o755)
					if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if got != string(want) {
					t.Errorf("bethel %s:\n%s\nwant (%s):\n%s", strings.Join(args, " "), got, file, want)
				}
			})
		}
	}
	// Private values never show without --show-private.
	_, rows := readCSV(t, filepath.Join(dir, "out/private/registrations.csv"))
	name := rows[3][2]
	for _, f := range []string{"private-row", "private-sensitive"} {
		b, _ := os.ReadFile(filepath.Join("testdata", "why", f+".text.golden"))
		if !strings.Contains(string(b), "withheld") || strings.Contains(string(b), "value:       "+name) {
			t.Errorf("%s: private value not withheld:\n%s", f, b)
		}
	}
}

// TestWhyErrors: every refusal says what is wrong, and why never writes.
func TestWhyErrors(t *testing.T) {
	dir := whySample(t)
	cases := []struct {
		name   string
		setup  func()
		target string
		code   int
		want   string
	}{
		{"missing file", nil, "out/summary/nothing.csv", 1, "out/summary/nothing.csv does not exist"},
		{"row out of range", nil, "out/summary/meals.csv:99:total", 1, "row 99 is out of range: the data rows are 2 to 6 (row 1 is the header)"},
		{"column out of range", nil, "out/summary/meals.csv:2:9", 1, "column 9 is out of range: the file has 5 columns"},
		{"unknown column", nil, "out/summary/meals.csv:2:vegetables", 1, `unknown column "vegetables"; columns: meal, daughters, adults, guests, total`},
		{"unknown key", nil, "out/summary/attendance.csv@bethel=999:total", 1, `no row has bethel = "999"`},
		{"unknown key column", nil, "out/summary/attendance.csv@chapter=1:total", 1, `unknown column "chapter"`},
		{"bad pointer", nil, "out/summary/summary.json#/meals/tofu/total", 1, `no value at /meals/tofu/total`},
		{"not a value", nil, "out/summary/summary.json#/meals", 1, `is an object or array, not a value`},
		{"bad row", nil, "out/summary/meals.csv:1:total", 2, "the header is row 1, the first data row is row 2"},
		{"raw input", nil, "inputs/registrations.csv:2:1", 1, "is not an output of any node"},
		{"edited by hand", func() {
			p := filepath.Join(dir, "out/summary/tshirts.csv")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, "XL,1\n"...), 0o644)
		}, "out/summary/tshirts.csv:2:count", 1, "has no provenance record for its current content: it was never built by bethel, or was edited by hand since"},
		{"stale", func() {
			p := filepath.Join(dir, "config/bethels.csv")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, "99,Test,Nowhere,1\n"...), 0o644)
		}, "out/summary/attendance.csv:2:total", 1, "out/summary/attendance.csv is stale: config/bethels.csv changed since node attendance built it; run bethel make first"},
		{"stale upstream", nil, "out/public/attendance.csv:2:total", 1, "is stale: config/bethels.csv changed"},
		{"never built", func() { os.Remove(filepath.Join(dir, "out/summary/housing.csv")) },
			"out/summary/housing.csv", 1, "out/summary/housing.csv does not exist: node housing writes it; run bethel make"},
	}
	for _, c := range cases {
		if c.setup != nil {
			c.setup()
		}
		before := snapshot(t, filepath.Join(dir, ".bethel"))
		r := runBethel(t, dir, "why", c.target)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: bethel why %s: exit %d, stderr:\n%s\nwant exit %d and %q", c.name, c.target, r.code, r.stderr, c.code, c.want)
		}
		if after := snapshot(t, filepath.Join(dir, ".bethel")); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("%s: why changed .bethel/", c.name)
		}
	}
}
