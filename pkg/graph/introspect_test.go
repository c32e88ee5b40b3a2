package graph

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"bethel/pkg/lineage"
	"bethel/pkg/stage"
)

// introStage is a funcStage that asks for the pipeline and its inputs'
// lineage.
type introStage struct{ funcStage }

func (*introStage) Introspects() {}

// introPipeline is three nodes: rows (one output row per raw line, with
// row lineage and a patch), count (a count per group, with cell lineage)
// and site (introspective, dumping what Graph and Explain show).
const introPipeline = `
[[node]]
name = "rows"
stage = "rows"
inputs = ["src/in.csv"]
patches = ["src/p/*.toml"]
outputs = ["out/rows.csv"]

[[node]]
name = "count"
stage = "count"
inputs = ["out/rows.csv", "src/cfg.txt"]
outputs = ["out/count.csv"]

[[node]]
name = "site"
stage = "site"
inputs = ["out/count.csv"]
outputs = ["out/site.txt"]
`

const introPatch = `[[patch]]
id = "move-K2"
target = "registrations"
match = { registration_id = "K2" }
set = { grp = "b" }
reason = "moved by phone"
`

func introRegistry(t *testing.T) *stage.Registry {
	rows := &funcStage{name: "rows", run: func(_ context.Context, r *stage.Run) error {
		data, err := fs.ReadFile(r.FS, "src/in.csv")
		if err != nil {
			return err
		}
		patchLine := 0
		if len(r.Patches) > 0 {
			p, err := fs.ReadFile(r.FS, r.Patches[0])
			if err != nil {
				return err
			}
			for i, l := range strings.Split(string(p), "\n") {
				if l == "[[patch]]" {
					patchLine = i + 1
				}
			}
		}
		rec := r.Lineage("out/rows.csv")
		out := "key,grp\n"
		for i, l := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
			key, grp, _ := strings.Cut(l, ",")
			row := lineage.Row{Sources: []lineage.Source{{File: "src/in.csv", Line: i + 2, Key: key}}}
			if key == "K2" && patchLine > 0 {
				grp = "b"
				row.Patches = []lineage.Patch{{ID: "move-K2", File: r.Patches[0], Line: patchLine, Fields: []string{"grp"}}}
			}
			rec.AddRow(row)
			out += key + "," + grp + "\n"
		}
		w, err := r.Create("out/rows.csv")
		if err != nil {
			return err
		}
		_, err = w.Write([]byte(out))
		return err
	}}
	count := &funcStage{name: "count", run: func(_ context.Context, r *stage.Run) error {
		data, err := fs.ReadFile(r.FS, "out/rows.csv")
		if err != nil {
			return err
		}
		groups := map[string][]int{}
		var names []string
		for i, l := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
			_, g, _ := strings.Cut(l, ",")
			if groups[g] == nil {
				names = append(names, g)
			}
			groups[g] = append(groups[g], i)
		}
		slices.Sort(names)
		rec := r.Lineage("out/count.csv")
		out := "grp,n\n"
		for i, g := range names {
			out += fmt.Sprintf("%s,%d\n", g, len(groups[g]))
			rec.AddCell(lineage.Cell{Row: i, Col: "n", Derivation: "rows with grp = " + g,
				Fields: []string{"grp"}, Input: "out/rows.csv", Rows: groups[g]})
		}
		w, err := r.Create("out/count.csv")
		if err != nil {
			return err
		}
		_, err = w.Write([]byte(out))
		return err
	}}
	site := &introStage{funcStage{name: "site", run: func(_ context.Context, r *stage.Run) error {
		var b strings.Builder
		for _, n := range r.Graph {
			fmt.Fprintf(&b, "node %s %s deps=%v\n", n.Name, n.Stage, n.Deps)
		}
		ex, err := r.Explain("out/count.csv")
		if err != nil {
			return err
		}
		if len(ex.Artifacts) != 1 || ex.Artifacts[0].Path != "out/count.csv" || ex.Artifacts[0].NoLineage {
			return fmt.Errorf("Explain answered %+v", ex.Artifacts)
		}
		for _, c := range ex.Artifacts[0].Cells {
			fmt.Fprintf(&b, "cell %d %s %q nodes=%v\n", c.Row, c.Col, c.Derivation, c.Nodes)
			for _, i := range c.Sources {
				s := ex.Sources[i]
				fmt.Fprintf(&b, "  source %s:%d %s\n", s.File, s.Line, s.Key)
			}
			for _, i := range c.Patches {
				p := ex.Patches[i]
				fmt.Fprintf(&b, "  patch %s %s:%d\n", p.ID, p.File, p.Line)
			}
		}
		w, err := r.Create("out/site.txt")
		if err != nil {
			return err
		}
		_, err = w.Write([]byte(b.String()))
		return err
	}}}
	return stage.NewRegistry(rows, count, site)
}

func TestIntrospectiveStage(t *testing.T) {
	root := workspace(t, map[string]string{
		"pipeline.toml": introPipeline,
		"src/in.csv":    "key,grp\nK1,a\nK2,a\nK3,b\n",
		"src/cfg.txt":   "v1\n",
		"src/p/1.toml":  introPatch,
	})
	opts := Options{Version: "t", Registry: introRegistry(t)}
	res := mustBuild(t, root, opts)
	if !slices.Contains(res.Ran, "site") {
		t.Fatalf("site did not run: %+v", res)
	}
	want := `node rows rows deps=[]
node count count deps=[rows]
node site site deps=[count]
cell 0 n "rows with grp = a" nodes=[rows count]
  source src/in.csv:2 K1
cell 1 n "rows with grp = b" nodes=[rows count]
  source src/in.csv:3 K2
  source src/in.csv:4 K3
  patch move-K2 src/p/1.toml:1
`
	if got := read(t, root, "out/site.txt"); got != want {
		t.Fatalf("site saw:\n%s\nwant:\n%s", got, want)
	}

	// count reruns and writes the same bytes with the same lineage: the
	// site shows nothing new and stays up to date.
	write(t, root, "src/cfg.txt", "v2\n")
	res = mustBuild(t, root, opts)
	if !slices.Contains(res.Ran, "count") || slices.Contains(res.Ran, "site") || slices.Contains(res.Restored, "site") {
		t.Fatalf("after a change that alters nothing the site shows: ran %v restored %v", res.Ran, res.Restored)
	}

	// The patch moves down a line: rows.csv is byte-identical (count is
	// cut off) but its lineage names a new line, which the site shows.
	write(t, root, "src/p/1.toml", "# moved down\n"+introPatch)
	res = mustBuild(t, root, opts)
	if slices.Contains(res.Ran, "count") || !slices.Contains(res.Ran, "site") {
		t.Fatalf("after moving the patch: ran %v", res.Ran)
	}
	if got := read(t, root, "out/site.txt"); !strings.Contains(got, "patch move-K2 src/p/1.toml:2\n") {
		t.Fatalf("site did not see the patch's new line:\n%s", got)
	}
	res = mustBuild(t, root, opts)
	if len(res.Ran)+len(res.Restored) != 0 {
		t.Fatalf("second build not a no-op: ran %v restored %v", res.Ran, res.Restored)
	}

	// Back to the first patch file: every node is restored or cut off and
	// the site comes back from the cache with the first answer.
	write(t, root, "src/p/1.toml", introPatch)
	res = mustBuild(t, root, opts)
	if !slices.Contains(res.Restored, "site") {
		t.Fatalf("site not restored after the revert: ran %v restored %v", res.Ran, res.Restored)
	}
	if got := read(t, root, "out/site.txt"); got != want {
		t.Fatalf("restored site:\n%s\nwant:\n%s", got, want)
	}
}

// siteExplaining is the introspection workspace whose site stage asks for
// out/count.csv's lineage (and checks that a file the node does not read
// is refused); *got holds the last answer.
func siteExplaining(t *testing.T) (root string, reg *stage.Registry, got **stage.Explained) {
	t.Helper()
	root = workspace(t, map[string]string{
		"pipeline.toml": introPipeline,
		"src/in.csv":    "key,grp\nK1,a\n",
		"src/cfg.txt":   "v1\n",
		"src/p/1.toml":  introPatch,
	})
	reg = introRegistry(t)
	site, _ := reg.Lookup("site")
	got = new(*stage.Explained)
	site.(*introStage).run = func(_ context.Context, r *stage.Run) error {
		ex, err := r.Explain("out/count.csv")
		if err != nil {
			return err
		}
		*got = ex
		if _, err := r.Explain("src/cfg.txt"); err == nil || !strings.Contains(err.Error(), "not an input") {
			return fmt.Errorf("Explain of a file the node does not read: %v", err)
		}
		w, err := r.Create("out/site.txt")
		if err != nil {
			return err
		}
		_, err = w.Write([]byte("x"))
		return err
	}
	return root, reg, got
}

func TestExplainRefusesWithoutLineage(t *testing.T) {
	root, reg, gotp := siteExplaining(t)
	mustBuild(t, root, Options{Version: "t", Registry: reg, NoLineage: true})
	if got := *gotp; got == nil || len(got.Artifacts) != 1 || !got.Artifacts[0].NoLineage || len(got.Artifacts[0].Cells) != 0 {
		t.Fatalf("Explain with lineage off: %+v, want one artifact marked NoLineage", got)
	}
}

// TestLineageModeSwitch: a build with lineage off, then one with it on,
// must not pass the first for the second (every stage node ran without
// recording lineage); the second has the lineage, and switching off again
// restores the lineage-off build from the cache.
func TestLineageModeSwitch(t *testing.T) {
	root, reg, gotp := siteExplaining(t)
	off := Options{Version: "t", Registry: reg, NoLineage: true}
	on := Options{Version: "t", Registry: reg}
	mustBuild(t, root, off)
	*gotp = nil
	res := mustBuild(t, root, on)
	if got := *gotp; len(res.UpToDate) != 0 || got == nil || got.Artifacts[0].NoLineage || len(got.Artifacts[0].Cells) == 0 {
		t.Fatalf("lineage on after off: up to date %v, site saw %+v; want every stage node rebuilt with lineage", res.UpToDate, *gotp)
	}
	res = mustBuild(t, root, off)
	if len(res.Ran) != 0 || len(res.Restored) == 0 {
		t.Fatalf("lineage off again: ran %v restored %v, want the first build restored", res.Ran, res.Restored)
	}
	var why []string
	for _, n := range res.Nodes {
		why = append(why, n.Reasons...)
	}
	if !slices.Contains(why, "cell lineage switched off") {
		t.Errorf("the restores do not say why: %q", why)
	}
}
