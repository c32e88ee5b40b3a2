package browser_test

// Self-tests of the harness on small pages of its own: each kind of broken
// page must be reported, a clean page must not, and a lineage panel that
// shows the wrong number must be caught. They prove the site tests can
// fail.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fileOnly allows the requests of a page opened from disk.
func fileOnly(u string) bool {
	return strings.HasPrefix(u, "file://") || strings.HasPrefix(u, "data:") || u == "about:blank"
}

// lineagePage is a tiny page that follows the site's DOM contract for
// counts; the count of out/x.csv:2:b is shown wrong on purpose.
const lineagePage = `<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body>
<table><tr><th class="count" data-cell="out/x.csv:0:a"><button class="why">3</button></th></tr>
<tr><td class="count" data-cell="out/x.csv:1:a"><button class="why">1,414</button></td>
<td class="count" data-cell="out/x.csv:2:b"><button class="why">7</button></td>
<td class="count" data-cell="out/x.csv:3:b"><button class="why">7</button></td></tr></table>
<aside id="lineage"></aside>
<script>
var counts = {"out/x.csv:0:a": 3, "out/x.csv:1:a": 1414, "out/x.csv:2:b": 8, "out/x.csv:3:b": 7};
document.querySelectorAll("button.why").forEach(function(b) {
  b.addEventListener("click", function() {
    var cell = b.parentNode.getAttribute("data-cell");
    document.getElementById("lineage").innerHTML =
      "<p>" + cell + ": <span class=\"lineage-count\">" + counts[cell] + "</span> records</p>";
  });
});
</script></body></html>`

func TestHarnessReportsBrokenPages(t *testing.T) {
	needBrowser(t)
	dir := t.TempDir()
	pages := []struct {
		name, body string
		want       string // a problem that must be reported; "" for none
	}{
		{"clean.html", `<p>fine</p><img src="dot.svg" alt=""><script>console.log("only a log")</script>`, ""},
		{"console-error.html", `<script>console.error("boom")</script>`, "console.error: boom"},
		{"exception.html", `<script>null.f;</script>`, "uncaught exception"},
		{"rejection.html", `<script>Promise.reject(new Error("nope"))</script>`, "uncaught exception"},
		{"missing.html", `<img src="missing.png" alt="">`, "failed request"},
		{"external.html", `<img src="http://127.0.0.1:9/x.png" alt="">`, "request outside the site: http://127.0.0.1:9/x.png"},
	}
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>`
	if err := os.WriteFile(filepath.Join(dir, "dot.svg"), []byte(svg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		html := `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>t</title></head><body>` + p.body + `</body></html>`
		if err := os.WriteFile(filepath.Join(dir, p.name), []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			tb := openTab(t, "file://"+filepath.Join(dir, p.name), &recorder{allowed: fileOnly})
			got := tb.rec.Problems()
			t.Logf("problems: %q", got)
			if p.want == "" {
				if len(got) > 0 {
					t.Errorf("a clean page reported problems: %q", got)
				}
				if reqs := tb.rec.Requests(); len(reqs) < 2 {
					t.Errorf("requests seen %q, want the page and its image: the recorder misses requests", reqs)
				}
				return
			}
			found := false
			for _, g := range got {
				found = found || strings.Contains(g, p.want)
			}
			if !found {
				t.Errorf("problems %q, want one containing %q", got, p.want)
			}
		})
	}
}

func TestHarnessCatchesWrongLineageCount(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "counts.html")
	if err := os.WriteFile(page, []byte(lineagePage), 0o644); err != nil {
		t.Fatal(err)
	}
	tb := openTab(t, "file://"+page, &recorder{allowed: fileOnly})
	cells, bad, err := countCells(tb)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 || len(cells) != 4 {
		t.Fatalf("cells %+v, contract problems %q; want 4 good cells", cells, bad)
	}
	for _, c := range cells {
		want, _ := parseCount(c.Button)
		got, err := clickCount(tb, c.Cell)
		if err != nil {
			t.Fatal(err)
		}
		wrong := c.Cell == "out/x.csv:2:b"
		if (got != want) != wrong {
			t.Errorf("%s: button %d, lineage %d; the harness must see a mismatch exactly for out/x.csv:2:b", c.Cell, want, got)
		}
	}
	if p := tb.rec.Problems(); len(p) > 0 {
		t.Errorf("problems on the lineage page: %q", p)
	}
}
