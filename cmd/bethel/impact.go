package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/pipeline"
	"bethel/pkg/provenance"
)

// impactMethod says how `bethel patches --impact` finds the cells: from
// the lineage of the current build, not by building without each patch.
const impactMethod = "computed from the lineage of the current build: a cell is listed when a record it derives from " +
	"had a field the cell reads set by the patch (or was added by it); cells a record left because of a patch " +
	"(a bethel it moved away from) no longer derive from it and are not listed"

// patchImpact is the --impact answer: patch id -> the cells (as bethel why
// targets) whose values it changed.
type patchImpact struct {
	Method string              `json:"method"`
	Cells  map[string][]string `json:"cells"`
	// Skipped are outputs whose lineage could not be read (not built,
	// edited by hand, stale), with the reason; with --exact, patches whose
	// impact could not be measured, with the reason.
	Skipped []string `json:"skipped,omitempty"`
	// NotMeasured are the patches --exact could not build without.
	NotMeasured []string `json:"not_measured,omitempty"`
}

// computeImpact walks every recorded cell of every current output of a
// stage node and collects, per patch, the cells it touched.
func computeImpact(p *pipeline.Pipeline, root string) *patchImpact {
	imp := &patchImpact{Method: impactMethod, Cells: map[string][]string{}}
	w := newWhy(p, root)
	for _, n := range p.Order {
		if !n.IsStage() {
			continue
		}
		for _, o := range n.Outputs {
			h, err := w.ws.current(o)
			if err != nil {
				imp.Skipped = append(imp.Skipped, o+": not built")
				continue
			}
			a, err := w.w.Artifact(o, h)
			if errors.Is(err, provenance.ErrNoRecord) {
				imp.Skipped = append(imp.Skipped, o+": no provenance record for its current content")
				continue
			}
			if err != nil {
				imp.Skipped = append(imp.Skipped, err.Error())
				continue
			}
			if a.Table == nil {
				continue
			}
			add := func(id, cell string) {
				imp.Cells[id] = append(imp.Cells[id], cell)
			}
			for _, c := range a.Table.Cells() {
				res, ok, err := w.w.CellAt(o, h, c.Row, c.Col)
				if err != nil || !ok {
					continue
				}
				target := fmt.Sprintf("%s:%d:%s", o, c.Row+2, c.Col) // the header is row 1
				if c.Row < 0 {
					target = o + "#" + c.Col
				}
				for _, i := range res.Patches {
					add(w.w.Patch(i).ID, target)
				}
			}
			// Rows standing for one record: each field a patch set is a
			// changed cell.
			for i := 0; i < a.Table.NumRows(); i++ {
				r, err := a.Table.Row(i)
				if err != nil {
					continue
				}
				for _, pt := range r.Patches {
					if len(pt.Fields) == 0 {
						add(pt.ID, fmt.Sprintf("%s:%d (the whole row: added)", o, i+2))
					}
					for _, f := range pt.Fields {
						add(pt.ID, fmt.Sprintf("%s:%d:%s", o, i+2, f))
					}
				}
			}
		}
	}
	for id := range imp.Cells {
		sortCells(imp.Cells[id])
	}
	return imp
}

func printImpact(out io.Writer, imp *patchImpact, reports []nodeReport) {
	fmt.Fprintf(out, "\nCells each patch changed, as FILE:ROW:COLUMN (row 1 is the header; bethel why FILE:ROW:COLUMN explains one)\n")
	fmt.Fprintf(out, "  (%s)\n", imp.Method)
	for _, s := range imp.Skipped {
		fmt.Fprintf(out, "  skipped %s\n", s)
	}
	for _, nr := range reports {
		for _, e := range nr.Report.Patches {
			cells := imp.Cells[e.ID]
			if slices.Contains(imp.NotMeasured, e.ID) {
				fmt.Fprintf(out, "  %s  %s:%d: not measured (see skipped)\n", e.ID, e.File, e.Line)
				continue
			}
			fmt.Fprintf(out, "  %s  %s:%d: %d cells\n", e.ID, e.File, e.Line, len(cells))
			if len(cells) > 0 {
				fmt.Fprintf(out, "    %s\n", strings.Join(cells, "\n    "))
			}
		}
	}
}

// sortCells puts cell targets in file order, then row order (numerically:
// row 2 before row 10), then column.
func sortCells(cells []string) {
	type key struct {
		path string
		row  int
		rest string
	}
	parse := func(c string) key {
		if i := strings.Index(c, "#"); i >= 0 {
			return key{c[:i], 0, c[i:]}
		}
		m := cellTargetRE.FindStringSubmatch(c)
		if m == nil {
			return key{c, 0, ""}
		}
		n, _ := strconv.Atoi(m[2])
		return key{m[1], n, m[3]}
	}
	sort.SliceStable(cells, func(i, j int) bool {
		a, b := parse(cells[i]), parse(cells[j])
		if a.path != b.path {
			return a.path < b.path
		}
		if a.row != b.row {
			return a.row < b.row
		}
		return a.rest < b.rest
	})
}

// cellTargetRE splits PATH:ROW[:COL | (note)].
var cellTargetRE = regexp.MustCompile(`^(.*?):([0-9]+)(.*)$`)
