package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"bethel/pkg/graph"
)

func init() {
	register(&command{
		name:    "clean",
		summary: "remove the declared outputs (the cache stays: the next make restores them)",
		run:     runClean,
	})
}

func runClean(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("clean", flag.ContinueOnError)
	ws := addWorkspaceFlags(fs)
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for another bethel running in this workspace (0: fail at once)")
	fs.Usage = usageFunc(fs, "bethel clean [-C DIR] [-f FILE] [TARGET...]",
		"Removes the outputs of the targets (default: every node). The cache and the build state\n"+
			"stay, so the next 'bethel make' restores them without running anything. An output edited\n"+
			"by hand is moved to "+graph.EditedDir+"/, never deleted.")
	targets, err := parseFlags(fs, env, args)
	if err != nil {
		return err
	}
	p, err := ws.load(env)
	if err != nil {
		return err
	}
	opts := engineOptions(env, false)
	opts.Targets = targets
	opts.LockWait = *wait
	res, err := graph.Clean(p, opts)
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintf(env.Stderr, "bethel: %s\n", w)
		}
		fmt.Fprintf(env.Stdout, "bethel: removed %d outputs\n", len(res.Removed))
	}
	return exitFor(err)
}
