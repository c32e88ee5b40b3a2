package explain

import (
	"cmp"
	"fmt"
	"slices"

	"bethel/pkg/stage"
)

// Explain resolves every recorded cell of a (an artifact with lineage) in
// the form stages see (stage.Explained): the sources and patches the cells
// reach are renumbered into tables of their own, sorted by file and line,
// and order ranks node names for each cell's chain. A TOTAL cell of a
// large event names every record, so the renumbering uses dense tables
// indexed by the walker's numbers, never maps.
func (w *Walker) Explain(a *Artifact, order func(node string) int) (*stage.Explained, error) {
	cells := a.Table.Cells()
	res := make([]*Resolved, len(cells))
	for i, c := range cells {
		r, ok, err := w.CellAt(a.Path, a.Hash, c.Row, c.Col)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s: lineage of cell %d:%s is unreadable", a.Path, c.Row+1, c.Col)
		}
		res[i] = r
	}
	out := &stage.Explained{Path: a.Path, Hash: a.Hash.String(), Cells: make([]stage.CellExplanation, len(cells))}
	all := w.Sources()
	srcMap := make([]int32, len(all)) // walker's source number -> ours+1; 0: not reached
	var srcIDs, patIDs []int32
	patMap := map[int32]int{}
	for _, r := range res {
		for _, s := range r.Sources {
			if srcMap[s] == 0 {
				srcMap[s] = -1
				srcIDs = append(srcIDs, s)
			}
		}
		for _, p := range r.Patches {
			if _, ok := patMap[p]; !ok {
				patMap[p] = -1
				patIDs = append(patIDs, p)
			}
		}
	}
	// Sort by (file, line, key). An eager walker numbers sources in the
	// order of the rows it resolves, which is file order for an export
	// and the patches after it: sorting the numbers is then enough, and a
	// check in one pass says so. Otherwise rank the files once: string
	// comparisons per pair would dominate at a hundred thousand records.
	slices.Sort(srcIDs)
	before := func(x, y Source) bool {
		if x.File != y.File {
			return x.File < y.File
		}
		if x.Line != y.Line {
			return x.Line < y.Line
		}
		return x.Key < y.Key
	}
	inOrder := true
	for i := 1; i < len(srcIDs) && inOrder; i++ {
		inOrder = before(all[srcIDs[i-1]], all[srcIDs[i]])
	}
	if !inOrder {
		files := map[string]int{}
		for _, s := range srcIDs {
			files[all[s].File] = 0
		}
		names := make([]string, 0, len(files))
		for f := range files {
			names = append(names, f)
		}
		slices.Sort(names)
		for i, f := range names {
			files[f] = i
		}
		rank := make([]uint64, len(all))
		for _, s := range srcIDs {
			rank[s] = uint64(files[all[s].File])<<40 | uint64(all[s].Line)
		}
		slices.SortFunc(srcIDs, func(x, y int32) int {
			if c := cmp.Compare(rank[x], rank[y]); c != 0 {
				return c
			}
			return cmp.Compare(all[x].Key, all[y].Key)
		})
	}
	out.Sources = make([]stage.Source, len(srcIDs))
	for i, s := range srcIDs {
		srcMap[s] = int32(i) + 1
		x := all[s]
		out.Sources[i] = stage.Source{File: x.File, Line: x.Line, Key: x.Key}
	}
	for _, p := range patIDs {
		x := w.Patch(p)
		out.Patches = append(out.Patches, stage.PatchRef{ID: x.ID, File: x.File, Line: x.Line})
	}
	byPos := make([]int, len(patIDs))
	for i := range byPos {
		byPos[i] = i
	}
	slices.SortFunc(byPos, func(i, j int) int {
		a, b := out.Patches[i], out.Patches[j]
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.ID, b.ID))
	})
	sorted := make([]stage.PatchRef, len(byPos))
	for k, i := range byPos {
		sorted[k] = out.Patches[i]
		patMap[patIDs[i]] = k
	}
	out.Patches = sorted
	for i, c := range cells {
		r := res[i]
		ce := stage.CellExplanation{Row: c.Row, Col: c.Col, Derivation: r.Derivation, Fields: r.Fields,
			Sources: make([]int, len(r.Sources)), Patches: make([]int, len(r.Patches))}
		for k, s := range r.Sources {
			ce.Sources[k] = int(srcMap[s] - 1)
		}
		if !slices.IsSorted(ce.Sources) {
			slices.Sort(ce.Sources)
		}
		for k, p := range r.Patches {
			ce.Patches[k] = patMap[p]
		}
		slices.Sort(ce.Patches)
		for _, x := range w.Artifacts(r) {
			ce.Nodes = append(ce.Nodes, x.Node)
		}
		slices.SortFunc(ce.Nodes, func(x, y string) int { return cmp.Compare(order(x), order(y)) })
		ce.Nodes = slices.Compact(ce.Nodes)
		out.Cells[i] = ce
	}
	return out, nil
}
