package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"bethel/pkg/graphfile"
	"bethel/pkg/lineage"
	"bethel/pkg/site"
	"bethel/pkg/stage"
)

// siteLineageJS is lineage.js as the page script reads it.
type siteLineageJS struct{ *site.LineageJS }

func parseSiteLineage(t *testing.T, b []byte) *siteLineageJS {
	t.Helper()
	lj, err := site.ReadLineageJS(b)
	if err != nil {
		t.Fatalf("lineage.js: %v", err)
	}
	return &siteLineageJS{lj}
}

// set decodes one set the way site.js does: runs or a base64 bitmap.
func (lj *siteLineageJS) set(t *testing.T, i int) []int {
	t.Helper()
	out, err := site.DecodeSet(lj.Sets[i])
	if err != nil {
		t.Fatalf("set %d: %v", i, err)
	}
	return out
}

var (
	siteCellRE  = regexp.MustCompile(`<td class="count" data-cell="([^"]*)"><button type="button" class="why">([0-9]+)</button></td>`)
	siteTotalRE = regexp.MustCompile(`<dd data-total="([a-z]+)">([0-9]+)</dd>`)
	siteLinkRE  = regexp.MustCompile(`\s(href|src)="([^"]*)"`)
	siteIDRE    = regexp.MustCompile(`\sid="([^"]*)"`)
)

func siteFiles(b *wsBuild) map[string][]byte {
	out := map[string][]byte{}
	for o, data := range b.outputs {
		if strings.HasPrefix(o, "out/site/") {
			out[path.Base(o)] = data
		}
	}
	return out
}

// TestSiteSample checks the sample site against its own inputs: totals
// equal the attendance TOTAL row, every count cell has lineage whose
// number of distinct source records equals the count, every link
// resolves inside the site, nothing is fetched from elsewhere, and the
// corrections log names the cells a patch changed.
func TestSiteSample(t *testing.T) {
	before := siteReasked.Load()
	b := buildWorkspace(t, repoRoot(t))
	if siteReasked.Load() != before {
		t.Error("the site asked for lineage twice: its early list of tables (earlyPaths) is not the one build makes")
	}
	checkSite(t, b)
	files := siteFiles(b)
	// The bethel typo patch moved R-10004 to bethel 80: the cells of the
	// bethel 80 row that count her are listed against the patch.
	att := parseCSV(t, "attendance", b.outputs["out/summary/attendance.csv"])
	row := -1
	for i, r := range att.rows {
		if r[0] == "80" {
			row = i + 2 // the header is row 1
		}
	}
	corr := string(files[site.CorrectionsPage])
	i := strings.Index(corr, `id="patch-bethel-typo-R-10004"`)
	if row < 0 || i < 0 {
		t.Fatalf("no bethel 80 row (%d) or no patch row in corrections.html", row)
	}
	entry := corr[i : i+strings.Index(corr[i:], "</tr>")]
	for _, want := range []string{"out/summary/attendance.csv:" + strconv.Itoa(row) + ":total", "“20” → “80”"} {
		if !strings.Contains(entry, want) {
			t.Errorf("corrections.html: the entry of bethel-typo-R-10004 lacks %q", want)
		}
	}
	total := 0
	for _, data := range files {
		total += len(data)
	}
	if total > 2<<20 {
		t.Errorf("the sample site is %d bytes, over 2 MB", total)
	}
	t.Logf("sample site: %d bytes (lineage.js %d)", total, len(files[site.LineageFile]))
}

func checkSite(t *testing.T, b *wsBuild) {
	t.Helper()
	files := siteFiles(b)
	for _, f := range append(append([]string(nil), site.Files...), "schedule.ics") {
		if files[f] == nil {
			t.Fatalf("the site lacks %s", f)
		}
	}
	att := parseCSV(t, "attendance", b.outputs["out/summary/attendance.csv"])
	last := att.rows[len(att.rows)-1]
	want := map[string]string{"registrations": last[att.col(t, "total")], "daughters": last[att.col(t, "daughters")],
		"adults": last[att.col(t, "adults")], "guests": last[att.col(t, "guests")], "bethels": strconv.Itoa(len(att.rows) - 1)}
	got := map[string]string{}
	for _, m := range siteTotalRE.FindAllSubmatch(files[site.IndexPage], -1) {
		got[string(m[1])] = string(m[2])
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("overview total %s = %q, want %s", k, got[k], v)
		}
	}
	lj := parseSiteLineage(t, files[site.LineageFile])
	cells := 0
	for name, data := range files {
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		if n, m := strings.Count(string(data), `class="count"`), len(siteCellRE.FindAll(data, -1)); n != m {
			t.Errorf("%s: %d count cells, %d in the contract's form", name, n, m)
		}
		for _, m := range siteCellRE.FindAllSubmatch(data, -1) {
			cells++
			id, n := string(m[1]), string(m[2])
			enc := lj.Cells[id]
			if enc == nil {
				t.Errorf("%s: cell %s has no lineage", name, id)
				continue
			}
			var v string
			var si int
			json.Unmarshal(enc[0], &v)
			json.Unmarshal(enc[4], &si)
			if v != n {
				t.Errorf("%s: cell %s shows %s, lineage says %s", name, id, n, v)
			}
			if k := len(lj.set(t, si)); strconv.Itoa(k) != n {
				t.Errorf("%s: cell %s = %s but its lineage has %d source records", name, id, n, k)
			}
		}
	}
	if cells < 100 {
		t.Errorf("only %d count cells checked", cells)
	}
	ids := map[string]map[string]bool{}
	for name, data := range files {
		ids[name] = map[string]bool{}
		for _, m := range siteIDRE.FindAllSubmatch(data, -1) {
			ids[name][string(m[1])] = true
		}
	}
	for name, data := range files {
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		for _, m := range siteLinkRE.FindAllSubmatch(data, -1) {
			link := strings.ReplaceAll(string(m[2]), "&amp;", "&")
			file, frag, _ := strings.Cut(link, "#")
			switch {
			case link == "data:,": // the empty icon: no request at all
			case strings.Contains(file, ":") || strings.HasPrefix(file, "/"):
				t.Errorf("%s: %s=%q leaves the site", name, m[1], link)
			case file == site.BuildFile:
			case file != "" && files[file] == nil:
				t.Errorf("%s: %s=%q: no such file", name, m[1], link)
			case frag != "":
				if file == "" {
					file = name
				}
				if !ids[file][frag] {
					t.Errorf("%s: %s=%q: no id %q in %s", name, m[1], link, frag, file)
				}
			}
		}
	}
}

// TestSiteGenerated runs the same checks on generated events, and builds
// each twice: the site must come out byte-identical.
func TestSiteGenerated(t *testing.T) {
	for _, c := range []struct{ rows, seed int }{{300, 2}, {2500, 1}} {
		dir := generatedWorkspace(t, c.rows, c.seed)
		a := buildWorkspace(t, dir)
		checkSite(t, a)
		b := buildWorkspace(t, dir)
		for name, data := range siteFiles(a) {
			if !bytes.Equal(data, siteFiles(b)[name]) {
				t.Errorf("rows %d seed %d: %s differs between two builds", c.rows, c.seed, name)
			}
		}
	}
}

// TestSitePrivate: no sensitive value of the sample's input occurs in any
// file of the site or in the corrections report, and the search itself
// finds them where they are.
func TestSitePrivate(t *testing.T) {
	root := repoRoot(t)
	b := buildWorkspace(t, root)
	vals := sensitiveValues(t, root, b)
	if len(vals) < 100 {
		t.Fatalf("only %d sensitive values", len(vals))
	}
	searched := 0
	for _, o := range b.sortedOutputs() {
		if !strings.HasPrefix(o, "out/site/") && o != "out/summary/patches.json" {
			continue
		}
		searched++
		for _, v := range vals {
			if containsWord(string(b.outputs[o]), v) {
				t.Errorf("%s holds a sensitive value of the input (%d characters)", o, len(v))
			}
		}
	}
	if searched != len(site.Files)+2 {
		t.Errorf("searched %d files, want the site's %d and patches.json", searched, len(site.Files)+1)
	}
	// The same search finds the walk-ins' names in the private report.
	hits := 0
	for _, v := range vals {
		if containsWord(string(b.outputs["out/private/registrations.patches.json"]), v) {
			hits++
		}
	}
	if hits == 0 {
		t.Error("no sensitive value found in the private patch report either: the search proves nothing")
	}
}

// siteRun is a hand-made run of the site stage over a tiny workspace: fsys
// gets the engine artifacts the node declares (the graph, and lineage in
// which attendance's daughters cell of bethel 2 counts registration R-1),
// unless it already has them.
func siteRun(fsys fstest.MapFS) (*stage.Run, map[string]*bytes.Buffer) {
	bufs := map[string]*bytes.Buffer{}
	var outs []string
	for _, f := range site.Files {
		outs = append(outs, "out/site/"+f)
	}
	fsys = maps.Clone(fsys)
	if fsys[stage.GraphInput] == nil {
		fsys[stage.GraphInput] = &fstest.MapFile{Data: graphfile.Encode([]graphfile.Node{
			{Name: "registrations", Stage: "registrations.normalize", StageVersion: "1", Outputs: []string{"out/private/registrations.csv"}, Visibility: "private"},
			{Name: "attendance", Stage: "summary.attendance", StageVersion: "1", Inputs: []string{"out/private/registrations.csv"},
				Outputs: []string{"out/summary/attendance.csv"}, Visibility: "internal", Deps: []string{"registrations"}},
		})}
	}
	const att, regs = stage.LineagePrefix + "out/summary/attendance.csv", stage.LineagePrefix + "out/private/registrations.csv"
	if fsys[att] == nil {
		rec := &lineage.Recorder{}
		rec.AddCell(lineage.Cell{Row: 0, Col: "daughters", Derivation: "count", Input: "out/private/registrations.csv", Rows: []int{0}})
		fsys[att] = &fstest.MapFile{Data: lineage.Encode(rec)}
	}
	if fsys[regs] == nil {
		rec := &lineage.Recorder{}
		rec.AddRow(lineage.Row{Sources: []lineage.Source{{File: "inputs/registrations.csv", Line: 2, Key: "R-1"}}})
		fsys[regs] = &fstest.MapFile{Data: lineage.Encode(rec)}
	}
	r := engineDecl(&stage.Run{
		Node: "site", Inputs: []string{"out/summary/attendance.csv", stage.GraphInput, att, regs}, Outputs: outs, Visibility: stage.Internal, FS: fsys,
		Create: func(p string) (io.Writer, error) {
			bufs[p] = &bytes.Buffer{}
			return bufs[p], nil
		},
		Warnf: func(string, ...any) {},
	})
	return r, bufs
}

// TestSiteRefuses: what the stage must not build.
func TestSiteRefuses(t *testing.T) {
	fsys := fstest.MapFS{
		"out/summary/attendance.csv":    {Data: []byte("bethel,bethel_name,daughters,adults,guests,total\n2,Twin Oaks,1,0,0,1\nTOTAL,,1,0,0,1\n")},
		"out/private/registrations.csv": {Data: []byte("registration_id\nR-1\n")},
	}
	for _, tc := range []struct {
		name string
		mod  func(r *stage.Run)
		want string
	}{
		{"ok", func(r *stage.Run) {}, ""},
		{"no graph", func(r *stage.Run) {
			r.Inputs = slices.DeleteFunc(r.Inputs, func(p string) bool { return p == stage.GraphInput })
		}, `add "graph:" to the node's inputs`},
		{"private input", func(r *stage.Run) { r.Inputs = append(r.Inputs, "out/private/registrations.csv") }, "private output of node registrations"},
		{"raw input", func(r *stage.Run) { r.Inputs = append(r.Inputs, "inputs/registrations.csv") }, "raw input"},
		{"public", func(r *stage.Run) { r.Visibility = stage.Public }, "must be internal"},
		{"missing output", func(r *stage.Run) { r.Outputs = r.Outputs[1:] }, "add out/site/index.html"},
		{"unknown output", func(r *stage.Run) { r.Outputs = append(r.Outputs, "out/site/extra.html") }, "does not write out/site/extra.html"},
		{"no attendance", func(r *stage.Run) { r.Inputs = r.Inputs[1:] }, "needs out/summary/attendance.csv"},
		{"lineage off", func(r *stage.Run) {
			fsys := maps.Clone(r.FS.(fstest.MapFS))
			fsys[stage.LineagePrefix+"out/summary/attendance.csv"] = &fstest.MapFile{}
			r.FS = fsys
		}, ""},
		{"lineage undeclared", func(r *stage.Run) { r.Inputs = r.Inputs[:2] }, ""},
		{"lineage names a row the file lacks", func(r *stage.Run) {
			fsys := maps.Clone(r.FS.(fstest.MapFS))
			rec := &lineage.Recorder{}
			rec.AddCell(lineage.Cell{Row: 7, Col: "total", Derivation: "count"})
			fsys[stage.LineagePrefix+"out/summary/attendance.csv"] = &fstest.MapFile{Data: lineage.Encode(rec)}
			r.FS = fsys
		}, "row 8 column total"},
		{"corrupt lineage", func(r *stage.Run) {
			fsys := maps.Clone(r.FS.(fstest.MapFS))
			fsys[stage.LineagePrefix+"out/summary/attendance.csv"] = &fstest.MapFile{Data: []byte("BLN2garbage")}
			r.FS = fsys
		}, "lineage:out/summary/attendance.csv"},
	} {
		r, bufs := siteRun(fsys)
		tc.mod(r)
		err := siteStage{}.Run(context.Background(), r)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == "" && bufs["out/site/index.html"] == nil:
			t.Errorf("%s: no index.html", tc.name)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestSiteShowsDeclaredSummaries: summaries the sample does not have,
// declared in pipeline.toml only, reach summary.json and the overview as
// a table with lineage and a chart each.
func TestSiteShowsDeclaredSummaries(t *testing.T) {
	root, dir := repoRoot(t), t.TempDir()
	for _, sub := range []string{"inputs", "config", "patches"} {
		err := filepath.WalkDir(filepath.Join(root, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			copyFile(t, p, filepath.Join(dir, rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(root, "pipeline.toml"))
	if err != nil {
		t.Fatal(err)
	}
	pipe := string(data)
	extra := []string{"out/summary/photo_consent.csv", "out/summary/meal_by_housing.csv"}
	for _, node := range []string{"summary", "site"} {
		i := strings.Index(pipe, "name       = \""+node+"\"")
		j := i + strings.Index(pipe[i:], "inputs     = [") + len("inputs     = [")
		if i < 0 || j < i {
			t.Fatalf("no inputs of node %s in the sample pipeline", node)
		}
		add := slices.Clone(extra)
		if node == "site" {
			for _, e := range extra {
				add = append(add, stage.LineagePrefix+e)
			}
		}
		pipe = pipe[:j] + `"` + strings.Join(add, `", "`) + `", ` + pipe[j:]
	}
	pipe += `
[[node]]
name       = "photos"
stage      = "summary.count"
inputs     = ["out/private/registrations.csv", "config/fields.toml", "config/privacy.toml"]
outputs    = ["out/summary/photo_consent.csv"]
visibility = "internal"
  [node.params]
  rows          = "photo_consent"
  columns       = "member_type"
  column_labels = { daughter = "daughters", adult = "adults", guest = "guests" }

[[node]]
name       = "meal-by-housing"
stage      = "summary.count"
inputs     = ["out/private/registrations.csv", "config/fields.toml", "config/privacy.toml"]
outputs    = ["out/summary/meal_by_housing.csv"]
visibility = "internal"
  [node.params]
  rows    = "banquet_meal"
  columns = "housing"
`
	if err := os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(pipe), 0o644); err != nil {
		t.Fatal(err)
	}
	before := siteReasked.Load()
	b := buildWorkspace(t, dir)
	if siteReasked.Load() != before {
		t.Error("the site asked for lineage twice: earlyPaths missed a declared summary")
	}
	checkSite(t, b)
	index := string(siteFiles(b)[site.IndexPage])
	js := string(b.outputs["out/summary/summary.json"])
	for _, c := range []struct{ id, heading, cell string }{
		{"summary-photo_consent", "Photo consent", "out/summary/photo_consent.csv:2:daughters"},
		{"summary-meal_by_housing", "Meal by housing", "out/summary/meal_by_housing.csv:2:hotel"},
	} {
		i := strings.Index(index, `id="`+c.id+`-section"`)
		if i < 0 {
			t.Errorf("index.html has no section %s", c.id)
			continue
		}
		section := index[i:]
		section = section[:strings.Index(section, "</section>")]
		for _, want := range []string{c.heading, "<svg", c.cell} {
			if !strings.Contains(section, want) {
				t.Errorf("index.html: summary %s lacks %q", c.id, want)
			}
		}
		if !strings.Contains(js, `"`+strings.TrimPrefix(c.id, "summary-")+`": [`) {
			t.Errorf("summary.json lacks %s", c.id)
		}
	}
}
