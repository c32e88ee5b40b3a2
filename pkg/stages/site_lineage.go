package stages

import (
	"fmt"
	"sort"

	"bethel/pkg/site"
	"bethel/pkg/stage"
)

// siteLineage merges the Explained lineage of several artifacts into the
// one source table and one patch table the site ships (lineage.js), so that
// a registration counted in ten summaries is listed once.
type siteLineage struct {
	arts  []siteArtifact
	cells map[string]*site.Cell
}

type siteArtifact struct {
	ex    *stage.Explained
	cells []siteCell
}

type siteCell struct {
	id, value string
	c         *stage.CellExplanation
}

func sourceLess(a, b stage.Source) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Key < b.Key
}

func patchLess(a, b stage.PatchRef) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.ID < b.ID
}

// add keeps the cells of ex whose column is in cols; value gives the
// cell's value as the artifact holds it (false: no such cell).
func (l *siteLineage) add(ex *stage.Explained, cols map[string]bool, value func(row int, col string) (string, bool)) error {
	for i := 1; i < len(ex.Sources); i++ {
		if !sourceLess(ex.Sources[i-1], ex.Sources[i]) {
			return fmt.Errorf("lineage of %s: source records not sorted by file, line and key (at %s:%d)", ex.Path, ex.Sources[i].File, ex.Sources[i].Line)
		}
	}
	a := siteArtifact{ex: ex}
	for i := range ex.Cells {
		c := &ex.Cells[i]
		if !cols[c.Col] || c.Row < 0 {
			continue
		}
		v, ok := value(c.Row, c.Col)
		if !ok {
			return fmt.Errorf("lineage of %s names row %d column %s, which the file does not have", ex.Path, c.Row+1, c.Col)
		}
		for _, k := range c.Sources {
			if k < 0 || k >= len(ex.Sources) {
				return fmt.Errorf("lineage of %s row %d column %s: source index %d out of range", ex.Path, c.Row+1, c.Col, k)
			}
		}
		for _, k := range c.Patches {
			if k < 0 || k >= len(ex.Patches) {
				return fmt.Errorf("lineage of %s row %d column %s: patch index %d out of range", ex.Path, c.Row+1, c.Col, k)
			}
		}
		a.cells = append(a.cells, siteCell{id: site.CellID(ex.Path, c.Row+1, c.Col), value: v, c: c})
	}
	l.arts = append(l.arts, a)
	return nil
}

// result builds the shared tables: the union of every artifact's sorted
// sources by merging (no map: a 100,000-row event has that many sources
// per summary), then each artifact's indexes mapped into it, which keeps
// them ascending.
func (l *siteLineage) result() *site.Lineage {
	var union []stage.Source
	for _, a := range l.arts {
		union = mergeSources(union, a.ex.Sources)
	}
	patchAt := map[stage.PatchRef]int{}
	var patches []stage.PatchRef
	for _, a := range l.arts {
		for _, p := range a.ex.Patches {
			if _, ok := patchAt[p]; !ok {
				patchAt[p] = 0
				patches = append(patches, p)
			}
		}
	}
	sort.Slice(patches, func(i, j int) bool { return patchLess(patches[i], patches[j]) })
	out := &site.Lineage{Cells: l.cells}
	for i, p := range patches {
		patchAt[p] = i
		out.Patches = append(out.Patches, site.PatchRef{ID: p.ID, File: p.File, Line: p.Line})
	}
	out.Sources = make([]site.Source, len(union))
	for i, s := range union {
		out.Sources[i] = site.Source{File: s.File, Line: s.Line, Key: s.Key}
	}
	for _, a := range l.arts {
		srcMap := make([]int, len(a.ex.Sources))
		j := 0
		for i, s := range a.ex.Sources {
			for sourceLess(union[j], s) {
				j++
			}
			srcMap[i] = j
		}
		for _, sc := range a.cells {
			c := &site.Cell{Value: sc.value, Derivation: sc.c.Derivation, Fields: sc.c.Fields, Nodes: sc.c.Nodes,
				Sources: make([]int, len(sc.c.Sources))}
			for k, x := range sc.c.Sources {
				c.Sources[k] = srcMap[x]
			}
			if !sort.IntsAreSorted(c.Sources) {
				sort.Ints(c.Sources)
			}
			for _, x := range sc.c.Patches {
				c.Patches = append(c.Patches, patchAt[a.ex.Patches[x]])
			}
			sort.Ints(c.Patches)
			out.Cells[sc.id] = c
		}
	}
	return out
}

// mergeSources is the sorted union of two sorted source lists.
func mergeSources(a, b []stage.Source) []stage.Source {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	if sameSources(a, b) {
		return a
	}
	out := make([]stage.Source, 0, len(a)+len(b)/8)
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case sourceLess(a[i], b[j]):
			out = append(out, a[i])
			i++
		case sourceLess(b[j], a[i]):
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

func sameSources(a, b []stage.Source) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// cellsByPatch lists, per patch id, the cells whose lineage names the
// patch, in id order.
func (l *siteLineage) cellsByPatch(lin *site.Lineage) map[string][]string {
	ids := make([]string, 0, len(lin.Cells))
	for id := range lin.Cells {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := map[string][]string{}
	for _, id := range ids {
		for _, p := range lin.Cells[id].Patches {
			pid := lin.Patches[p].ID
			out[pid] = append(out[pid], id)
		}
	}
	return out
}
