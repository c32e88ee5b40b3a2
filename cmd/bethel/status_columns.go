package main

import (
	"fmt"
	"io"
	"strings"

	"bethel/pkg/graph"
	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
	"bethel/pkg/stages"
)

// printExtraColumns notes, once per export, the columns the field
// declaration does not declare: a build ignores them (platforms add
// columns), and status is where an organizer sees that a new question
// needs a [[fields]] entry to be counted. The nodes whose stage reads
// exports (stage.ExportReader) say which columns those are, reading the
// header lines only; nothing is said when an export or the declaration
// cannot be read (the build reports that).
func printExtraColumns(out io.Writer, p *pipeline.Pipeline) {
	if p.Fields == "" {
		return
	}
	reg := stages.Registry()
	seen := map[string]bool{}
	for _, n := range p.Nodes {
		st, ok := reg.Lookup(n.Stage)
		if !ok || !n.IsStage() {
			continue
		}
		er, ok := st.(stage.ExportReader)
		if !ok {
			continue
		}
		r, err := graph.QueryRun(p, n, graph.Query{})
		if err != nil {
			continue
		}
		cols, err := er.ExtraColumns(r)
		if err != nil {
			continue
		}
		for _, c := range cols {
			if seen[c.Export] {
				continue
			}
			seen[c.Export] = true
			fmt.Fprintf(out, "note: %s: columns not declared in %s (ignored): %s\n", c.Export, p.Fields, strings.Join(c.Columns, ", "))
		}
	}
}
