package graph

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"bethel/pkg/graphfile"
	"bethel/pkg/lineage"
	"bethel/pkg/stage"
)

// introPipeline is three nodes: rows (one output row per raw line, with
// row lineage and a patch), count (a count per group, with cell lineage)
// and site, which reads the engine artifacts (the graph, count's lineage
// and with it rows') and dumps what they hold.
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
inputs = ["out/count.csv", "graph:", "lineage:out/count.csv"]
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
	site := &funcStage{name: "site", run: func(_ context.Context, r *stage.Run) error {
		var b strings.Builder
		data, err := fs.ReadFile(r.FS, stage.GraphInput)
		if err != nil {
			return err
		}
		nodes, err := graphfile.Decode(data)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			fmt.Fprintf(&b, "node %s %s deps=%v\n", n.Name, n.Stage, n.Deps)
		}
		for _, in := range r.Inputs {
			if !strings.HasPrefix(in, stage.LineagePrefix) {
				continue
			}
			data, err := fs.ReadFile(r.FS, in)
			if err != nil {
				return err
			}
			if len(data) == 0 {
				fmt.Fprintf(&b, "%s empty\n", in)
				continue
			}
			t, err := lineage.Open(data)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s\n", in)
			for i := range t.NumCells() {
				c, err := t.CellAt(i)
				if err != nil {
					return err
				}
				var rows []int
				for _, ref := range c.AllRefs() {
					rows = append(rows, ref.Row)
				}
				fmt.Fprintf(&b, "  cell %d %s %q rows=%v\n", c.Row, c.Col, c.Derivation, rows)
			}
			for i := range t.NumRows() {
				row, err := t.Row(i)
				if err != nil {
					return err
				}
				for _, s := range row.Sources {
					fmt.Fprintf(&b, "  row %d source %s:%d %s\n", i, s.File, s.Line, s.Key)
				}
				for _, p := range row.Patches {
					fmt.Fprintf(&b, "  row %d patch %s %s:%d\n", i, p.ID, p.File, p.Line)
				}
			}
		}
		if _, err := fs.ReadFile(r.FS, stage.LineagePrefix+"out/other.csv"); err == nil || !strings.Contains(err.Error(), "may read only its declared inputs") {
			return fmt.Errorf("undeclared lineage: %v", err)
		}
		w, err := r.Create("out/site.txt")
		if err != nil {
			return err
		}
		_, err = w.Write([]byte(b.String()))
		return err
	}}
	return stage.NewRegistry(rows, count, site)
}

// TestEngineArtifacts: a stage reads the graph and lineage through its
// FS; their hashes key it like files, so a change only they show reruns
// it, and one they do not show leaves it up to date.
func TestEngineArtifacts(t *testing.T) {
	root, opts := introWorkspace(t)

	// count reruns and writes the same bytes with the same lineage: the
	// site shows nothing new and stays up to date.
	write(t, root, "src/cfg.txt", "v2\n")
	res := mustBuild(t, root, opts)
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
	if got := read(t, root, "out/site.txt"); got != introWant {
		t.Fatalf("restored site:\n%s\nwant:\n%s", got, introWant)
	}
}

// TestEngineArtifactsLineageOff: with lineage off every lineage input is
// empty, and switching it on reruns every stage node, the site with it.
func TestEngineArtifactsLineageOff(t *testing.T) {
	root := workspace(t, map[string]string{
		"pipeline.toml": introPipeline,
		"src/in.csv":    "key,grp\nK1,a\n",
		"src/cfg.txt":   "v1\n",
		"src/p/1.toml":  introPatch,
	})
	reg := introRegistry(t)
	off := Options{Version: "t", Registry: reg, NoLineage: true}
	mustBuild(t, root, off)
	if got := read(t, root, "out/site.txt"); !strings.Contains(got, "lineage:out/count.csv empty\n") || !strings.Contains(got, "lineage:out/rows.csv empty\n") {
		t.Fatalf("site with lineage off saw:\n%s", got)
	}
	res := mustBuild(t, root, Options{Version: "t", Registry: reg})
	if len(res.UpToDate) != 0 || strings.Contains(read(t, root, "out/site.txt"), "empty") {
		t.Fatalf("lineage on after off: up to date %v, site saw:\n%s", res.UpToDate, read(t, root, "out/site.txt"))
	}
	res = mustBuild(t, root, off)
	if len(res.Ran) != 0 || len(res.Restored) == 0 {
		t.Fatalf("lineage off again: ran %v restored %v, want the first build restored", res.Ran, res.Restored)
	}
}
