package explain

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	"bethel/pkg/lineage"
	"bethel/pkg/par"
)

// Explain resolves every recorded cell of arts (artifacts with lineage;
// a nil entry stands for an input without any, reported as NoLineage) in
// the form stages see (Explained): the sources and patches the cells
// reach are renumbered into tables shared by all the artifacts, sorted by
// file and line, and order ranks node names for each cell's chain.
//
// A TOTAL cell of a large event names every record, so the renumbering
// uses dense tables indexed by the walker's numbers, never maps; and when
// the walker's own numbering already is the sorted table (an eager walk
// over an export numbers records in file order), cells keep the lists the
// walk made instead of copying them. Cells counting the same rows share
// one list in the answer: a caller must not change the lists.
func (w *Walker) Explain(arts []*Artifact, order func(node string) int) (*Explained, error) {
	type artCells struct {
		a    *Artifact
		res  []*Resolved
		rows []int
		cols []string
	}
	var all []artCells
	// Cells counting rows of a dense table are resolved in a batch, on
	// two goroutines (resolveDense); the others one by one here.
	var jobs []denseJob
	for _, a := range arts {
		if a == nil || a.Table == nil {
			all = append(all, artCells{a: a})
			continue
		}
		x, err := w.artifact(a.Path, a.Hash)
		if err != nil {
			return nil, err
		}
		cells := a.Table.Cells()
		ac := artCells{a: a, res: make([]*Resolved, len(cells))}
		for i, c := range cells {
			ac.rows = append(ac.rows, c.Row)
			ac.cols = append(ac.cols, c.Col)
			if r := x.cells[cellKey{c.Row, c.Col}]; r != nil {
				ac.res[i] = r
				continue
			}
			if w.Eager {
				c, rows, one, err := a.Table.CellAtIndex(i)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", a.Path, err)
				}
				if one {
					child, err := w.denseInput(x, c, rows)
					if err != nil {
						return nil, err
					}
					if child != nil {
						jobs = append(jobs, denseJob{x: x, i: i, c: c, rows: rows, child: child, res: &ac.res[i]})
						continue
					}
				}
			}
			r, ok, err := w.cellIdx(x, i)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%s: lineage of cell %d:%s is unreadable", a.Path, c.Row+1, c.Col)
			}
			ac.res[i] = r
		}
		all = append(all, ac)
	}
	w.resolveDense(jobs)
	for _, j := range jobs {
		if *j.res != nil {
			continue
		}
		// Not of the dense shape after all (a row counted twice): the
		// general walk answers.
		r, ok, err := w.cellIdx(j.x, j.i)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s: lineage of cell %d:%s is unreadable", j.x.Path, j.c.Row+1, j.c.Col)
		}
		*j.res = r
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
	var lists [][]int32 // distinct source lists
	patMap := make([]int32, len(w.patches))
	for _, ac := range all {
		for _, r := range ac.res {
			if k := key(r.Sources); !seen[k] {
				seen[k] = true
				lists = append(lists, r.Sources)
			}
			for _, p := range r.Patches {
				if patMap[p] == 0 {
					patMap[p] = -1
					patIDs = append(patIDs, p)
				}
			}
		}
	}
	// Two goroutines mark the reached sources, each its half of the
	// walker's numbers (the lists ascend: each takes its part of each).
	mid := int32(len(srcMap) / 2)
	halves(lists, mid, func(l []int32) {
		for _, s := range l {
			srcMap[s] = -1
		}
	})
	// In the walker's order, which sortSources checks or fixes: a scan
	// instead of sorting a hundred thousand numbers.
	for s, m := range srcMap {
		if m != 0 {
			srcIDs = append(srcIDs, int32(s))
		}
	}
	w.sortSources(srcIDs)
	identity := true
	out := &Explained{Sources: make([]Source, len(srcIDs))}
	// Every key the answer names, in one string: one allocation instead
	// of one per record.
	keys := string(w.keys)
	for i, s := range srcIDs {
		srcMap[s] = int32(i) + 1
		identity = identity && s == int32(i)
		x := &w.srcs[s]
		out.Sources[i] = Source{File: w.fileNames[x.file], Line: x.line, Key: keys[x.key : x.key+int(x.klen)]}
	}
	slices.SortFunc(patIDs, func(x, y int32) int {
		a, b := w.patches[x], w.patches[y]
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.ID, b.ID))
	})
	for i, p := range patIDs {
		patMap[p] = int32(i) + 1
		x := w.Patch(p)
		out.Patches = append(out.Patches, PatchRef{ID: x.ID, File: x.File, Line: x.Line})
	}

	renumbered := map[list][]int32{}
	if !identity {
		// Each list once, both halves at once.
		outs := make([][]int32, len(lists))
		for i, l := range lists {
			outs[i] = make([]int32, len(l))
			renumbered[key(l)] = outs[i]
		}
		halvesOut(lists, outs, mid, func(l, out []int32) {
			for k, s := range l {
				out[k] = srcMap[s] - 1
			}
		})
		for _, out := range outs {
			if !slices.IsSorted(out) {
				slices.Sort(out)
			}
		}
	}
	for _, ac := range all {
		ea := ExplainedArtifact{NoLineage: ac.a == nil || ac.a.Table == nil}
		if ac.a != nil {
			ea.Path, ea.Hash = ac.a.Path, hex.EncodeToString(ac.a.Hash[:])
		}
		ea.Cells = make([]CellExplanation, len(ac.res))
		for i, r := range ac.res {
			ce := CellExplanation{Row: ac.rows[i], Col: ac.cols[i], Derivation: r.Derivation, Fields: r.Fields}
			if identity {
				ce.Sources = r.Sources
			} else {
				ce.Sources = renumbered[key(r.Sources)]
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

// denseJob is a cell of x counting rows of the dense artifact child.
type denseJob struct {
	x     *art
	i     int
	c     lineage.Cell
	rows  lineage.CellRows
	child *art
	res   **Resolved // where the answer goes; left nil when it does not fit
}

// resolveDense resolves the jobs: their distinct row sets on two
// goroutines (denseSetOf only reads the walker), the rest here.
func (w *Walker) resolveDense(jobs []denseJob) {
	type setJob struct {
		child *art
		rows  lineage.CellRows
		set   *denseSet
	}
	var todo []*setJob
	byRows := map[*art]map[string]*setJob{}
	jobSet := make([]*setJob, len(jobs))
	for i, j := range jobs {
		m := byRows[j.child]
		if m == nil {
			m = map[string]*setJob{}
			byRows[j.child] = m
		}
		sj := m[string(j.rows.Encoded())]
		if sj == nil || sj.rows.N != j.rows.N {
			sj = &setJob{child: j.child, rows: j.rows, set: j.child.dense.set(j.rows)}
			m[string(j.rows.Encoded())] = sj
			if sj.set == nil {
				todo = append(todo, sj)
			}
		}
		jobSet[i] = sj
	}
	par.Go(len(todo), 2, func() func(int) {
		var buf []int32
		return func(i int) {
			sj := todo[i]
			var ok bool
			if buf, ok = sj.rows.AppendRows(buf[:0]); ok {
				sj.set = denseSetOf(sj.child, w.chains, buf)
			}
		}
	})()
	for _, sj := range todo {
		if sj.set != nil {
			sj.child.dense.sets[string(sj.rows.Encoded())] = sj.set
		}
	}
	for i, j := range jobs {
		if set := jobSet[i].set; set != nil {
			r := w.denseResolved(j.x, j.c, j.child, set)
			j.x.cells[cellKey{j.c.Row, j.c.Col}] = r
			*j.res = r
		}
	}
}

// halves calls f on the parts of each ascending list below mid on one
// goroutine and on the parts from mid on another.
func halves(lists [][]int32, mid int32, f func(l []int32)) {
	halvesOut(lists, make([][]int32, len(lists)), mid, func(l, _ []int32) { f(l) })
}

// halvesOut is halves for a function that also writes outs[i], as long
// as lists[i]: each half of a list with the same half of its out.
func halvesOut(lists, outs [][]int32, mid int32, f func(l, out []int32)) {
	cuts := make([]int, len(lists))
	for i, l := range lists {
		cuts[i], _ = slices.BinarySearch(l, mid)
	}
	part := func(i int, low bool) ([]int32, []int32) {
		l, out, c := lists[i], outs[i], cuts[i]
		if out == nil {
			out = make([]int32, 0) // f ignores it
		} else if low {
			out = out[:c]
		} else {
			out = out[c:]
		}
		if low {
			return l[:c], out
		}
		return l[c:], out
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range lists {
			f(part(i, true))
		}
	})
	for i := range lists {
		f(part(i, false))
	}
	wg.Wait()
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

// Explained is the lineage of every cell of some artifacts, each cell
// followed through the DAG to the raw source records it derives from.
// Sources and Patches are tables shared by every artifact asked about;
// cells name them by index, so that a TOTAL cell over a million records
// is a list of numbers and a record counted in ten summaries is listed
// once.
type Explained struct {
	Sources   []Source   // distinct raw source records, sorted by file, line, key
	Patches   []PatchRef // distinct patches, sorted by file, line, id
	Artifacts []ExplainedArtifact
}

// ExplainedArtifact is one artifact of an Explained, in the order they
// were asked for.
type ExplainedArtifact struct {
	Path string
	// Hash is the artifact's content hash in hex.
	Hash string
	// NoLineage is set when the artifact has no cell lineage to explain:
	// a raw input, the output of a command node, or a build with lineage
	// switched off (BETHEL_LINEAGE=off). Cells is then empty.
	NoLineage bool
	Cells     []CellExplanation
}

// PatchRef is a patch that set a field some cell reads. Lineage names a
// patch by id and place only; a caller that shows its reason or author
// reads them elsewhere (the review site, from the corrections report).
type PatchRef struct {
	ID   string
	File string
	Line int
}

// CellExplanation is one cell of an ExplainedArtifact. Cells that count
// the same records may share one Sources (and Patches) slice: callers read
// them and never change them.
type CellExplanation struct {
	// Row is the 0-based data row of a CSV output (header excluded), or
	// -1 for a JSON value; Col is the header name, or the JSON pointer.
	Row        int
	Col        string
	Derivation string
	Fields     []string
	// Nodes is the chain of node names from the raw inputs to the node
	// that wrote the artifact.
	Nodes   []string
	Sources []int32 // indexes into Explained.Sources, ascending
	Patches []int32 // indexes into Explained.Patches, ascending
}
