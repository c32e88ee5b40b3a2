package stages

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"bethel/pkg/schema"
	"bethel/pkg/stage"
)

// myOutputs are the sample outputs this file's stages write (the
// registrations stages have their own goldens; the workbooks are read by a
// spreadsheet reader in xlsx_test.go instead of compared as bytes; a scrub
// set has its tests in pkg/scrub and is no text to compare).
func myOutput(o string) bool {
	return !hasPrefix(o, "out/private/registrations", "out/summary/duplicates") &&
		!strings.HasSuffix(o, ".xlsx") && !strings.HasSuffix(o, ".sensitive")
}

// TestSampleGolden builds the repository's sample event in process and
// compares every output of the summary, public, roster and program stages
// with testdata/sample/<path>; -update rewrites them.
func TestSampleGolden(t *testing.T) {
	b := buildWorkspace(t, repoRoot(t))
	n := 0
	for _, o := range b.sortedOutputs() {
		if !myOutput(o) {
			continue
		}
		n++
		golden := filepath.Join("testdata", "sample", filepath.FromSlash(o))
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, b.outputs[o], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%s: %v (run go test -update to create it)", o, err)
		}
		if !bytes.Equal(b.outputs[o], want) {
			t.Errorf("%s differs from %s; check the change, then go test ./pkg/stages -run TestSampleGolden -update", o, golden)
		}
	}
	if n < 13 {
		t.Errorf("only %d outputs compared; the sample pipeline lost nodes", n)
	}
}

// TestSampleDeterministic builds the sample twice: byte-identical outputs.
func TestSampleDeterministic(t *testing.T) {
	a := buildWorkspace(t, repoRoot(t))
	b := buildWorkspace(t, repoRoot(t))
	for o, x := range a.outputs {
		if !bytes.Equal(x, b.outputs[o]) {
			t.Errorf("%s differs between two builds", o)
		}
	}
}

func atoiT(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a count", s)
	}
	return n
}

// memberIndex and memberColumns are the sample's member types and their
// summary columns, in order.
func memberIndex(mt string) int {
	for i, m := range []string{"daughter", "adult", "guest"} {
		if m == mt {
			return i
		}
	}
	return -1
}

var memberColumns = []string{"daughters", "adults", "guests"}

// checkCountsAgree is the property: attendance, meals, days and tshirts
// agree with each other and with the active records of the private
// registrations, per member type.
func checkCountsAgree(t *testing.T, b *wsBuild) {
	t.Helper()
	regs := parseCSV(t, "registrations", b.outputs["out/private/registrations.csv"])
	mtCol, sizeCol, daysCol := regs.col(t, "member_type"), regs.col(t, "tshirt_size"), regs.col(t, "days_attending")
	var active [3]int
	sized, dayVisits := 0, map[string]int{}
	for _, r := range regs.rows {
		active[memberIndex(r[mtCol])]++
		if r[sizeCol] != "" {
			sized++
		}
		if r[daysCol] != "" {
			for _, d := range strings.Split(r[daysCol], ";") {
				dayVisits[d]++
			}
		}
	}
	total := active[0] + active[1] + active[2]
	if total == 0 {
		t.Fatal("no active registrations")
	}
	// attendance: rows sum to TOTAL, TOTAL is the active records.
	att := parseCSV(t, "attendance", b.outputs["out/summary/attendance.csv"])
	last := att.rows[len(att.rows)-1]
	if last[0] != "TOTAL" {
		t.Fatalf("attendance: last row %v is not TOTAL", last)
	}
	var sum [4]int
	for _, r := range att.rows[:len(att.rows)-1] {
		for k := 0; k < 4; k++ {
			sum[k] += atoiT(t, r[2+k])
		}
		if atoiT(t, r[2])+atoiT(t, r[3])+atoiT(t, r[4]) != atoiT(t, r[5]) {
			t.Errorf("attendance row %v: total is not the sum", r)
		}
	}
	for k := 0; k < 3; k++ {
		if sum[k] != atoiT(t, last[2+k]) || sum[k] != active[k] {
			t.Errorf("attendance %s: rows %d, TOTAL %s, active records %d", memberColumns[k], sum[k], last[2+k], active[k])
		}
	}
	if sum[3] != total || atoiT(t, last[5]) != total {
		t.Errorf("attendance total: rows %d, TOTAL %s, active %d", sum[3], last[5], total)
	}
	// meals partition the active records.
	meals := parseCSV(t, "meals", b.outputs["out/summary/meals.csv"])
	var msum [4]int
	for _, r := range meals.rows {
		for k := 0; k < 4; k++ {
			msum[k] += atoiT(t, r[1+k])
		}
	}
	for k := 0; k < 3; k++ {
		if msum[k] != active[k] {
			t.Errorf("meals %s sum %d, active %d", memberColumns[k], msum[k], active[k])
		}
	}
	if msum[3] != total {
		t.Errorf("meals total %d, active %d", msum[3], total)
	}
	// days: each day at most the attendance, and the day rows sum to the
	// day-visits of the records.
	days := parseCSV(t, "days", b.outputs["out/summary/days.csv"])
	for _, r := range days.rows {
		for k := 0; k < 3; k++ {
			if atoiT(t, r[1+k]) > active[k] {
				t.Errorf("days %s %s: %s > attendance %d", r[0], memberColumns[k], r[1+k], active[k])
			}
		}
		if got := atoiT(t, r[4]); got != dayVisits[r[0]] {
			t.Errorf("days %s: total %d, records attending %d", r[0], got, dayVisits[r[0]])
		}
	}
	// tshirts: every sized record once, in canonical order.
	ts := parseCSV(t, "tshirts", b.outputs["out/summary/tshirts.csv"])
	tsum := 0
	sizes := []string{"YS", "YM", "YL", "XS", "S", "M", "L", "XL", "2XL", "3XL", "4XL"}
	for i, r := range ts.rows {
		if i >= len(sizes) || r[0] != sizes[i] {
			t.Errorf("tshirts row %d is %s, want the sample's sizes in order %v", i, r[0], sizes)
			continue
		}
		tsum += atoiT(t, r[1])
	}
	if tsum != sized || tsum > total {
		t.Errorf("tshirts sum %d, records with a size %d, active %d", tsum, sized, total)
	}
	// summary.json holds the same numbers.
	js := string(b.outputs["out/summary/summary.json"])
	if !strings.Contains(js, `"bethel": "TOTAL", "bethel_name": "", "daughters": `+strconv.Itoa(active[0])) {
		t.Errorf("summary.json lacks the attendance TOTAL row with %d daughters", active[0])
	}
}

func TestCountsAgreeSample(t *testing.T) {
	checkCountsAgree(t, buildWorkspace(t, repoRoot(t)))
}

// TestCountsAgreeGenerated runs the property on exports from the sample
// generator with other seeds and sizes.
func TestCountsAgreeGenerated(t *testing.T) {
	for _, c := range []struct{ rows, seed int }{{300, 2}, {2500, 3}, {800, 4}} {
		dir := generatedWorkspace(t, c.rows, c.seed)
		b := buildWorkspace(t, dir)
		checkCountsAgree(t, b)
		checkNoSensitiveValues(t, b, dir)
		checkLineageCounts(t, b)
	}
}

// sensitiveValues returns every value of a sensitive field of the raw
// export (through the column mapping) whose record has that field
// non-empty after normalization ("None" and "N/A" mean empty and are
// everywhere), plus the normalized values.
func sensitiveValues(t *testing.T, root string, b *wsBuild) []string {
	t.Helper()
	sch, err := schema.Load(os.DirFS(root), "config/fields.toml")
	if err != nil {
		t.Fatal(err)
	}
	header := make([]string, len(sch.Fields))
	for i, f := range sch.Fields {
		header[i] = f.Headers[0]
	}
	raw, err := os.ReadFile(filepath.Join(root, "inputs", "registrations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	exp := parseCSV(t, "export", raw)
	regs := parseCSV(t, "registrations", b.outputs["out/private/registrations.csv"])
	byID := map[string][]string{}
	for _, r := range regs.rows {
		byID[r[0]] = r
	}
	idCol := -1
	for i, h := range exp.header {
		if h == header[0] {
			idCol = i
		}
	}
	// Public text the outputs legitimately copy (bethel names, session
	// titles, category names): a first name "Willow" is not leaked by
	// bethel "Willow Bend".
	var public strings.Builder
	for _, f := range []string{"config/bethels.csv", "inputs/program.csv", "config/schedule.toml", "pipeline.toml", "config/fields.toml"} {
		if x, err := os.ReadFile(filepath.Join(root, f)); err == nil {
			public.Write(x)
		}
	}
	pub := public.String()
	seen := map[string]bool{}
	var vals []string
	addVal := func(v string) {
		v = strings.TrimSpace(v)
		if utf8.RuneCountInString(v) >= 3 && !seen[v] && !containsWord(pub, v) {
			seen[v] = true
			vals = append(vals, v)
		}
	}
	for fi, fl := range sch.Fields {
		f := fl.Name
		if !fl.Sensitive {
			continue
		}
		ec := -1
		for i, h := range exp.header {
			if strings.TrimSpace(h) == header[fi] {
				ec = i
			}
		}
		rc := regs.col(t, f)
		for _, r := range regs.rows {
			addVal(r[rc])
		}
		if ec < 0 {
			continue
		}
		for _, r := range exp.rows {
			if norm := byID[strings.TrimSpace(r[idCol])]; norm != nil && norm[rc] != "" {
				addVal(r[ec])
				// Multi-line cells: each line is a value too.
				for _, l := range strings.Split(r[ec], "\n") {
					addVal(strings.TrimRight(l, ","))
				}
			}
		}
	}
	return vals
}

// containsWord reports whether v occurs in s between non-letters: "Ann"
// must not match "Announcements", and case matters.
func containsWord(s, v string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], v)
		if j < 0 {
			return false
		}
		j += i
		before, _ := utf8.DecodeLastRuneInString(s[:j])
		after, _ := utf8.DecodeRuneInString(s[j+len(v):])
		if !unicode.IsLetter(before) && !unicode.IsLetter(after) {
			return true
		}
		i = j + 1
	}
}

// checkNoSensitiveValues searches every internal and public output for
// every sensitive value of the input.
func checkNoSensitiveValues(t *testing.T, b *wsBuild, root string) {
	t.Helper()
	vals := sensitiveValues(t, root, b)
	if len(vals) < 100 {
		t.Fatalf("only %d sensitive values found; the search would prove nothing", len(vals))
	}
	checked := 0
	for _, o := range b.sortedOutputs() {
		if b.vis[o] == stage.Private {
			continue
		}
		checked++
		s := string(b.outputs[o])
		for _, v := range vals {
			if containsWord(s, v) {
				t.Errorf("%s (%s) contains a sensitive value of the input (%d characters)", o, b.vis[o], len(v))
				if os.Getenv("BETHEL_TEST_SHOW") != "" {
					t.Logf("value %q", v)
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d non-private outputs searched", checked)
	}
}

func TestNoSensitiveValuesSample(t *testing.T) {
	root := repoRoot(t)
	b := buildWorkspace(t, root)
	checkNoSensitiveValues(t, b, root)
	// The search can fail: a private output holds them.
	vals := sensitiveValues(t, root, b)
	hits := 0
	for _, v := range vals[:50] {
		if containsWord(string(b.outputs["out/private/roster.csv"]), v) {
			hits++
		}
	}
	if hits == 0 {
		t.Error("no sensitive value found even in the private roster: the search is broken")
	}
}

var digits = regexp.MustCompile(`^[0-9]+$`)

// checkLineageCounts: every count cell's lineage counts as many input
// rows as the cell says, for the summaries.
func checkLineageCounts(t *testing.T, b *wsBuild) {
	t.Helper()
	for _, o := range []string{"out/summary/attendance.csv", "out/summary/meals.csv", "out/summary/days.csv",
		"out/summary/tshirts.csv", "out/summary/housing.csv", "out/summary/dietary.csv"} {
		rec := b.lineage[o]
		if rec == nil || len(rec.Cells) == 0 {
			t.Errorf("%s: no cell lineage", o)
			continue
		}
		tab := parseCSV(t, o, b.outputs[o])
		cells := 0
		for _, c := range rec.Cells {
			v := tab.rows[c.Row][tab.col(t, c.Col)]
			if !digits.MatchString(v) {
				t.Fatalf("%s: lineage of a non-count cell %d/%s", o, c.Row, c.Col)
			}
			if len(c.AllRefs()) != atoiT(t, v) {
				t.Errorf("%s row %d %s: value %s, lineage counts %d rows", o, c.Row, c.Col, v, len(c.AllRefs()))
			}
			if c.Derivation == "" || len(c.Fields) == 0 {
				t.Errorf("%s row %d %s: no derivation or fields", o, c.Row, c.Col)
			}
			cells++
		}
		want := 0
		for _, r := range tab.rows {
			for _, v := range r {
				if digits.MatchString(v) {
					want++
				}
			}
		}
		if o == "out/summary/attendance.csv" {
			want -= len(tab.rows) - 1 // the bethel number column is a label
		}
		if cells != want {
			t.Errorf("%s: %d count cells have lineage, want %d", o, cells, want)
		}
	}
}

func TestLineageSample(t *testing.T) {
	checkLineageCounts(t, buildWorkspace(t, repoRoot(t)))
}
