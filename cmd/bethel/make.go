package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"bethel/pkg/graph"
	"bethel/pkg/remote"
)

func init() {
	register(&command{
		name:          "make",
		summary:       "rebuild what is stale (restoring from the cache what was built before)",
		run:           runMake,
		lateInterrupt: true, // opts.OnAct
	})
}

func runMake(ctx context.Context, env *Env, args []string) error {
	lessGC()
	fs := flag.NewFlagSet("make", flag.ContinueOnError)
	ws := addWorkspaceFlags(fs)
	rf := addRemoteFlags(fs)
	jobs := fs.Int("j", 0, "run up to `N` nodes at once (default: the number of CPUs)")
	keepGoing := fs.Bool("k", false, "keep going after a node fails: build everything that does not depend on it")
	dryRun := fs.Bool("n", false, "dry run: print what would run or be restored, and why; change nothing")
	explain := fs.Bool("explain", false, "say why each node runs or is restored")
	asJSON := fs.Bool("json", false, "print one JSON object at the end instead of the human output")
	debugKey := fs.Bool("debug-key", false, "print every line of every action key (as BETHEL_DEBUG=key)")
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for another bethel running in this workspace (0: fail at once)")
	fs.Usage = usageFunc(fs, "bethel make [-C DIR] [-f FILE] [-j N] [-k] [-n] [--explain] [--json] [TARGET...]",
		"Builds the targets (node names or output paths; default: every node) and what they need.\n"+
			"Exit status: 0 success, 1 a node failed, 2 usage or pipeline error.")
	targets, err := parseFlags(fs, env, args)
	if err != nil {
		return err
	}
	load := ws.load
	if *dryRun {
		load = ws.loadReadOnly
	}
	t0 := time.Now()
	p, err := load(env)
	if err != nil {
		return err
	}
	opts := engineOptions(env, *debugKey)
	if opts.DebugTime != nil {
		fmt.Fprintf(opts.DebugTime, "bethel: time %-16s %8.3f ms\n", "load pipeline", float64(time.Since(t0))/1e6)
	}
	sc, err := sharedCacheFor(rf, p, env.Stderr)
	if err != nil {
		return err
	}
	var rc *remote.Client
	if sc != nil && !*dryRun {
		rc = sc.client()
		opts.Remote = rc
	}
	opts.Jobs = *jobs
	opts.KeepGoing = *keepGoing
	opts.DryRun = *dryRun
	opts.Targets = targets
	opts.LockWait = *wait
	opts.OnLockWait = func(pid int) {
		who := "another bethel"
		if pid > 0 {
			who = fmt.Sprintf("another bethel (pid %d)", pid)
		}
		fmt.Fprintf(env.Stderr, "bethel: waiting for %s running in this workspace\n", who)
	}
	pr := &progress{w: env.Stdout, errw: env.Stderr, terminal: env.IsTerminal && !*asJSON, explain: *explain || *dryRun, quiet: *asJSON, dry: *dryRun,
		scrub: newErrScrubber(p, p.Root), root: p.Root}
	opts.Events = pr.event
	opts.OnAct = env.Interruptible
	// The report and the patch id lists are written while the build still
	// holds the workspace lock (a second bethel cannot interleave).
	opts.Finish = func(res *graph.Result, err error) {
		recordPatchEntries(p, err == nil && len(targets) == 0)
		if rerr := writeReport(p, res, Version, time.Now()); rerr != nil {
			fmt.Fprintf(env.Stderr, "bethel: build report %s: %v\n", p.Report, rerr)
		}
	}
	res, err := graph.Build(ctx, p, opts)
	pr.finish()
	if rc != nil {
		if ctx.Err() != nil {
			sc.wait = 0 // interrupted: stop now, give the uploads up
		}
		sc.finish(rc, env.Stderr)
	}
	if res != nil {
		if *asJSON {
			writeJSON(env.Stdout, res)
		} else {
			fmt.Fprintln(env.Stdout, summaryLine(res, *dryRun))
		}
	}
	return exitFor(err)
}

// progress prints build events: on a terminal one status line redrawn in
// place ([3/9] node), elsewhere plain lines for what ran, was restored or
// failed. Node output and the engine's warnings always go to stderr, each
// line prefixed with the node's name.
type progress struct {
	w, errw  io.Writer
	terminal bool
	explain  bool
	quiet    bool // --json: only failures and warnings, on stderr
	dry      bool
	drawn    bool
	lastDraw time.Time
	// skipped are the nodes not run because a dependency failed: one line
	// names them all at the end, after the error that matters.
	skipped []string
	// scrub withholds private data from errors and warnings (nil: none).
	scrub *errScrubber
	// root is the workspace, where --explain finds the patch ids a patch
	// file held (empty: reasons print as the engine gives them).
	root string
}

// finish ends the build's output: the status line cleared, then one line
// for every node skipped because a dependency failed.
func (p *progress) finish() {
	p.clear()
	if len(p.skipped) > 0 && !p.quiet {
		verb := "they need"
		if len(p.skipped) == 1 {
			verb = "it needs"
		}
		fmt.Fprintf(p.w, "skipped %s (%s a node that failed)\n", strings.Join(p.skipped, ", "), verb)
	}
	p.skipped = nil
}

// redrawEvery limits how often the status line is redrawn: a thousand
// up-to-date nodes must not cost a thousand writes to the terminal.
const redrawEvery = 50 * time.Millisecond

func (p *progress) draw(done, total int, node string) {
	if now := time.Now(); now.Sub(p.lastDraw) >= redrawEvery {
		fmt.Fprintf(p.w, "\r\x1b[K[%d/%d] %s", done, total, node)
		p.drawn = true
		p.lastDraw = now
	}
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

func (p *progress) event(ev graph.Event) {
	if ev.Kind == graph.Start {
		if p.terminal {
			p.draw(ev.Done+1, ev.Total, ev.Node)
		}
		return
	}
	loud := len(ev.Warnings) > 0 || len(ev.Stderr) > 0 || ev.Status == graph.Failed ||
		((ev.Status == graph.Ran || ev.Status == graph.Restored) && !p.quiet && (!p.terminal || p.explain))
	if loud {
		p.clear()
	}
	for _, w := range ev.Warnings {
		fmt.Fprintf(p.errw, "bethel: %s: %s\n", ev.Node, p.scrub.warning(w))
	}
	if len(ev.Stderr) > 0 {
		for _, line := range strings.Split(strings.TrimRight(string(ev.Stderr), "\n"), "\n") {
			fmt.Fprintf(p.errw, "%s: %s\n", ev.Node, p.scrub.warning(line))
		}
	}
	switch ev.Status {
	case graph.Failed:
		fmt.Fprintf(p.errw, "FAILED %s: %s\n", ev.Node, p.scrub.failure(ev.Err.Error()))
	case graph.Ran, graph.Restored:
		if !p.quiet && (!p.terminal || p.explain) {
			verb := string(ev.Status)
			if p.dry {
				verb = map[graph.Status]string{graph.Ran: "would run", graph.Restored: "would restore"}[ev.Status]
			}
			fmt.Fprintf(p.w, "[%d/%d] %s %s\n", ev.Done, ev.Total, verb, ev.Node)
			if p.explain {
				lines := ev.Reasons
				if p.root != "" {
					lines = explainReasons(p.root, ev.Reasons, ev.Changes, !p.dry)
				}
				for _, l := range lines {
					fmt.Fprintf(p.w, "    because %s\n", p.scrub.reason(l))
				}
			}
		}
	case graph.Skipped:
		if len(ev.Reasons) > 0 && strings.HasPrefix(ev.Reasons[0], "dependency") {
			p.skipped = append(p.skipped, ev.Node)
		}
	}
	if p.terminal && ev.Done < ev.Total {
		if loud {
			p.lastDraw = time.Time{}
		}
		p.draw(ev.Done, ev.Total, ev.Node)
	}
}

func summaryLine(res *graph.Result, dry bool) string {
	skipped := len(res.Nodes) - len(res.Ran) - len(res.Restored) - len(res.UpToDate) - len(res.Failed)
	var b bytes.Buffer
	if dry {
		fmt.Fprintf(&b, "bethel: dry run: %d would run, %d would be restored, %d up to date, %d failed", len(res.Ran), len(res.Restored), len(res.UpToDate), len(res.Failed))
	} else {
		fmt.Fprintf(&b, "bethel: %d ran, %d restored", len(res.Ran), len(res.Restored))
		if n := len(res.RestoredRemote); n > 0 {
			fmt.Fprintf(&b, " (%d from the shared cache)", n)
		}
		fmt.Fprintf(&b, ", %d up to date, %d failed", len(res.UpToDate), len(res.Failed))
	}
	if skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", skipped)
	}
	fmt.Fprintf(&b, " in %.2fs", res.Seconds)
	return b.String()
}

// jsonResult is the stable --json shape; scripts depend on these keys.
type jsonResult struct {
	Ran      []string `json:"ran"`
	Restored []string `json:"restored"`
	// RestoredRemote: the restored nodes that came from the shared cache.
	RestoredRemote []string `json:"restored_remote"`
	UpToDate       []string `json:"uptodate"`
	Failed         []string `json:"failed"`
	Seconds        float64  `json:"seconds"`
}

func writeJSON(w io.Writer, res *graph.Result) {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	b, _ := json.Marshal(jsonResult{
		Ran: nonNil(res.Ran), Restored: nonNil(res.Restored), RestoredRemote: nonNil(res.RestoredRemote), UpToDate: nonNil(res.UpToDate),
		Failed: nonNil(res.Failed), Seconds: res.Seconds,
	})
	fmt.Fprintf(w, "%s\n", b)
}
