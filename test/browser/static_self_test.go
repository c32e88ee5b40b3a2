package browser_test

// Self-tests of the static checks on fixtures of their own: each must
// report what it exists to catch, and only that.

import (
	"html"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLinkCheckerReportsBadLinks(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"index.html": `<!doctype html><html><head><link rel="stylesheet" href="site.css"><link rel="icon" href="data:,">
<style>.x { background: url('img/dot.svg') } .y { background: url(gone.png) }</style></head>
<body id="top"><!-- <a href="commented-out.html"> -->
<a href="b.html">ok</a> <a href="b.html#sec">ok</a> <a href="#top">ok</a> <a href='sub/'>ok</a>
<a href="b.html?x=1&amp;y=2">ok</a> <img src="img/dot.svg" alt="" srcset="img/dot.svg 1x, img/dot2.svg 2x">
<a href="missing.html">bad</a> <a href="https://example.com/">bad</a> <script src="//cdn.example.com/x.js"></script>
<a href="/abs.html">bad</a> <a href="../outside.html">bad</a> <a href="#nowhere">bad</a> <a href="b.html#nosec">bad</a>
<a href=mailto:someone@example.org>bad</a> <a href="">bad</a>
<script>var s = '<a href="in-script.html">not a tag</a>';</script>
<svg><use xlink:href="#top"></use><image href="http://example.com/i.png"/></svg></body></html>`,
		"b.html":          `<h2 id="sec">b</h2>`,
		"sub/index.html":  `<a href="../index.html#top">up</a>`,
		"img/dot.svg":     `<svg xmlns="http://www.w3.org/2000/svg"></svg>`,
		"site.css":        `@import "more.css"; body { background: url("img/dot.svg") }`,
		"more.css":        `p { background-image: url(none-such.png) }`,
		"data/lineage.js": `var x = "<a href='https://ignored.example/'>"`,
	})
	bad, n, err := checkLinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range bad {
		_, rest, _ := strings.Cut(b, "=")
		v, _, _ := strings.Cut(rest[1:], `"`)
		got = append(got, v)
	}
	sort.Strings(got)
	want := []string{"", "#nowhere", "../outside.html", "//cdn.example.com/x.js", "/abs.html", "b.html#nosec",
		"gone.png", "http://example.com/i.png", "https://example.com/", "img/dot2.svg", "mailto:someone@example.org",
		"missing.html", "none-such.png"}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("reported:\n%s\nwant exactly:\n%s\nfull messages: %q", strings.Join(got, "\n"), strings.Join(want, "\n"), bad)
	}
	if n < 20 {
		t.Errorf("only %d references found", n)
	}
}

func TestPrivacyScannerFindsValues(t *testing.T) {
	ws := needSample(t)
	values, err := sensitiveValues(ws)
	if err != nil {
		t.Fatal(err)
	}
	pick := map[string]privateValue{}
	for _, v := range values {
		if _, ok := pick[v.field]; !ok {
			pick[v.field] = v
		}
		if v.field == "first_name+last_name" && strings.ContainsAny(v.value, "'é") {
			pick["escaped name"] = v
		}
	}
	email, phone, name := pick["email"], pick["phone"], pick["first_name+last_name"]
	if email.value == "" || phone.value == "" || name.value == "" {
		t.Fatalf("no email, phone or full name among the values: %d values", len(values))
	}
	for _, v := range values {
		if len([]rune(v.value)) < minValueRunes || placeholders[strings.ToLower(v.value)] {
			t.Errorf("the %s of %s breaks the value rule", v.field, v.where)
		}
	}
	dir := t.TempDir()
	files := map[string]string{
		"clean.html":  `<p>Bethel 12 has 26 registrations; peanut allergy: 17</p><p>x` + name.value + `y</p>`,
		"upper.html":  `<td>` + strings.ToUpper(email.value) + `</td>`,
		"inline.js":   `var d = {"phone":"` + phone.value + `"};`,
		"name.html":   `<li>` + name.value + `</li>`,
		"nested/x.js": "",
	}
	want := 3
	if e, ok := pick["escaped name"]; ok {
		files["nested/x.js"] = `<b title="` + html.EscapeString(e.value) + `">`
		want++
	}
	writeFiles(t, dir, files)
	leaks, err := findPrivate(dir, values)
	if err != nil {
		t.Fatal(err)
	}
	files2 := map[string]bool{}
	for _, l := range leaks {
		f, _, _ := strings.Cut(l, " ")
		files2[f] = true
		for _, v := range []privateValue{email, phone, name} {
			if strings.Contains(strings.ToLower(l), strings.ToLower(v.value)) {
				t.Errorf("a leak message shows the private value itself: %q", l)
			}
		}
	}
	if files2["clean.html"] || len(files2) != want {
		t.Errorf("leaks reported in %v, want exactly the %d planted files: %q", files2, want, leaks)
	}
}
