package pipeline

import (
	"container/heap"
	"fmt"
	"sort"
	"strings"

	"bethel/pkg/stage"
)

// link derives edges from paths, rejects cycles and orders the nodes.
func (l *loader) link() error {
	nodes := l.p.Nodes
	// deps[i] are the indexes of the nodes i reads from, ascending.
	deps := make([][]int, len(nodes))
	for i, n := range nodes {
		var d []int
		seen := map[int]bool{}
		for _, f := range n.reads() {
			if w := l.producerOf(f); w != nil && w != n && !seen[w.Index] {
				seen[w.Index] = true
				d = append(d, w.Index)
			}
		}
		for _, w := range l.lineageOf[n] {
			if !seen[w.Index] {
				seen[w.Index] = true
				d = append(d, w.Index)
			}
		}
		sort.Ints(d)
		deps[i] = d
	}
	if c := findCycle(deps); c != nil {
		return l.cycleErr(c)
	}
	l.order = topoOrder(deps)
	rank := make([]int, len(nodes))
	l.p.Order = make([]*Node, len(nodes))
	for r, i := range l.order {
		rank[i] = r
		l.p.Order[r] = nodes[i]
	}
	for i, n := range nodes {
		d := append([]int(nil), deps[i]...)
		sort.Slice(d, func(a, b int) bool { return rank[d[a]] < rank[d[b]] })
		n.Deps = make([]*Node, len(d))
		for k, j := range d {
			n.Deps[k] = nodes[j]
		}
	}
	return nil
}

// reads returns every file the node reads: inputs, then patches.
func (n *Node) reads() []string {
	if len(n.PatchFiles) == 0 {
		return n.InputFiles
	}
	r := make([]string, 0, len(n.InputFiles)+len(n.PatchFiles))
	r = append(r, n.InputFiles...)
	return append(r, n.PatchFiles...)
}

// findCycle returns one cycle as node indexes in dependency order
// (each reads from the next, the last reads from the first), or nil. The
// search visits nodes and their dependencies in file order, so the cycle
// reported for a given file is always the same one.
func findCycle(deps [][]int) []int {
	const (
		white = iota
		grey
		black
	)
	color := make([]byte, len(deps))
	type frame struct{ node, next int }
	var stack []frame
	for s := range deps {
		if color[s] != white {
			continue
		}
		stack = append(stack[:0], frame{s, 0})
		color[s] = grey
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(deps[top.node]) {
				color[top.node] = black
				stack = stack[:len(stack)-1]
				continue
			}
			d := deps[top.node][top.next]
			top.next++
			switch color[d] {
			case grey:
				k := len(stack) - 1
				for stack[k].node != d {
					k--
				}
				c := make([]int, 0, len(stack)-k)
				for _, f := range stack[k:] {
					c = append(c, f.node)
				}
				return c
			case white:
				color[d] = grey
				stack = append(stack, frame{d, 0})
			}
		}
	}
	return nil
}

// cycleErr prints the whole cycle in the direction data flows (a -> b:
// b reads what a writes), starting at the node written first in the file,
// with the path behind each arrow.
func (l *loader) cycleErr(c []int) error {
	// c is in dependency order; reverse it into data-flow order.
	flow := make([]int, len(c))
	for i, x := range c {
		flow[len(c)-1-i] = x
	}
	m := 0
	for i, x := range flow {
		if x < flow[m] {
			m = i
		}
	}
	flow = append(flow[m:], flow[:m]...)
	nodes := l.p.Nodes
	names := make([]string, 0, len(flow)+1)
	why := make([]string, 0, len(flow))
	for i, x := range flow {
		names = append(names, nodes[x].Name)
		next := nodes[flow[(i+1)%len(flow)]]
		for _, f := range next.reads() {
			if l.producerOf(f) == nodes[x] {
				why = append(why, fmt.Sprintf("%s reads %s written by %s", next.Name, f, nodes[x].Name))
				break
			}
		}
	}
	names = append(names, nodes[flow[0]].Name)
	l.e.atLine(l.nodePos(flow[0]).line, "cycle: %s (%s)", strings.Join(names, " -> "), strings.Join(why, "; "))
	return l.e.err()
}

// topoOrder is Kahn's algorithm taking the lowest file index among the
// ready nodes, so that the order is deterministic and as close to the file
// as the edges allow.
func topoOrder(deps [][]int) []int {
	n := len(deps)
	indeg := make([]int, n)
	users := make([][]int, n)
	for i, d := range deps {
		indeg[i] = len(d)
		for _, j := range d {
			users[j] = append(users[j], i)
		}
	}
	h := &intHeap{}
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			*h = append(*h, i)
		}
	}
	heap.Init(h)
	order := make([]int, 0, n)
	for h.Len() > 0 {
		i := heap.Pop(h).(int)
		order = append(order, i)
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				heap.Push(h, u)
			}
		}
	}
	return order
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// visibility applies the propagation rule in topological order: a command
// node reading a private output is private when it declares nothing, and
// an error when it declares internal or public without a declassify
// reason. Built-in stages enforce column-level privacy themselves.
func (l *loader) visibility() {
	for _, i := range l.order {
		n := l.p.Nodes[i]
		if n.Run == "" {
			continue
		}
		var priv string
		var from *Node
		for _, f := range n.reads() {
			if w := l.producerOf(f); w != nil && w.Visibility == stage.Private {
				priv, from = f, w
				break
			}
		}
		if from == nil || n.Visibility == stage.Private || n.Declassify != "" {
			continue
		}
		if !l.declared[i] {
			n.Visibility = stage.Private
			continue
		}
		l.e.at(l.valPos(i, "visibility"), `add declassify = "<reason>" if the outputs hold no private values, or make the node private`,
			"%s reads private %s (written by %s) but declares visibility %q: a command node that reads private data is private unless it states why not with declassify",
			l.label(i), priv, l.label(from.Index), string(n.Visibility))
	}
}

// finish fills the pipeline-wide lists.
func (l *loader) finish() {
	var globs []string
	srcSet := map[string]bool{}
	for _, n := range l.p.Nodes {
		for _, lst := range [][]string{n.Inputs, n.Patches} {
			for _, s := range lst {
				if hasMeta(s) {
					c, _ := cleanPath(s)
					globs = append(globs, c)
				}
			}
		}
		for _, f := range n.reads() {
			if l.producerOf(f) == nil {
				srcSet[f] = true
			}
		}
	}
	l.p.Globs = sortedUnique(globs)
	for f := range srcSet {
		l.p.Sources = append(l.p.Sources, f)
	}
	sort.Strings(l.p.Sources)
	// Empty lists are nil everywhere, so that a pipeline read back from
	// the compiled cache is identical to a loaded one.
	for _, n := range l.p.Nodes {
		for _, s := range []*[]string{&n.Inputs, &n.Patches, &n.InputFiles, &n.PatchFiles, &n.EngineInputs, &n.Outputs} {
			if len(*s) == 0 {
				*s = nil
			}
		}
		if len(n.Deps) == 0 {
			n.Deps = nil
		}
	}
	if len(l.p.Globs) == 0 {
		l.p.Globs = nil
	}
	l.p.Files, l.p.FileRefs = FileTable(l.p.Order, 0, 0)
}

// FileTable is what Pipeline.Files and Pipeline.FileRefs are for nodes:
// every file they name (inputs, patches, outputs, node by node) once, in
// the order first named, and for each mention its index there. mentions
// and files size the result when known (0: not known): the index map is
// sized for the files, not for every mention (more than twice as many at
// 1000 nodes, and an empty map's slots are written when it is made: 15
// page faults).
func FileTable(nodes []*Node, mentions, files int) (paths []string, refs []int32) {
	index := make(map[string]int32, min(mentions, files))
	paths = make([]string, 0, mentions)
	refs = make([]int32, 0, mentions)
	for _, n := range nodes {
		for _, l := range [...][]string{n.InputFiles, n.PatchFiles, n.Outputs} {
			for _, f := range l {
				i, ok := index[f]
				if !ok {
					i = int32(len(paths))
					index[f] = i
					paths = append(paths, f)
				}
				refs = append(refs, i)
			}
		}
	}
	return paths, refs
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	u := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			u = append(u, x)
		}
	}
	return u
}
