package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/pipeline"
	"bethel/pkg/schema"
)

// printExtraColumns notes, once per export, the columns the field
// declaration does not declare: a build ignores them (platforms add
// columns), and status is where an organizer sees that a new question
// needs a [[fields]] entry to be counted. It reads the export's header
// line only, and says nothing when the export or the declaration cannot
// be read (the build reports that).
func printExtraColumns(out io.Writer, p *pipeline.Pipeline) {
	if p.Fields == "" {
		return
	}
	sch, err := schema.Load(os.DirFS(p.Root), p.Fields)
	if err != nil {
		return
	}
	var refs []string
	for _, f := range sch.Fields {
		if f.Reference != nil {
			refs = append(refs, f.Reference.Resource)
		}
	}
	seen := map[string]bool{}
	for _, n := range p.Nodes {
		if n.Stage != "registrations.map" && n.Stage != "registrations.normalize" {
			continue
		}
		for _, in := range n.InputFiles {
			if !strings.HasSuffix(in, ".csv") || slices.Contains(refs, in) || seen[in] {
				continue
			}
			seen[in] = true
			if extra := exportExtraColumns(p.Root, in, sch); len(extra) > 0 {
				fmt.Fprintf(out, "note: %s: columns not declared in %s (ignored): %s\n", in, p.Fields, strings.Join(extra, ", "))
			}
		}
	}
}

// exportExtraColumns reads the header of export and returns its columns
// no field claims.
func exportExtraColumns(root, export string, sch *schema.Schema) []string {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(export)))
	if err != nil {
		return nil
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, export)
	if err != nil {
		return nil
	}
	cols, _ := sch.Columns(export, cr.Header())
	if cols == nil {
		return nil
	}
	return cols.Extra
}
