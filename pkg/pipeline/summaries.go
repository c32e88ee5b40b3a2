package pipeline

import (
	"slices"

	"bethel/pkg/stage"
)

// SummaryStage is the one counting stage whose nodes are the event's
// declared summaries (pkg/stages' summary.count). The loader knows it by
// name only, to expand SummariesParam; it never runs or reads it.
const SummaryStage = "summary.count"

// SummariesParam is the param that lets a node read every declared
// summary without listing each:
//
//	[node.params]
//	summaries = "all"
//
// At load, the node's inputs get the outputs of every node whose stage is
// SummaryStage that it does not list, in pipeline order, after the last
// summary it lists (so the order it lists them in, which the site shows
// them in, stays), or before its inputs when it lists none. The expansion is
// part of the node's InputFiles like any input: it keys the node's action,
// makes its edges, and `bethel graph` shows it. A node that reads cell
// lineage (lineage:PATH inputs) gets each summary's lineage as well. A new
// summary node is thereby read by summary.json and the site, its counts
// linked to their records, with no other edit.
const SummariesParam = "summaries"

// expandSummaries expands SummariesParam for every node that has it.
func (l *loader) expandSummaries() {
	for i, n := range l.p.Nodes {
		v, ok := n.Params[SummariesParam]
		if !ok {
			continue
		}
		if s, _ := v.(string); s != "all" {
			l.e.at(l.nodePos(i), `write summaries = "all", or list the summaries among the inputs`,
				"%s: param %s must be \"all\" (every %s node's outputs), not %v", l.label(i), SummariesParam, SummaryStage, v)
			continue
		}
		if !n.IsStage() {
			l.e.at(l.nodePos(i), "list the summaries among the inputs", "%s: param %s is for built-in stages; a command names its inputs", l.label(i), SummariesParam)
			continue
		}
		listed := map[string]bool{}
		for _, f := range n.InputFiles {
			listed[f] = true
		}
		// The new ones go after the last summary the node lists (the
		// order a node shows its summaries in stays its own), or first.
		at := 0
		for k, f := range n.InputFiles {
			if w := l.p.Producer[f]; w != nil && w.Stage == SummaryStage {
				at = k + 1
			}
		}
		// A node that reads cell lineage (the site) gets each summary's
		// too, so that its counts link to their records.
		lin := len(l.lineageOf[n]) > 0
		var add []string
		for _, m := range l.p.Nodes {
			if m == n || m.Stage != SummaryStage {
				continue
			}
			for _, o := range m.Outputs {
				if !listed[o] {
					listed[o] = true
					add = append(add, o)
				}
				if lin {
					l.addEngineInput(n, stage.LineagePrefix+o)
					l.lineageOf[n] = append(l.lineageOf[n], m)
				}
			}
		}
		n.InputFiles = slices.Concat(n.InputFiles[:at], add, n.InputFiles[at:])
	}
}
