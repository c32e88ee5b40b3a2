package main

import (
	"context"
	"flag"
	"fmt"

	"bethel/pkg/graph"
)

func init() {
	register(&command{
		name:    "status",
		summary: "list stale nodes and why (exit 1 if any); writes nothing",
		run:     runStatus,
	})
}

func runStatus(ctx context.Context, env *Env, args []string) error {
	lessGC()
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	ws := addWorkspaceFlags(fs)
	debugKey := fs.Bool("debug-key", false, "print every line of every action key (as BETHEL_DEBUG=key)")
	fs.Usage = usageFunc(fs, "bethel status [-C DIR] [-f FILE] [TARGET...]",
		"Lists the nodes a build would run or restore, with the reasons. Reads only: it writes\n"+
			"no state, cache or output. Exit status: 0 all up to date, 1 something is stale, 2 usage\n"+
			"or pipeline error.")
	targets, err := parseFlags(fs, env, args)
	if err != nil {
		return err
	}
	p, err := ws.loadReadOnly(env)
	if err != nil {
		return err
	}
	opts := engineOptions(env, *debugKey)
	opts.Targets = targets
	results, err := graph.Check(p, opts)
	if err != nil {
		return exitFor(err)
	}
	if err := printRemoteStatus(ctx, env.Stdout, p); err != nil {
		return err
	}
	printExtraColumns(env.Stdout, p)
	stale := 0
	// A reason may name a patch by its id, which may name a person.
	scrubber := newErrScrubber(p, p.Root)
	for _, r := range results {
		switch r.Status {
		case graph.UpToDate:
			continue
		case graph.Failed:
			stale++
			fmt.Fprintf(env.Stdout, "broken %s: %v\n", r.Name, r.Err)
		default:
			stale++
			note := ""
			if r.Restorable {
				note = " (restorable from the cache)"
			}
			fmt.Fprintf(env.Stdout, "stale %s%s\n", r.Name, note)
		}
		for _, l := range explainReasons(p.Root, r.Reasons, r.Changes, false) {
			fmt.Fprintf(env.Stdout, "    because %s\n", scrubber.reason(l))
		}
		for _, w := range r.Warnings {
			fmt.Fprintf(env.Stdout, "    note: %s\n", w)
		}
	}
	// Every lowering of a level by a stated reason is shown, so that it is
	// reviewed where the state of the build is.
	for _, n := range p.Nodes {
		if n.Declassify != "" {
			fmt.Fprintf(env.Stdout, "declassified %s (%s): %s\n", n.Name, n.Visibility, n.Declassify)
		}
	}
	if stale == 0 {
		fmt.Fprintf(env.Stdout, "bethel: all %d nodes up to date\n", len(results))
		return nil
	}
	fmt.Fprintf(env.Stdout, "bethel: %d of %d nodes stale\n", stale, len(results))
	return &ExitError{Code: 1}
}
