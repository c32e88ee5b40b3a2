package explain

import (
	"cmp"
	"fmt"
	"slices"

	"bethel/pkg/stage"
)

// Explain resolves every recorded cell of arts (artifacts with lineage;
// a nil entry stands for an input without any, reported as NoLineage) in
// the form stages see (stage.Explained): the sources and patches the cells
// reach are renumbered into tables shared by all the artifacts, sorted by
// file and line, and order ranks node names for each cell's chain.
//
// A TOTAL cell of a large event names every record, so the renumbering
// uses dense tables indexed by the walker's numbers, never maps; and when
// the walker's own numbering already is the sorted table (an eager walk
// over an export numbers records in file order), cells keep the lists the
// walk made instead of copying them.
func (w *Walker) Explain(arts []*Artifact, order func(node string) int) (*stage.Explained, error) {
	type artCells struct {
		a    *Artifact
		res  []*Resolved
		rows []int
		cols []string
	}
	var all []artCells
	for _, a := range arts {
		if a == nil || a.Table == nil {
			all = append(all, artCells{a: a})
			continue
		}
		x, err := w.artifact(a.Path, a.Hash)
		if err != nil {
			return nil, err
		}
		ac := artCells{a: a}
		for i, c := range a.Table.Cells() {
			r, ok, err := w.cellIdx(x, i)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%s: lineage of cell %d:%s is unreadable", a.Path, c.Row+1, c.Col)
			}
			ac.res = append(ac.res, r)
			ac.rows = append(ac.rows, c.Row)
			ac.cols = append(ac.cols, c.Col)
		}
		all = append(all, ac)
	}

	// Cells counting the same rows share one list of sources (denseSet):
	// each list is read once here and renumbered once below.
	type list struct {
		first *int32
		n     int
	}
	key := func(l []int32) list {
		if len(l) == 0 {
			return list{}
		}
		return list{&l[0], len(l)}
	}
	seen := map[list]bool{}
	srcMap := make([]int32, len(w.srcs)) // walker's number -> ours+1; 0: not reached
	var srcIDs, patIDs []int32
	patMap := make([]int32, len(w.patches))
	for _, ac := range all {
		for _, r := range ac.res {
			if k := key(r.Sources); !seen[k] {
				seen[k] = true
				for _, s := range r.Sources {
					srcMap[s] = -1
				}
			}
			for _, p := range r.Patches {
				if patMap[p] == 0 {
					patMap[p] = -1
					patIDs = append(patIDs, p)
				}
			}
		}
	}
	// In the walker's order, which sortSources checks or fixes: a scan
	// instead of sorting a hundred thousand numbers.
	for s, m := range srcMap {
		if m != 0 {
			srcIDs = append(srcIDs, int32(s))
		}
	}
	w.sortSources(srcIDs)
	identity := true
	out := &stage.Explained{Sources: make([]stage.Source, len(srcIDs))}
	// Every key the answer names, in one string: one allocation instead
	// of one per record.
	keys := string(w.keys)
	for i, s := range srcIDs {
		srcMap[s] = int32(i) + 1
		identity = identity && s == int32(i)
		x := &w.srcs[s]
		out.Sources[i] = stage.Source{File: w.fileNames[x.file], Line: x.line, Key: keys[x.key : x.key+int(x.klen)]}
	}
	slices.SortFunc(patIDs, func(x, y int32) int {
		a, b := w.patches[x], w.patches[y]
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.ID, b.ID))
	})
	for i, p := range patIDs {
		patMap[p] = int32(i) + 1
		x := w.Patch(p)
		out.Patches = append(out.Patches, stage.PatchRef{ID: x.ID, File: x.File, Line: x.Line})
	}

	renumbered := map[list][]int32{}
	for _, ac := range all {
		ea := stage.ExplainedArtifact{NoLineage: ac.a == nil || ac.a.Table == nil}
		if ac.a != nil {
			ea.Path, ea.Hash = ac.a.Path, ac.a.Hash.String()
		}
		ea.Cells = make([]stage.CellExplanation, len(ac.res))
		for i, r := range ac.res {
			ce := stage.CellExplanation{Row: ac.rows[i], Col: ac.cols[i], Derivation: r.Derivation, Fields: r.Fields}
			if identity {
				ce.Sources = r.Sources
			} else if l, ok := renumbered[key(r.Sources)]; ok {
				ce.Sources = l
			} else {
				ce.Sources = make([]int32, len(r.Sources))
				for k, s := range r.Sources {
					ce.Sources[k] = srcMap[s] - 1
				}
				if !slices.IsSorted(ce.Sources) {
					slices.Sort(ce.Sources)
				}
				renumbered[key(r.Sources)] = ce.Sources
			}
			ce.Patches = make([]int32, len(r.Patches))
			for k, p := range r.Patches {
				ce.Patches[k] = patMap[p] - 1
			}
			slices.Sort(ce.Patches)
			for _, x := range w.Artifacts(r) {
				ce.Nodes = append(ce.Nodes, x.Node)
			}
			slices.SortFunc(ce.Nodes, func(x, y string) int { return cmp.Compare(order(x), order(y)) })
			ce.Nodes = slices.Compact(ce.Nodes)
			ea.Cells[i] = ce
		}
		out.Artifacts = append(out.Artifacts, ea)
	}
	return out, nil
}

// sortSources sorts walker source numbers by (file, line, key). An eager
// walker numbers sources in the order of the rows it resolves, which is
// file order for an export and the patches after it: sorting the numbers
// is then enough, and one pass checks it. Otherwise the files are ranked
// once: string comparisons per pair would dominate at a hundred thousand
// records.
func (w *Walker) sortSources(ids []int32) {
	if !slices.IsSorted(ids) {
		slices.Sort(ids)
	}
	key := func(r *srcRec) string { return string(w.keys[r.key : r.key+int(r.klen)]) }
	before := func(x, y *srcRec) bool {
		if x.file != y.file {
			return w.fileNames[x.file] < w.fileNames[y.file]
		}
		if x.line != y.line {
			return x.line < y.line
		}
		return key(x) < key(y)
	}
	inOrder := true
	for i := 1; i < len(ids) && inOrder; i++ {
		inOrder = before(&w.srcs[ids[i-1]], &w.srcs[ids[i]])
	}
	if inOrder {
		return
	}
	rankOf := make([]int, len(w.fileNames))
	names := slices.Clone(w.fileNames)
	slices.Sort(names)
	for f, name := range w.fileNames {
		rankOf[f], _ = slices.BinarySearch(names, name)
	}
	rank := make([]uint64, len(w.srcs))
	for _, s := range ids {
		r := &w.srcs[s]
		rank[s] = uint64(rankOf[r.file])<<40 | uint64(r.line)
	}
	slices.SortFunc(ids, func(x, y int32) int {
		if c := cmp.Compare(rank[x], rank[y]); c != 0 {
			return c
		}
		return cmp.Compare(key(&w.srcs[x]), key(&w.srcs[y]))
	})
}
