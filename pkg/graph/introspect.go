package graph

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"bethel/pkg/cache"
	"bethel/pkg/explain"
	"bethel/pkg/lineage"
	"bethel/pkg/par"
	"bethel/pkg/pipeline"
	"bethel/pkg/provenance"
	"bethel/pkg/stage"
)

// A stage.Introspective stage (the review site) reads the pipeline itself:
// the static graph and the lineage of its inputs, followed to the raw
// records. This file gives it both and keys the node on what they can
// show, so that the stage stays a pure function of its key:
//
//   - the static definition of every node (names, stages and versions,
//     commands, paths, visibility);
//   - for every node upstream of it, the lineage blob of each output.
//
// Volatile facts (when a node ran, whether it was restored) are not
// exposed, so a rerun upstream that changes nothing the stage can show
// leaves it up to date.

func introspective(r *stage.Registry, n *pipeline.Node) bool {
	if !n.IsStage() {
		return false
	}
	st, ok := r.Lookup(n.Stage)
	if !ok {
		return false
	}
	_, ok = st.(stage.Introspective)
	return ok
}

// graphInfo is the static graph as stages see it.
func (e *engine) graphInfo() []stage.NodeInfo {
	e.graphOnce.Do(func() {
		for _, n := range e.p.Order {
			ni := stage.NodeInfo{
				Name: n.Name, Stage: n.Stage, Command: n.Run,
				Inputs: n.InputFiles, Patches: n.PatchFiles, Outputs: n.Outputs,
				Visibility: n.Visibility, Declassify: n.Declassify,
			}
			if st, ok := e.opts.Registry.Lookup(n.Stage); ok && n.IsStage() {
				ni.StageVersion = st.Version()
			}
			for _, d := range n.Deps {
				ni.Deps = append(ni.Deps, d.Name)
			}
			slices.Sort(ni.Deps)
			ni.Deps = slices.Compact(ni.Deps)
			e.graph = append(e.graph, ni)
		}
	})
	return e.graph
}

// introspectKey adds to an introspective node's description what Graph
// and Explain can show. It runs when every upstream node is done (the
// scheduler decides a node after its dependencies), so the journal holds
// their keys for this build.
func (e *engine) introspectKey(desc *cache.Desc, n *pipeline.Node) {
	var b strings.Builder
	for _, ni := range e.graphInfo() {
		fmt.Fprintf(&b, "%q %q %q %q %q %q %q %q %q %q\n", ni.Name, ni.Stage, ni.StageVersion, ni.Command,
			ni.Inputs, ni.Patches, ni.Outputs, ni.Visibility, ni.Declassify, ni.Deps)
	}
	addKey(desc, kGraph, cache.Sum([]byte(b.String())).String())
	for _, u := range e.p.Closure(n) {
		if u == n {
			continue
		}
		lin := e.lineageOf(u)
		for _, o := range u.Outputs {
			if h, ok := lin[o]; ok {
				addKeyFile(desc, kUpstreamLineage, o, h)
			}
		}
	}
}

// lineageOf returns the lineage blob of each output of u as its last
// build recorded it (from the journal's key and that action's manifest).
func (e *engine) lineageOf(u *pipeline.Node) map[string]cache.Hash {
	st, ok := e.j.get(u.Name)
	if !ok || st.interrupted {
		return nil
	}
	m, err := e.store.GetManifest(st.key)
	if err != nil {
		return nil
	}
	out := map[string]cache.Hash{}
	for _, x := range m.Extra {
		if p, ok := strings.CutPrefix(x.Name, lineageExtraPrefix); ok {
			out[p] = x.Hash
		}
	}
	return out
}

// buildArtifacts answers explain's questions from this build's state: the
// journal and the cache for lineage, the engine's file hashes for what each
// node read. Every node upstream of the asking stage is done, so those are
// the hashes it read.
type buildArtifacts struct {
	e   *engine
	pre *prefetch // lineage blobs being read ahead, or nil
}

func (b *buildArtifacts) IsOutput(path string) bool { return b.e.p.Producer[path] != nil }

func (b *buildArtifacts) Reason(file, id string) string { return "" }

// prefetch holds the lineage blobs a walk is about to load, read on other
// goroutines: the walk reads a summary, then the registrations table, then
// the mapped table it stands on, each a blob to read and hash (megabytes
// at 100,000 records), and they can be read side by side.
type prefetch struct {
	loads map[cache.Hash]*blobLoad // filled before any read starts
}

type blobLoad struct {
	done chan struct{}
	data []byte
	err  error
}

// prefetchLineage starts reading the lineage blobs of paths and of every
// output their nodes read, transitively (what a walk from paths can
// reach).
func (e *engine) prefetchLineage(paths []string) *prefetch {
	var producers []*pipeline.Node
	wanted := map[string]bool{}
	for _, p := range paths {
		if u := e.p.Producer[p]; u != nil {
			producers = append(producers, u)
			wanted[p] = true
		}
	}
	closure := e.p.Closure(producers...)
	for _, u := range closure {
		for _, in := range u.InputFiles {
			wanted[in] = true
		}
	}
	pre := &prefetch{loads: map[cache.Hash]*blobLoad{}}
	var order []cache.Hash
	for _, u := range closure {
		lin := e.lineageOf(u)
		for _, o := range u.Outputs {
			if h, ok := lin[o]; ok && wanted[o] && pre.loads[h] == nil {
				pre.loads[h] = &blobLoad{done: make(chan struct{})}
				order = append(order, h)
			}
		}
	}
	// Upstream first (the closure is in pipeline order): the largest
	// tables, which the walk needs right after the first summary cell.
	// Each load signals its own end; nobody waits for all of them.
	par.Go(len(order), 2, func() func(int) {
		return func(i int) {
			l := pre.loads[order[i]]
			l.data, l.err = e.store.ReadBlob(order[i])
			close(l.done)
		}
	})
	return pre
}

// readBlob is the store's ReadBlob, through the prefetch when it has h.
func (b *buildArtifacts) readBlob(h cache.Hash) ([]byte, error) {
	if b.pre != nil {
		if l := b.pre.loads[h]; l != nil {
			<-l.done
			return l.data, l.err
		}
	}
	return b.e.store.ReadBlob(h)
}

func (b *buildArtifacts) Artifact(path string, h cache.Hash) (*explain.Artifact, error) {
	e := b.e
	n := e.p.Producer[path]
	if n == nil {
		return nil, provenance.ErrNoRecord
	}
	st, ok := e.j.get(n.Name)
	if !ok || st.interrupted {
		return nil, fmt.Errorf("%s: node %s has no finished build: %w", path, n.Name, provenance.ErrNoRecord)
	}
	if rec, ok := st.output(path); !ok || rec != h {
		return nil, fmt.Errorf("%s: its content is not what node %s last built: %w", path, n.Name, provenance.ErrNoRecord)
	}
	a := &explain.Artifact{Path: path, Hash: h, Node: n.Name, Stage: n.Stage, Command: n.Run,
		Reads: make(map[string]cache.Hash, len(n.InputFiles)+len(n.PatchFiles))}
	if st, ok := e.opts.Registry.Lookup(n.Stage); ok && n.IsStage() {
		a.StageVersion = st.Version()
	}
	for _, l := range [][]string{n.InputFiles, n.PatchFiles} {
		for _, p := range l {
			if v := e.file(p); v.err == nil {
				a.Reads[p] = v.h
			}
		}
	}
	lh, ok := e.lineageOf(n)[path]
	if !ok {
		return a, nil // a command node, or lineage off
	}
	data, err := b.readBlob(lh)
	if err != nil {
		return nil, fmt.Errorf("%s: lineage of node %s is not in the cache (%w); run bethel make again", path, n.Name, err)
	}
	if a.Table, err = lineage.Open(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// explainFunc is stage.Run.Explain for node n. One walker serves every
// call of the run, so rows that several inputs count are resolved once.
func (e *engine) explainFunc(n *pipeline.Node) func(...string) (*stage.Explained, error) {
	var (
		mu  sync.Mutex
		src = &buildArtifacts{e: e}
		w   = explain.New(src)
	)
	w.Eager = true
	rank := make(map[string]int, len(e.p.Order))
	for i, x := range e.p.Order {
		rank[x.Name] = i
	}
	order := func(node string) int { return rank[node] }
	return func(paths ...string) (*stage.Explained, error) {
		mu.Lock()
		defer mu.Unlock()
		src.pre = e.prefetchLineage(paths)
		defer func() { src.pre = nil }()
		arts := make([]*explain.Artifact, len(paths))
		for i, path := range paths {
			if !slices.Contains(n.InputFiles, path) {
				return nil, fmt.Errorf("node %s: Explain(%s): not an input of the node", n.Name, path)
			}
			v := e.file(path)
			if v.err != nil {
				return nil, fmt.Errorf("node %s: %s: %w", n.Name, path, v.err)
			}
			a, err := w.Artifact(path, v.h)
			if errors.Is(err, provenance.ErrNoRecord) && e.p.Producer[path] == nil {
				arts[i] = &explain.Artifact{Path: path, Hash: v.h} // a raw input
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", n.Name, err)
			}
			arts[i] = a
		}
		return w.Explain(arts, order)
	}
}
