package stages

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"bethel/pkg/cache"
	"bethel/pkg/explain"
	"bethel/pkg/patch"
	"bethel/pkg/pipeline"
	"bethel/pkg/provenance"
	"bethel/pkg/stage"
)

// introspect gives an Introspective stage run in process (wsBuild) what
// the engine gives it: the static graph and an Explain that walks the
// build's in-memory lineage with pkg/explain, the walk the engine uses.
// Only the glue differs: artifacts come from memory, not from the cache.
func introspect(b *wsBuild, n *pipeline.Node, run *stage.Run) {
	order := map[string]int{}
	for i, x := range b.p.Order {
		order[x.Name] = i
		ni := stage.NodeInfo{Name: x.Name, Stage: x.Stage, Command: x.Run, Inputs: x.InputFiles, Patches: x.PatchFiles,
			Outputs: x.Outputs, Visibility: x.Visibility, Declassify: x.Declassify}
		if st, ok := Registry().Lookup(x.Stage); ok {
			ni.StageVersion = st.Version()
		}
		for _, d := range x.Deps {
			ni.Deps = append(ni.Deps, d.Name)
		}
		slices.Sort(ni.Deps)
		run.Graph = append(run.Graph, ni)
	}
	w := explain.New(memArtifacts{b})
	run.Explain = func(path string) (*stage.Explained, error) {
		if !slices.Contains(n.InputFiles, path) {
			return nil, fmt.Errorf("Explain(%s): not an input of node %s", path, n.Name)
		}
		data, ok := b.outputs[path]
		if !ok {
			return nil, fmt.Errorf("%s is a raw input: %w", path, stage.ErrNoLineage)
		}
		a, err := w.Artifact(path, cache.Sum(data))
		if err != nil {
			return nil, err
		}
		if a.Table == nil {
			return nil, fmt.Errorf("%s: %w", path, stage.ErrNoLineage)
		}
		return explainArtifact(w, a, func(node string) int { return order[node] })
	}
}

// memArtifacts answers explain's questions from a wsBuild.
type memArtifacts struct{ b *wsBuild }

func (m memArtifacts) IsOutput(path string) bool { return m.b.p.Producer[path] != nil }

func (m memArtifacts) Reason(file, id string) string {
	data, err := fs.ReadFile(overlay{mem: m.b.outputs, disk: os.DirFS(m.b.root)}, file)
	if err != nil {
		return ""
	}
	ps, _ := patch.Parse(file, data)
	for _, p := range ps {
		if p.ID == id {
			return p.Reason
		}
	}
	return ""
}

func (m memArtifacts) Artifact(path string, h cache.Hash) (*explain.Artifact, error) {
	n := m.b.p.Producer[path]
	data, ok := m.b.outputs[path]
	if n == nil || !ok || cache.Sum(data) != h {
		return nil, fmt.Errorf("%s: not built: %w", path, provenance.ErrNoRecord)
	}
	a := &explain.Artifact{Path: path, Hash: h, Node: n.Name, Stage: n.Stage, Command: n.Run, Reads: map[string]cache.Hash{}}
	fsys := overlay{mem: m.b.outputs, disk: os.DirFS(m.b.root)}
	for _, l := range [][]string{n.InputFiles, n.PatchFiles} {
		for _, p := range l {
			if d, err := fs.ReadFile(fsys, p); err == nil {
				a.Reads[p] = cache.Sum(d)
			}
		}
	}
	if rec := m.b.lineage[path]; rec != nil {
		t, err := provenance.Open(provenance.Encode(rec))
		if err != nil {
			return nil, err
		}
		a.Table = t
	}
	return a, nil
}

// explainArtifact resolves every cell of a into a stage.Explained, with
// sources and patches renumbered into tables sorted by file and line (the
// contract of stage.Explained).
func explainArtifact(w *explain.Walker, a *explain.Artifact, order func(string) int) (*stage.Explained, error) {
	cells := a.Table.Cells()
	out := &stage.Explained{Path: a.Path, Hash: a.Hash.String()}
	res := make([]*explain.Resolved, len(cells))
	for i, c := range cells {
		r, ok, err := w.CellAt(a.Path, a.Hash, c.Row, c.Col)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s: cell %d:%s unreadable", a.Path, c.Row+1, c.Col)
		}
		res[i] = r
	}
	all := w.Sources()
	srcSet, patSet := map[int32]bool{}, map[int32]bool{}
	var srcIDs, patIDs []int32
	for _, r := range res {
		for _, s := range r.Sources {
			if !srcSet[s] {
				srcSet[s] = true
				srcIDs = append(srcIDs, s)
			}
		}
		for _, p := range r.Patches {
			if !patSet[p] {
				patSet[p] = true
				patIDs = append(patIDs, p)
			}
		}
	}
	slices.SortFunc(srcIDs, func(x, y int32) int {
		return cmp.Or(cmp.Compare(all[x].File, all[y].File), cmp.Compare(all[x].Line, all[y].Line), cmp.Compare(all[x].Key, all[y].Key))
	})
	slices.SortFunc(patIDs, func(x, y int32) int {
		a, b := w.Patch(x), w.Patch(y)
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.ID, b.ID))
	})
	srcMap, patMap := map[int32]int{}, map[int32]int{}
	for i, s := range srcIDs {
		srcMap[s] = i
		out.Sources = append(out.Sources, stage.Source{File: all[s].File, Line: all[s].Line, Key: all[s].Key})
	}
	for i, p := range patIDs {
		patMap[p] = i
		x := w.Patch(p)
		out.Patches = append(out.Patches, stage.PatchRef{ID: x.ID, File: x.File, Line: x.Line})
	}
	for i, c := range cells {
		full, _, _ := a.Table.Cell(c.Row, c.Col)
		ce := stage.CellExplanation{Row: c.Row, Col: c.Col, Derivation: full.Derivation, Fields: full.Fields}
		for _, s := range res[i].Sources {
			ce.Sources = append(ce.Sources, srcMap[s])
		}
		slices.Sort(ce.Sources)
		for _, p := range res[i].Patches {
			ce.Patches = append(ce.Patches, patMap[p])
		}
		slices.Sort(ce.Patches)
		for _, x := range w.Artifacts(res[i]) {
			ce.Nodes = append(ce.Nodes, x.Node)
		}
		slices.SortFunc(ce.Nodes, func(x, y string) int { return cmp.Compare(order(x), order(y)) })
		ce.Nodes = slices.Compact(ce.Nodes)
		out.Cells = append(out.Cells, ce)
	}
	return out, nil
}
