package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"bethel/pkg/graph"
)

func init() {
	register(&command{
		name:    "gc",
		summary: "trim the cache, least recently used first, keeping what current outputs need",
		run:     runGC,
	})
}

func runGC(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("gc", flag.ContinueOnError)
	ws := addWorkspaceFlags(fs)
	maxSize := fs.String("max-size", "1G", "trim the cache to at most `SIZE` bytes (suffixes K, M, G, T: powers of 1024)")
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for another bethel running in this workspace (0: fail at once)")
	fs.Usage = usageFunc(fs, "bethel gc [-C DIR] [-f FILE] [--max-size SIZE]",
		"Removes cache entries, least recently used first, until the cache holds at most SIZE,\n"+
			"never an entry the current outputs need. Blobs no entry uses are always removed.")
	rest, err := parseFlags(fs, env, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("gc: unexpected argument %q", rest[0])
	}
	limit, err := parseSize(*maxSize)
	if err != nil {
		return usagef("gc: --max-size: %v", err)
	}
	p, err := ws.load(env)
	if err != nil {
		return err
	}
	opts := engineOptions(env, false)
	opts.LockWait = *wait
	res, err := graph.GC(p, opts, limit)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "bethel: cache %s -> %s: removed %d entries and %d blobs; kept %d entries the current outputs need\n",
		formatSize(res.Before), formatSize(res.After), res.Entries, res.Blobs, res.Kept)
	if res.Corrupt > 0 {
		fmt.Fprintf(env.Stdout, "bethel: discarded %d damaged blobs; the next make rebuilds what they held\n", res.Corrupt)
	}
	if res.After > limit {
		fmt.Fprintf(env.Stdout, "bethel: the cache stays above %s: the current outputs need that much\n", formatSize(limit))
	}
	return nil
}

// parseSize parses 500M, 2G, 1.5G, 10K, 123 (bytes); an optional trailing
// B or iB is accepted (500MB, 2GiB). Units are powers of 1024.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "IB"), "B")
	mult := float64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 500M or 2G)", s)
	}
	return int64(f * mult), nil
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
