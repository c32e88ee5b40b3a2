package browser_test

// The review site of the sample event, built by the real binary, checked
// in a real browser from file:// and from `bethel watch --serve`, and
// statically (links, private data, size).

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sitePages are the pages the review site must have (issue 6).
var sitePages = []string{"index.html", "bethels.html", "program.html", "corrections.html", "pipeline.html"}

// maxSiteBytes is issue 6's size limit for the sample's whole site.
const maxSiteBytes = 2_000_000

// needSite returns out/site/ of the built workspace ws, or fails the test
// when a page is missing.
func needSite(t *testing.T, ws string) string {
	t.Helper()
	dir := filepath.Join(ws, "out", "site")
	var missing []string
	for _, p := range sitePages {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("bethel make on the sample did not build out/site/%s (the review site of issue 6)", strings.Join(missing, ", out/site/"))
	}
	return dir
}

// allPages returns the fixed pages and any other HTML page of the site.
func allPages(t *testing.T, dir string) []string {
	t.Helper()
	pages := append([]string(nil), sitePages...)
	known := map[string]bool{}
	for _, p := range pages {
		known[p] = true
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel = filepath.ToSlash(rel); !known[rel] {
			pages = append(pages, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

func TestSiteLinksResolve(t *testing.T) {
	dir := needSite(t, needSample(t))
	bad, n, err := checkLinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d links and sources checked", n)
	if n == 0 {
		t.Error("no link or source found in the site: the scanner is broken")
	}
	for _, b := range bad {
		t.Error(b)
	}
}

func TestSiteHasNoPrivateData(t *testing.T) {
	ws := needSample(t)
	dir := needSite(t, ws)
	values, err := sensitiveValues(ws)
	if err != nil {
		t.Fatal(err)
	}
	perField := map[string]int{}
	for _, v := range values {
		perField[v.field]++
	}
	t.Logf("%d sensitive values searched for (case-insensitive; as is, HTML- and JSON-escaped), per field: %v", len(values), perField)
	for _, f := range []string{"email", "phone", "date_of_birth", "emergency_contact_name", "emergency_contact_phone", "first_name+last_name"} {
		if perField[f] < 100 {
			t.Errorf("only %d values of %s searched for: the value rule filters too much", perField[f], f)
		}
	}
	leaks, err := findPrivate(dir, values)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leaks {
		t.Error(l)
	}
}

func TestSiteSize(t *testing.T) {
	dir := needSite(t, needSample(t))
	size, files, err := siteSize(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("out/site/: %d files, %d bytes", files, size)
	if size >= maxSiteBytes {
		t.Errorf("out/site/ is %d bytes, the limit is %d", size, maxSiteBytes)
	}
}

func TestSiteFromFile(t *testing.T) {
	ws := needSample(t)
	dir := needSite(t, ws)
	needBrowser(t)
	shots := screenshotDir(t, "file")
	t.Logf("screenshots in %s", shots)
	why := 0
	for _, page := range allPages(t, dir) {
		t.Run(page, func(t *testing.T) {
			url := "file://" + filepath.Join(dir, filepath.FromSlash(page))
			tb := openTab(t, url, &recorder{allowed: fileOnly})
			why += checkPage(t, tb, ws, page, shots, 12, 3-why)
		})
	}
}

// checkPage runs the checks every page gets, wherever it is loaded from:
// no problem recorded while loading, a screenshot, the overview's totals,
// the DOM contract of its count cells, and clicks on up to clicks of them
// whose lineage must show the same number. Up to whyChecks clicked cells
// are also asked of `bethel why`; it returns how many were.
func checkPage(t *testing.T, tb *tab, ws, page, shots string, clicks, whyChecks int) int {
	t.Helper()
	for _, p := range tb.rec.Problems() {
		t.Errorf("loading %s: %s", page, p)
	}
	if p := tb.screenshot(t, shots, strings.ReplaceAll(page, "/", "_")+".png"); p != "" {
		t.Logf("screenshot: %s", p)
	}
	if page == "index.html" {
		checkTotals(t, tb, ws)
	}
	cells, bad, err := countCells(tb)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bad {
		if i == 10 {
			t.Errorf("... and %d more count cells break the contract", len(bad)-10)
			break
		}
		t.Error(b)
	}
	sample := sampleCells(cells, clicks)
	t.Logf("%d count cells, %d clicked", len(cells), len(sample))
	if (page == "index.html" || page == "bethels.html") && len(cells) == 0 {
		t.Errorf("%s has no count cells (td.count/th.count with a button.why)", page)
	}
	asked, failed := 0, 0
	for _, c := range sample {
		want, _ := parseCount(c.Button)
		got, err := clickCount(tb, c.Cell)
		if err != nil {
			t.Error(err)
			if failed++; failed == 3 {
				t.Errorf("%s: no more clicks after 3 that showed no lineage", page)
				break
			}
			continue
		}
		if got != want {
			t.Errorf("%s: the count %s shows %d, its lineage counts %d records", page, c.Cell, want, got)
		}
		if asked < whyChecks {
			asked++
			checkWhy(t, ws, c.Cell, want)
		}
	}
	for _, p := range tb.rec.Problems() {
		t.Errorf("after clicking the counts of %s: %s", page, p)
	}
	return asked
}

// checkTotals compares the overview's totals with the TOTAL row of
// out/summary/attendance.csv.
func checkTotals(t *testing.T, tb *tab, ws string) {
	t.Helper()
	header, rows, err := readCSV(filepath.Join(ws, "out", "summary", "attendance.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	bethels := 0
	for _, r := range rows {
		if r[0] != "TOTAL" {
			bethels++
			continue
		}
		for i, h := range header {
			if n, err := strconv.Atoi(r[i]); err == nil {
				want[h] = n
			}
		}
	}
	want["registrations"] = want["total"]
	want["bethels"] = bethels
	shown, err := eval[map[string]string](tb, `(function() {
		var m = {};
		document.querySelectorAll("dd[data-total]").forEach(function(e) { m[e.getAttribute("data-total")] = e.textContent; });
		return m;
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"registrations", "daughters", "adults", "guests", "bethels"} {
		n, ok := parseCount(shown[k])
		switch {
		case shown[k] == "":
			t.Errorf("the overview has no <dd data-total=%q>", k)
		case !ok || n != want[k]:
			t.Errorf("the overview shows %s = %q, out/summary/attendance.csv says %d", k, shown[k], want[k])
		}
	}
}

// checkWhy asks the real binary about a cell: its value and its number of
// source records must be the count the page shows.
func checkWhy(t *testing.T, ws, cell string, want int) {
	t.Helper()
	r := runBethel(ws, "why", cell, "--json")
	if r.code != 0 {
		t.Errorf("bethel why %s: exit %d %v\n%s", cell, r.code, r.err, r.stderr)
		return
	}
	var a struct {
		Value   *string           `json:"value"`
		Sources []json.RawMessage `json:"sources"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil {
		t.Errorf("bethel why %s --json: %v", cell, err)
		return
	}
	if a.Value == nil || *a.Value != strconv.Itoa(want) || len(a.Sources) != want {
		v := "null"
		if a.Value != nil {
			v = *a.Value
		}
		t.Errorf("the site shows %s = %d; bethel why says value %s with %d source records", cell, want, v, len(a.Sources))
	}
}
