package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/lazyre"
	"bethel/pkg/patch"
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
			h, err := w.ws.recs.Current(o)
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

// impactValues reads the current value of PATH:ROW:COL targets of CSV
// outputs, each file once, with the row's key (its first column); a
// private output's values are withheld unless showPrivate.
type impactValues struct {
	p           *pipeline.Pipeline
	root        string
	showPrivate bool
	tables      map[string]*csvTable
}

func (cv *impactValues) value(target string) (value, key string, ok bool) {
	m := cellTargetRE().FindStringSubmatch(target)
	if m == nil || !strings.HasPrefix(m[3], ":") || !strings.HasSuffix(m[1], ".csv") {
		return "", "", false
	}
	path, col := m[1], m[3][1:]
	row, _ := strconv.Atoi(m[2])
	if n := cv.p.Producer[path]; n != nil && n.Visibility == "private" && !cv.showPrivate {
		return patch.Withheld, "", true
	}
	t, ok := cv.tables[path]
	if !ok {
		t, _ = readTable(cv.root, path)
		cv.tables[path] = t
	}
	if t == nil || row < 2 || row-2 >= len(t.rows) {
		return "", "", false
	}
	c := t.col(col)
	if c < 0 {
		return "", "", false
	}
	r := t.rows[row-2]
	return cell(r, c), cell(r, 0), true
}

func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

// printImpact lists each patch's cells with their values now: a record's
// field with its old and new value (from the patch report), a count with
// the value it has with the patch.
func printImpact(out io.Writer, imp *patchImpact, reports []nodeReport, cv *impactValues) {
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
			// A record's field: the patch report knows its old value.
			old := map[string]string{}
			for _, c := range e.Changes {
				if c.Field != "" && c.Op == patch.Set {
					old[c.Key+"\x00"+c.Field] = c.Old
				}
			}
			for _, c := range cells {
				v, key, ok := cv.value(c)
				col := c[strings.LastIndexByte(c, ':')+1:]
				o, isField := old[key+"\x00"+col]
				switch {
				case !ok:
					fmt.Fprintf(out, "    %s\n", c)
				case v == patch.Withheld:
					fmt.Fprintf(out, "    %s  %s\n", c, v)
				case isField:
					fmt.Fprintf(out, "    %s  %q -> %q\n", c, o, v)
				default:
					fmt.Fprintf(out, "    %s  now %q\n", c, v)
				}
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
		m := cellTargetRE().FindStringSubmatch(c)
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
var cellTargetRE = lazyre.New(`^(.*?):([0-9]+)(.*)$`)
