package stages

import (
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"bethel/pkg/cache"
	"bethel/pkg/explain"
	"bethel/pkg/lineage"
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
	w.Eager = true
	calls := 0
	run.Explain = func(paths ...string) (*stage.Explained, error) {
		// The site asks once, for every table: a second question means
		// its early guess at the tables (earlyPaths) was wrong.
		if calls++; calls > 1 {
			siteExplainRepeats.Add(1)
		}
		arts := make([]*explain.Artifact, len(paths))
		for i, path := range paths {
			if !slices.Contains(n.InputFiles, path) {
				return nil, fmt.Errorf("Explain(%s): not an input of node %s", path, n.Name)
			}
			data, ok := b.outputs[path]
			if !ok {
				continue // a raw input: no lineage
			}
			a, err := w.Artifact(path, cache.Sum(data))
			if err != nil {
				return nil, err
			}
			arts[i] = a
		}
		return w.Explain(arts, func(node string) int { return order[node] })
	}
}

// siteExplainRepeats counts the site runs that asked Explain more than once.
var siteExplainRepeats atomic.Int64

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
	_, ok := m.b.outputs[path]
	if n == nil || !ok {
		return nil, fmt.Errorf("%s: not built: %w", path, provenance.ErrNoRecord)
	}
	if got, _ := memHash(m.b, overlay{mem: m.b.outputs, disk: os.DirFS(m.b.root)}, path); got != h {
		return nil, fmt.Errorf("%s: not built: %w", path, provenance.ErrNoRecord)
	}
	a := &explain.Artifact{Path: path, Hash: h, Node: n.Name, Stage: n.Stage, Command: n.Run, Reads: map[string]cache.Hash{}}
	fsys := overlay{mem: m.b.outputs, disk: os.DirFS(m.b.root)}
	for _, l := range [][]string{n.InputFiles, n.PatchFiles} {
		for _, p := range l {
			if h, ok := memHash(m.b, fsys, p); ok {
				a.Reads[p] = h
			}
		}
	}
	if rec := m.b.lineage[path]; rec != nil {
		t, err := lineage.Open(memBlob(m.b, path, rec))
		if err != nil {
			return nil, err
		}
		a.Table = t
	}
	return a, nil
}

// The engine reads a stored blob and knows every file's hash; encoding the
// lineage and hashing the files again on every call would make the site's
// benchmark time the helper instead. Both are kept per build.
var memCache sync.Map // memKey -> []byte (blob) or cache.Hash

type memKey struct {
	b    *wsBuild
	kind string
	path string
}

func memBlob(b *wsBuild, path string, rec *lineage.Recorder) []byte {
	k := memKey{b, "blob", path}
	if v, ok := memCache.Load(k); ok {
		return v.([]byte)
	}
	data := lineage.Encode(rec)
	memCache.Store(k, data)
	return data
}

func memHash(b *wsBuild, fsys fs.FS, path string) (cache.Hash, bool) {
	k := memKey{b, "hash", path}
	if v, ok := memCache.Load(k); ok {
		return v.(cache.Hash), true
	}
	d, err := fs.ReadFile(fsys, path)
	if err != nil {
		return cache.Hash{}, false
	}
	h := cache.Sum(d)
	memCache.Store(k, h)
	return h, true
}
