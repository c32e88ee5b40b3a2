package pipeline

import (
	"sort"
	"strings"

	"bethel/pkg/stage"
)

// Engine artifacts in a node's inputs (stage.GraphInput and
// stage.LineagePrefix+path): checked here, kept apart from the files in
// Node.EngineInputs, and expanded so that the lineage of an output brings
// the lineage of every stage output upstream of it.

// engineInput handles element j of node i's list key when it names an
// engine artifact, and reports whether it did.
func (l *loader) engineInput(i int, n *Node, key string, j int, s string) bool {
	if s != stage.GraphInput && !strings.HasPrefix(s, stage.LineagePrefix) && !strings.HasPrefix(s, "graph:") {
		return false
	}
	at := l.elemPos(i, key, j)
	switch {
	case key != "inputs":
		l.e.at(at, "", "%s: %s: %s is an engine artifact, not a patch file; name it in inputs", l.label(i), key, s)
		return true
	case s == stage.GraphInput:
		l.addEngineInput(n, s)
		return true
	case strings.HasPrefix(s, "graph:"):
		l.e.at(at, "", "%s: inputs: %q: the graph is named %s, with nothing after the colon", l.label(i), s, stage.GraphInput)
		return true
	}
	out := strings.TrimPrefix(s, stage.LineagePrefix)
	p, why := cleanPath(out)
	switch w := l.p.Producer[p]; {
	case why != "":
		l.e.at(at, "", "%s: inputs: %q: %s", l.label(i), s, why)
	case hasMeta(p):
		l.e.at(at, "", "%s: inputs: %q: lineage: names one output by its path, not a glob", l.label(i), s)
	case w == nil:
		hint := ""
		outs := make([]string, 0, len(l.p.Producer))
		for o := range l.p.Producer {
			outs = append(outs, o)
		}
		sort.Strings(outs)
		if c := closest(p, outs); c != "" {
			hint = didYouMean(stage.LineagePrefix + c)
		}
		l.e.at(at, hint, "%s: inputs: %s: no node writes %s, so there is no lineage of it", l.label(i), s, p)
	case w == n:
		l.e.at(at, "", "%s: inputs: %s: the lineage of the node's own output is not an input", l.label(i), s)
	case w.Stage == "":
		l.e.at(at, "", "%s: inputs: %s: %s is written by command node %s, whose outputs have no cell lineage", l.label(i), s, p, w.Name)
	default:
		l.addEngineInput(n, stage.LineagePrefix+p)
		if l.lineageOf == nil {
			l.lineageOf = map[*Node][]*Node{}
		}
		l.lineageOf[n] = append(l.lineageOf[n], w)
	}
	return true
}

func (l *loader) addEngineInput(n *Node, s string) {
	for _, x := range n.EngineInputs {
		if x == s {
			return
		}
	}
	n.EngineInputs = append(n.EngineInputs, s)
}

// expandEngineInputs runs after link: every node that declares the lineage
// of some outputs gets the lineage of every output of each stage node
// those outputs' writers read from, directly or not, since a walk from a
// cell to its raw records passes through them. The graph comes first,
// then the lineage by path. Lineage names record keys: a node that reads
// it cannot be public.
func (l *loader) expandEngineInputs() {
	for _, n := range l.p.Nodes {
		if len(n.EngineInputs) == 0 {
			continue
		}
		var out []string
		graph := false
		for _, s := range n.EngineInputs {
			graph = graph || s == stage.GraphInput
		}
		if graph {
			out = append(out, stage.GraphInput)
		}
		if w := l.lineageOf[n]; len(w) > 0 {
			if n.Visibility == stage.Public {
				l.e.at(l.valPos(n.Index, "visibility"), "make the node internal",
					"%s reads cell lineage, which names record keys (internal data), but declares visibility %q", l.label(n.Index), string(n.Visibility))
			}
			var lin []string
			for _, u := range l.p.Closure(w...) {
				if u.Stage == "" {
					continue
				}
				for _, o := range u.Outputs {
					lin = append(lin, stage.LineagePrefix+o)
				}
			}
			sort.Strings(lin)
			out = append(out, lin...)
		}
		n.EngineInputs = out
	}
}
