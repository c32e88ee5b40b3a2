package stages

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"bethel/pkg/explain"
	"bethel/pkg/graphfile"
	"bethel/pkg/lineage"
	"bethel/pkg/par"
	"bethel/pkg/stage"
)

// The site reads what the engine knows as declared inputs: the pipeline's
// graph (stage.GraphInput) and the cell lineage of the summaries it shows
// (stage.LineagePrefix+path, which brings the lineage of every output
// upstream). It walks that lineage to the raw records with pkg/explain.

// readGraph decodes the graph input, which the site requires: it draws
// the pipeline and checks that it reads no private output.
func readGraph(r *stage.Run) ([]graphfile.Node, error) {
	if !slices.Contains(r.Inputs, stage.GraphInput) {
		return nil, fmt.Errorf("node %s: stage site needs the pipeline's graph: add %q to the node's inputs", r.Node, stage.GraphInput)
	}
	data, err := fs.ReadFile(r.FS, stage.GraphInput)
	if err != nil {
		return nil, err
	}
	nodes, err := graphfile.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", r.Node, err)
	}
	return nodes, nil
}

// siteArtifacts answers the walker from the node's inputs: the graph for
// who wrote what, the lineage inputs for the tables. An output whose
// lineage the node does not declare, or that has none, is opaque.
type siteArtifacts struct {
	r        *stage.Run
	producer map[string]*graphfile.Node
	loads    map[string]*lineageLoad // by output path, filled before any read starts
	waitAll  func()                  // waits for every load; nil before prefetch
}

// lineageLoad is one lineage input being read on another goroutine: a
// walk reads a summary's lineage, then the registrations table's, then the
// mapped table it stands on (megabytes at 100,000 records each), and they
// can be read side by side while the stage renders.
type lineageLoad struct {
	done chan struct{}
	data []byte
	err  error
}

var _ explain.Artifacts = (*siteArtifacts)(nil)

func newSiteArtifacts(r *stage.Run, graph []graphfile.Node) *siteArtifacts {
	s := &siteArtifacts{r: r, producer: map[string]*graphfile.Node{}, loads: map[string]*lineageLoad{}}
	for i := range graph {
		for _, o := range graph[i].Outputs {
			s.producer[o] = &graph[i]
		}
	}
	return s
}

// prefetch starts reading every lineage input, upstream first (the graph
// is in build order): the largest tables, which a walk needs right after
// the first summary cell. Each load signals its own end.
func (s *siteArtifacts) prefetch(graph []graphfile.Node) {
	var order []string
	for _, n := range graph {
		for _, o := range n.Outputs {
			if slices.Contains(s.r.Inputs, stage.LineagePrefix+o) {
				s.loads[o] = &lineageLoad{done: make(chan struct{})}
				order = append(order, o)
			}
		}
	}
	s.waitAll = par.Go(len(order), 2, func() func(int) {
		return func(i int) {
			l := s.loads[order[i]]
			l.data, l.err = fs.ReadFile(s.r.FS, stage.LineagePrefix+order[i])
			close(l.done)
		}
	})
}

// wait waits for every load still running: the stage must not return
// while its FS is being read.
func (s *siteArtifacts) wait() {
	if s.waitAll != nil {
		s.waitAll()
	}
}

func (s *siteArtifacts) IsOutput(path string) bool { return s.producer[path] != nil }

func (s *siteArtifacts) Reason(file, id string) string { return "" }

// hash is the content hash the site knows for path: the engine's, for one
// of its own inputs; zero for a file further upstream. Each path has one
// version in a build, so it names the artifact either way.
func (s *siteArtifacts) hash(path string) [32]byte {
	if s.r.Sum != nil {
		if h, ok := s.r.Sum(path); ok {
			return h
		}
	}
	return [32]byte{}
}

func (s *siteArtifacts) Artifact(path string, h [32]byte) (*explain.Artifact, error) {
	n := s.producer[path]
	if n == nil {
		return nil, explain.NotFound(fmt.Errorf("%s: no node writes it", path))
	}
	a := &explain.Artifact{Path: path, Hash: h, Node: n.Name, Stage: n.Stage, StageVersion: n.StageVersion, Command: n.Command,
		Reads: make(map[string][32]byte, len(n.Inputs)+len(n.Patches))}
	for _, l := range [][]string{n.Inputs, n.Patches} {
		for _, p := range l {
			a.Reads[p] = s.hash(p)
		}
	}
	l := s.loads[path]
	if l == nil {
		return a, nil // a command node, or lineage the node does not declare
	}
	<-l.done
	if l.err != nil {
		return nil, l.err
	}
	if len(l.data) == 0 {
		return a, nil // lineage switched off, or none recorded
	}
	t, err := lineage.Open(l.data)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", stage.LineagePrefix, path, err)
	}
	a.Table = t
	return a, nil
}

// siteExplainer explains whole input tables for the site. One walker
// serves every call, so rows that several inputs count are resolved once.
type siteExplainer struct {
	src   *siteArtifacts
	w     *explain.Walker
	rank  map[string]int
	graph []graphfile.Node
}

func newSiteExplainer(r *stage.Run, graph []graphfile.Node) *siteExplainer {
	src := newSiteArtifacts(r, graph)
	x := &siteExplainer{src: src, w: explain.New(src), rank: make(map[string]int, len(graph)), graph: graph}
	x.w.Eager = true
	for i, n := range graph {
		x.rank[n.Name] = i
	}
	return x
}

// explain resolves every cell of the input tables at paths.
func (x *siteExplainer) explain(paths ...string) (*explain.Explained, error) {
	r := x.src.r
	if x.src.waitAll == nil {
		x.src.prefetch(x.graph)
	}
	arts := make([]*explain.Artifact, len(paths))
	for i, p := range paths {
		if !slices.Contains(r.Inputs, p) || stage.IsEngineInput(p) {
			return nil, fmt.Errorf("explain %s: not an input of the node", p)
		}
		h := x.src.hash(p)
		a, err := x.w.Artifact(p, h)
		if errors.Is(err, explain.ErrNotFound) && x.src.producer[p] == nil {
			arts[i] = &explain.Artifact{Path: p, Hash: h} // a raw input or config
			continue
		}
		if err != nil {
			return nil, err
		}
		arts[i] = a
	}
	return x.w.Explain(arts, func(node string) int { return x.rank[node] })
}

// siteNodes is the graph as the pipeline page shows it; empty lists are
// nil, as the page expects of a node without deps or patches.
func siteNodes(graph []graphfile.Node) []graphfile.Node {
	out := slices.Clone(graph)
	for i := range out {
		for _, l := range []*[]string{&out[i].Inputs, &out[i].Patches, &out[i].Outputs, &out[i].Deps} {
			if len(*l) == 0 {
				*l = nil
			}
		}
	}
	return out
}
