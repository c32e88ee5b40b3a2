package stages

import (
	"fmt"
	"sort"

	"bethel/pkg/explain"
	"bethel/pkg/site"
)

// siteLineage turns the Explained lineage of the site's inputs (one
// answer for all of them, whose source and patch tables are already shared,
// so a registration counted in ten summaries is listed once) into the
// site's lineage.js tables.
type siteLineage struct {
	ex    *explain.Explained
	cells map[string]*site.Cell
}

func sourceLess(a, b explain.Source) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Key < b.Key
}

func patchLess(a, b explain.PatchRef) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.ID < b.ID
}

// check refuses an answer whose tables are not sorted: the site's
// indexes would name the wrong records without anyone noticing.
func (l *siteLineage) check(ex *explain.Explained) error {
	for i := 1; i < len(ex.Sources); i++ {
		if !sourceLess(ex.Sources[i-1], ex.Sources[i]) {
			return fmt.Errorf("lineage: source records not sorted by file, line and key (at %s:%d)", ex.Sources[i].File, ex.Sources[i].Line)
		}
	}
	for i := 1; i < len(ex.Patches); i++ {
		if !patchLess(ex.Patches[i-1], ex.Patches[i]) {
			return fmt.Errorf("lineage: patches not sorted by file, line and id (at %s)", ex.Patches[i].ID)
		}
	}
	l.ex = ex
	return nil
}

// add keeps the cells of artifact a (of l's answer) whose column is in
// cols; value gives the cell's value as the artifact holds it (false: no
// such cell).
func (l *siteLineage) add(a *explain.ExplainedArtifact, cols map[string]bool, value func(row int, col string) (string, bool)) error {
	for i := range a.Cells {
		c := &a.Cells[i]
		if !cols[c.Col] || c.Row < 0 {
			continue
		}
		v, ok := value(c.Row, c.Col)
		if !ok {
			return fmt.Errorf("lineage of %s names row %d column %s, which the file does not have", a.Path, c.Row+1, c.Col)
		}
		// The engine's lists ascend (site.Write checks it), so the ends
		// bound them.
		for _, k := range ends(c.Sources) {
			if k < 0 || int(k) >= len(l.ex.Sources) {
				return fmt.Errorf("lineage of %s row %d column %s: source index %d out of range", a.Path, c.Row+1, c.Col, k)
			}
		}
		for _, k := range c.Patches {
			if k < 0 || int(k) >= len(l.ex.Patches) {
				return fmt.Errorf("lineage of %s row %d column %s: patch index %d out of range", a.Path, c.Row+1, c.Col, k)
			}
		}
		// The index lists are shared, not copied: a TOTAL cell of a large
		// event lists every record.
		l.cells[site.CellID(a.Path, c.Row+1, c.Col)] = &site.Cell{Value: v, Derivation: c.Derivation, Fields: c.Fields,
			Nodes: c.Nodes, Sources: c.Sources, Patches: c.Patches}
	}
	return nil
}

// ends is the first and last index of a list.
func ends(l []int32) []int32 {
	if len(l) == 0 {
		return nil
	}
	return []int32{l[0], l[len(l)-1]}
}

// result is the site's lineage: the answer's tables and the kept cells.
func (l *siteLineage) result() *site.Lineage {
	out := &site.Lineage{Cells: l.cells}
	if l.ex == nil {
		return out
	}
	out.Sources = make([]site.Source, len(l.ex.Sources))
	for i, s := range l.ex.Sources {
		out.Sources[i] = site.Source{File: s.File, Line: s.Line, Key: s.Key}
	}
	for _, p := range l.ex.Patches {
		out.Patches = append(out.Patches, site.PatchRef{ID: p.ID, File: p.File, Line: p.Line})
	}
	return out
}

// patchAt names a patch by where it is written: its id may be withheld.
type patchAt struct {
	file string
	line int
}

// cellsByPatch lists, per patch, the cells whose lineage names it, in
// cell id order.
func (l *siteLineage) cellsByPatch(lin *site.Lineage) map[patchAt][]string {
	ids := make([]string, 0, len(lin.Cells))
	for id := range lin.Cells {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := map[patchAt][]string{}
	for _, id := range ids {
		for _, p := range lin.Cells[id].Patches {
			at := patchAt{lin.Patches[p].File, lin.Patches[p].Line}
			out[at] = append(out[at], id)
		}
	}
	return out
}
