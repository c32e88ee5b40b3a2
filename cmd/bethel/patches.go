package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"bethel/pkg/graph"
	"bethel/pkg/patch"
	"bethel/pkg/pipeline"
	"bethel/pkg/scrub"
	"bethel/pkg/stages"
)

func init() {
	register(&command{
		name:    "patches",
		summary: "list every patch with its status and what it changed",
		run:     runPatches,
	})
}

// patchesMaxChanges is how many changes of one patch the text form lists;
// a many = true patch can touch hundreds of records (--json lists all).
const patchesMaxChanges = 10

// nodeReport is one node's patch report as --json prints it.
type nodeReport struct {
	Node   string        `json:"node"`
	Report *patch.Report `json:"report"`
}

// runPatches evaluates the patches of every node whose stage applies
// patches, against the node's current inputs, without building: so the
// statuses are those the next `bethel make` will find, and a conflict or
// an orphan shows even while the build fails. A node whose inputs are
// other nodes' outputs needs those built first (run `bethel make`).
func runPatches(ctx context.Context, env *Env, args []string) error {
	fset := flag.NewFlagSet("patches", flag.ContinueOnError)
	ws := addWorkspaceFlags(fset)
	asJSON := fset.Bool("json", false, "print the reports as JSON")
	showPrivate := fset.Bool("show-private", false, "print the values of sensitive fields")
	impact := fset.Bool("impact", false, "also list, for each patch, the output cells whose values it changed (from the current build's lineage)")
	exact := fset.Bool("exact", false, "with --impact: build the pipeline without each patch in a scratch copy of the workspace and list every cell whose value differs, cells a moved record left included (one rebuild per patch)")
	fset.Usage = usageFunc(fset, "bethel patches [-C DIR] [-f FILE] [--json] [--show-private] [--impact [--exact]]",
		"Lists every patch with id, file:line, target, status (applied, redundant, conflict,\n"+
			"orphan, ambiguous, shadowed, invalid) and what it changed (record key, field,\n"+
			"old -> new), evaluated against the current inputs. Exits 1 if any patch would\n"+
			"fail the build.")
	rest, err := parseFlags(fset, env, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("patches takes no arguments, have %q", rest)
	}
	if *exact && !*impact {
		return usagef("--exact goes with --impact")
	}
	p, err := ws.load(env)
	if err != nil {
		return err
	}
	root := ws.root(env)
	reports, err := evaluatePatches(ctx, p, root, patch.Options{ShowPrivate: *showPrivate})
	if err != nil {
		return err
	}
	var idSet *scrub.Set // the set patch ids are scrubbed against once impact is known
	if !*showPrivate {
		// Free text first, while the reports still hold the values of
		// sensitive changes that it must be scrubbed against.
		if idSet, err = scrubReports(p, root, reports); err != nil {
			return err
		}
		for _, nr := range reports {
			for i := range nr.Report.Patches {
				for j := range nr.Report.Patches[i].Changes {
					c := &nr.Report.Patches[i].Changes[j]
					if c.Sensitive {
						if c.Old != "" {
							c.Old = patch.Withheld
						}
						c.New = patch.Withheld
					}
				}
			}
		}
	}
	failed := 0
	for _, nr := range reports {
		for _, e := range nr.Report.Patches {
			if e.Status.IsError() {
				failed++
			}
		}
	}
	var imp *patchImpact
	switch {
	case *impact && *exact && failed > 0:
		return &ExitError{Code: 1, Err: fmt.Errorf("%d patches would fail the build; fix them before measuring impact by building", failed)}
	case *impact && *exact:
		if imp, err = exactImpact(ctx, p, reports); err != nil {
			return err
		}
	case *impact:
		imp = computeImpact(p, root)
	}
	if !*showPrivate {
		withholdIDs(idSet, reports, imp)
	}
	if *asJSON {
		if reports == nil {
			reports = []nodeReport{}
		}
		var v any = reports
		if imp != nil {
			v = struct {
				Reports []nodeReport `json:"reports"`
				Impact  *patchImpact `json:"impact"`
			}{reports, imp}
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
	} else {
		printPatchReports(env.Stdout, reports)
		if imp != nil {
			printImpact(env.Stdout, imp, reports, &impactValues{p: p, root: root, showPrivate: *showPrivate, tables: map[string]*csvTable{}})
		}
	}
	if failed > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d patches would fail the build", failed)}
	}
	return nil
}

// evaluatePatches runs PatchReport for every stage node that has patches
// or whose stage applies them.
func evaluatePatches(ctx context.Context, p *pipeline.Pipeline, root string, opt patch.Options) ([]nodeReport, error) {
	reg := stages.Registry()
	fsys := os.DirFS(root)
	var out []nodeReport
	for _, n := range p.Order {
		if !n.IsStage() {
			if len(n.PatchFiles) > 0 {
				return nil, fmt.Errorf("%s: node %s runs a command; bethel cannot evaluate its patches", n.Pos, n.Name)
			}
			continue
		}
		s, ok := reg.Lookup(n.Stage)
		if !ok {
			continue
		}
		rep, ok := s.(patch.Reporter)
		if !ok {
			continue
		}
		for _, in := range n.InputFiles {
			if _, err := fs.Stat(fsys, in); err != nil && p.Producer[in] != nil {
				return nil, fmt.Errorf("node %s reads %s, which is not built yet: run `bethel make %s` first", n.Name, in, p.Producer[in].Name)
			}
		}
		// The run a build would give the stage, with its guard on
		// undeclared reads; the report may redo upstream work.
		run, err := graph.QueryRun(p, n, graph.Query{Upstream: true})
		if err != nil {
			return nil, err
		}
		r, err := rep.PatchReport(ctx, run, opt)
		if r == nil {
			if err == nil {
				err = fmt.Errorf("node %s: no patch report", n.Name)
			}
			return nil, fmt.Errorf("node %s: cannot evaluate its patches:\n%w", n.Name, err)
		}
		out = append(out, nodeReport{Node: n.Name, Report: r})
	}
	return out, nil
}

func printPatchReports(w io.Writer, reports []nodeReport) {
	if len(reports) == 0 {
		fmt.Fprintln(w, "no node applies patches")
		return
	}
	for i, nr := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		counts := map[patch.Status]int{}
		for _, e := range nr.Report.Patches {
			counts[e.Status]++
		}
		var parts []string
		for _, s := range []patch.Status{patch.StatusApplied, patch.StatusRedundant, patch.StatusShadowed,
			patch.StatusConflict, patch.StatusOrphan, patch.StatusAmbiguous, patch.StatusInvalid} {
			if counts[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
			}
		}
		fmt.Fprintf(w, "%s (target %s): %d patches", nr.Node, nr.Report.Target, len(nr.Report.Patches))
		if len(parts) > 0 {
			fmt.Fprintf(w, ": %s", strings.Join(parts, ", "))
		}
		fmt.Fprintln(w)
		for _, e := range nr.Report.Patches {
			fmt.Fprintf(w, "  %-9s %s  %s:%d  (%s)\n", e.Status, e.ID, e.File, e.Line, e.Kind)
			if e.Reason != "" {
				fmt.Fprintf(w, "            reason: %s\n", e.Reason)
			}
			if e.Message != "" {
				msg := strings.TrimPrefix(e.Message, fmt.Sprintf("patch %q: %s: ", e.ID, e.Status))
				fmt.Fprintf(w, "            %s\n", msg)
			}
			if e.Kind == patch.Add && len(e.Changes) > 0 {
				var fields []string
				for _, c := range e.Changes {
					fields = append(fields, c.Field+" = "+quoteValue(c.New))
				}
				fmt.Fprintf(w, "            %s: added with %s\n", e.Changes[0].Key, strings.Join(fields, ", "))
				continue
			}
			for j, c := range e.Changes {
				if j == patchesMaxChanges {
					fmt.Fprintf(w, "            ... and %d more changes (--json lists all)\n", len(e.Changes)-j)
					break
				}
				switch c.Op {
				case patch.Drop:
					fmt.Fprintf(w, "            %s: dropped\n", c.Key)
				default:
					fmt.Fprintf(w, "            %s: %s %s -> %s\n", c.Key, c.Field, quoteValue(c.Old), quoteValue(c.New))
				}
			}
		}
		if c := nr.Report.Counts; len(c) > 0 {
			fmt.Fprintf(w, "  records: %d read, %d active", c["rows_read"], c["active"])
			for _, k := range []string{"dropped_by_patch", "cancelled", "refunded"} {
				if c[k] > 0 {
					fmt.Fprintf(w, ", %d %s", c[k], strings.ReplaceAll(k, "_", " "))
				}
			}
			fmt.Fprintln(w)
		}
	}
}

func quoteValue(s string) string {
	if s == patch.Withheld {
		return s
	}
	return fmt.Sprintf("%q", s)
}

// scrubReports withholds private data from the reports' free text (reason,
// author, message) as the corrections report does: against the scrub sets
// the last build left (every *.sensitive output of the pipeline that
// exists), the sensitive values the reports carry, and the patterns of
// private data. Before a first build only the last two apply.
func scrubReports(p *pipeline.Pipeline, root string, reports []nodeReport) (*scrub.Set, error) {
	built, err := builtScrubSet(p, root)
	if err != nil {
		return nil, err
	}
	var b scrub.Builder
	for _, nr := range reports {
		for _, e := range nr.Report.Patches {
			for _, c := range e.Changes {
				if !c.Sensitive {
					continue
				}
				for _, v := range []string{c.Old, c.New} {
					if v != "" && v != patch.Withheld {
						b.Add(scrub.Guess(v), v)
					}
				}
			}
		}
	}
	set := scrub.Union(built, b.Set())
	for _, nr := range reports {
		for i := range nr.Report.Patches {
			e := &nr.Report.Patches[i]
			e.Reason, _ = set.Scrub(e.Reason)
			e.Author, _ = set.Scrub(e.Author)
			e.Message, _ = set.Scrub(e.Message)
		}
	}
	return set, nil
}

// withholdIDs scrubs the patch ids of the reports and of the impact (nil:
// none) against set: an id that names a person is withheld as a reason is.
// It runs last, once impact has matched patches to cells by their ids.
func withholdIDs(set *scrub.Set, reports []nodeReport, imp *patchImpact) {
	id := func(s string) string {
		out, _ := set.Scrub(s)
		return out
	}
	for _, nr := range reports {
		for i := range nr.Report.Patches {
			e := &nr.Report.Patches[i]
			e.ID = id(e.ID)
		}
	}
	if imp == nil {
		return
	}
	cells := make(map[string][]string, len(imp.Cells))
	for k, v := range imp.Cells {
		k = id(k)
		if prev, ok := cells[k]; ok {
			// Two ids alike once withheld: one list, in a fixed order.
			m := append(slices.Clone(prev), v...)
			slices.Sort(m)
			v = slices.Compact(m)
		}
		cells[k] = v
	}
	imp.Cells = cells
	for i := range imp.NotMeasured {
		imp.NotMeasured[i] = id(imp.NotMeasured[i])
	}
	for i := range imp.Skipped {
		imp.Skipped[i] = id(imp.Skipped[i])
	}
}
