package stages

import (
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing/fstest"

	"bethel/pkg/graphfile"
	"bethel/pkg/lineage"
	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

// engineInputs gives a stage run in process (wsBuild) the engine artifacts
// its node declares, as the engine serves them: the static graph in
// graphfile's form, and each declared output's lineage encoded from the
// build's recorders (empty when none was recorded). Only the glue differs
// from a real build: artifacts come from memory, not from the cache.
func engineInputs(b *wsBuild, n *pipeline.Node, run *stage.Run) {
	if len(n.EngineInputs) == 0 {
		return
	}
	run.Inputs = append(slices.Clip(n.InputFiles), n.EngineInputs...)
	mem := map[string][]byte{}
	for _, p := range n.EngineInputs {
		if p == stage.GraphInput {
			mem[p] = graphDoc(b.p)
			continue
		}
		o := strings.TrimPrefix(p, stage.LineagePrefix)
		mem[p] = nil
		if rec := b.lineage[o]; rec != nil {
			mem[p] = memBlob(b, o, rec)
		}
	}
	run.FS = engineFS{mem: mem, next: run.FS}
}

// graphDoc is the graph input of p, as the engine makes it.
func graphDoc(p *pipeline.Pipeline) []byte {
	var nodes []graphfile.Node
	for _, x := range p.Order {
		g := graphfile.Node{Name: x.Name, Stage: x.Stage, Command: x.Run, Inputs: x.InputFiles, Patches: x.PatchFiles,
			Outputs: x.Outputs, Visibility: string(x.Visibility), Declassify: x.Declassify}
		if st, ok := Registry().Lookup(x.Stage); ok {
			g.StageVersion = st.Version()
		}
		for _, d := range x.Deps {
			g.Deps = append(g.Deps, d.Name)
		}
		slices.Sort(g.Deps)
		g.Deps = slices.Compact(g.Deps)
		nodes = append(nodes, g)
	}
	return graphfile.Encode(nodes)
}

// engineFS serves engine artifacts from memory and everything else from
// next.
type engineFS struct {
	mem  map[string][]byte
	next fs.FS
}

func (f engineFS) Open(name string) (fs.File, error) {
	if data, ok := f.mem[name]; ok {
		return fstest.MapFS{name: {Data: data}}.Open(name)
	}
	return f.next.Open(name)
}

// Encoding the lineage again on every run would make the site's benchmark
// time the helper instead; the engine reads a stored blob. Blobs are kept
// per build.
var memCache sync.Map // memKey -> []byte

type memKey struct {
	b    *wsBuild
	path string
}

func memBlob(b *wsBuild, path string, rec *lineage.Recorder) []byte {
	k := memKey{b, path}
	if v, ok := memCache.Load(k); ok {
		return v.([]byte)
	}
	data := lineage.Encode(rec)
	memCache.Store(k, data)
	return data
}
