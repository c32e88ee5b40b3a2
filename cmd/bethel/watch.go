package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"bethel/pkg/graph"
	"bethel/pkg/pipeline"
	"bethel/pkg/remote"
	"bethel/pkg/serve"
	"bethel/pkg/stages"
	"bethel/pkg/watch"
)

func init() {
	register(&command{
		name:    "watch",
		summary: "build, then rebuild after every save; --serve previews out/site/ with live reload",
		run:     runWatch,
	})
}

// defaultServeAddr is where --serve listens when given no address:
// loopback, because the review site holds internal event data.
const defaultServeAddr = "127.0.0.1:8080"

// siteDir is the directory --serve publishes, relative to the root.
const siteDir = "out/site"

// serveFlag is --serve [ADDR]: a boolean flag that may carry a value.
type serveFlag struct {
	on   bool
	addr string
}

func (f *serveFlag) String() string   { return f.addr }
func (f *serveFlag) IsBoolFlag() bool { return true }
func (f *serveFlag) Set(s string) error {
	switch s {
	case "true":
		f.on, f.addr = true, defaultServeAddr
	case "false":
		f.on = false
	default:
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("want HOST:PORT, e.g. %s", defaultServeAddr)
		}
		f.on, f.addr = true, s
	}
	return nil
}

// splitServeArg turns "--serve ADDR" into "--serve=ADDR" when the word after
// --serve is an address, since the flag package gives a boolean flag no
// separate value. Anything else after --serve stays a target.
func splitServeArg(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if (a == "--serve" || a == "-serve") && i+1 < len(args) && looksLikeAddr(args[i+1]) {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

func looksLikeAddr(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "" || strings.ContainsAny(host, "/") {
		return false
	}
	for _, r := range port {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func runWatch(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	ws := addWorkspaceFlags(fs)
	rf := addRemoteFlags(fs)
	jobs := fs.Int("j", 0, "run up to `N` nodes at once (default: the number of CPUs)")
	keepGoing := fs.Bool("k", false, "keep going after a node fails: build everything that does not depend on it")
	asJSON := fs.Bool("json", false, `print one JSON line per build: make --json's keys plus "changed"`)
	var srv serveFlag
	fs.Var(&srv, "serve", "serve "+siteDir+"/ over HTTP on `[ADDR]` (default "+defaultServeAddr+") and reload open pages after each good build")
	publicOK := fs.Bool("public-serve-ok", false, "allow --serve on an address other machines can reach (the site holds internal data)")
	debounce := fs.Duration("debounce", watch.DefaultDebounce, "quiet period that ends a burst of saves")
	wait := fs.Duration("wait", 10*time.Minute, "how long each build waits for another bethel running in this workspace")
	fs.Usage = usageFunc(fs, "bethel watch [-C DIR] [-f FILE] [-j N] [--json] [--serve [ADDR]] [--public-serve-ok] [TARGET...]",
		"Builds the targets (default: every node), then rebuilds after every change to a file the\n"+
			"pipeline reads and to the pipeline file itself, until interrupted (exit status 0).\n"+
			"When a node fails, its outputs and those of the nodes after it stay as they were (a failed\n"+
			"command node's own outputs excepted: the engine removes them before it runs); the next good\n"+
			"save recovers.")
	targets, err := parseFlags(fs, env, splitServeArg(args))
	if err != nil {
		return err
	}
	if *debounce <= 0 {
		return usagef("watch: --debounce must be positive")
	}
	root, err := filepath.Abs(ws.root(env))
	if err != nil {
		return err
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return usagef("watch: %s is not a directory", ws.dir)
	}
	errw := &syncWriter{w: env.Stderr}
	if srv.on && !serve.IsLoopback(srv.addr) && !*publicOK {
		return usagef("watch: --serve %s is reachable from other machines, and the review site holds internal event data; "+
			"use a loopback address (%s) or add --public-serve-ok", srv.addr, defaultServeAddr)
	}

	wt := &watcher{
		env: env, errw: errw, root: root, file: ws.file, targets: targets, json: *asJSON,
		jobs: *jobs, keepGoing: *keepGoing, wait: *wait, remote: rf,
	}
	wt.reload()
	in := wt.interest()
	cfg := watch.Config{
		Root: root, Interest: in, Debounce: *debounce,
		Logf: func(format string, args ...any) { fmt.Fprintf(errw, "bethel: "+format+"\n", args...) },
	}
	if debugEnabled("watch") {
		cfg.Debugf = func(format string, args ...any) { fmt.Fprintf(errw, "bethel: watch: "+format+"\n", args...) }
		wt.debugf = cfg.Debugf
	}
	fw, err := watch.New(cfg)
	if err != nil {
		return err
	}
	defer fw.Close()
	wt.in = in

	if srv.on {
		stop, err := wt.startServer(srv.addr, *publicOK)
		if err != nil {
			return err
		}
		defer stop()
	}
	fmt.Fprintf(errw, "bethel: watching %s (%d files, %d patterns); Ctrl-C stops\n", ws.dir, len(in.Files), len(in.Globs))
	if _, ok := wt.pipelineRel(); !ok {
		fmt.Fprintf(errw, "bethel: note: %s is outside the workspace and is not watched; restart the watch after editing it\n", wt.file)
	}
	if err := wt.build(ctx, watch.Batch{}, true); err != nil {
		var te *graph.TargetError
		if errors.As(err, &te) {
			// A mistyped target will not fix itself: say so now.
			return exitFor(err)
		}
	}
	for {
		b, err := fw.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		if ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		wt.reload()
		t1 := time.Now()
		if in := wt.interest(); !reflect.DeepEqual(in, wt.in) {
			if err := fw.SetInterest(in); err != nil {
				fmt.Fprintf(errw, "bethel: %v\n", err)
			}
			wt.in = in
		}
		t2 := time.Now()
		wt.build(ctx, b, false)
		if cfg.Debugf != nil {
			cfg.Debugf("reload %v, interest %v, build and report %v", t1.Sub(t0).Round(time.Microsecond),
				t2.Sub(t1).Round(time.Microsecond), time.Since(t2).Round(time.Microsecond))
		}
	}
	fmt.Fprintln(errw, "bethel: watch stopped")
	return nil
}

// watcher is the state of one `bethel watch`.
type watcher struct {
	env       *Env
	errw      io.Writer
	root      string
	file      string
	targets   []string
	json      bool
	jobs      int
	keepGoing bool
	wait      time.Duration
	remote    *remoteFlags // shared cache flags; each build resolves them

	p       *pipeline.Pipeline               // last pipeline that loaded; nil if none yet
	loadErr error                            // why the pipeline file last failed to load
	in      watch.Interest                   // what the file watcher currently watches
	debugf  func(format string, args ...any) // BETHEL_DEBUG=watch, else nil
	site    *serve.Server
}

// reload loads the pipeline file again. Loading is cheap and also expands
// globs, so it runs before every build: a new patch file is only part of
// the graph after a reload.
func (wt *watcher) reload() {
	p, err := pipeline.Load(wt.root, wt.file, stages.Registry().Names())
	if err != nil {
		wt.loadErr = err
		return
	}
	wt.p, wt.loadErr = p, nil
}

// interest is what the pipeline reads: its source files, its glob
// patterns and the pipeline file, without anything a node writes. While
// the pipeline file is broken, the last good pipeline's interest is kept.
func (wt *watcher) interest() watch.Interest {
	in := watch.Interest{}
	if rel, ok := wt.pipelineRel(); ok {
		in.Files = append(in.Files, rel)
	}
	if wt.p == nil {
		return in
	}
	p := wt.p
	nodes := closure(p, wt.targets)
	files := map[string]bool{}
	globs := map[string]bool{}
	for _, n := range nodes {
		for _, list := range [][]string{n.InputFiles, n.PatchFiles} {
			for _, f := range list {
				if p.Producer[f] == nil {
					files[f] = true
				}
			}
		}
		for _, list := range [][]string{n.Inputs, n.Patches} {
			for _, g := range list {
				if strings.ContainsAny(g, `*?[\`) {
					globs[g] = true
				}
			}
		}
	}
	for f := range files {
		in.Files = append(in.Files, f)
	}
	for g := range globs {
		in.Globs = append(in.Globs, g)
	}
	for o := range p.Producer {
		in.Ignore = append(in.Ignore, o)
	}
	sort.Strings(in.Files)
	sort.Strings(in.Globs)
	sort.Strings(in.Ignore)
	return in
}

// pipelineRel is the pipeline file relative to the root; false when it
// lies outside the workspace, where the watch does not look.
func (wt *watcher) pipelineRel() (string, bool) {
	abs := wt.file
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(wt.root, abs)
	}
	rel, err := filepath.Rel(wt.root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// closure returns the nodes the targets need (every node when there are no
// targets, or when a target is unknown: the build reports that).
func closure(p *pipeline.Pipeline, targets []string) []*pipeline.Node {
	if len(targets) == 0 {
		return p.Nodes
	}
	var want []*pipeline.Node
	for _, t := range targets {
		n := p.Lookup(t)
		if n == nil {
			return p.Nodes
		}
		want = append(want, n)
	}
	return p.Closure(want...)
}

// watchJSON is one --json line: make --json's keys, plus what changed.
type watchJSON struct {
	Ran      []string `json:"ran"`
	Restored []string `json:"restored"`
	// RestoredRemote: the restored nodes that came from the shared cache.
	RestoredRemote []string `json:"restored_remote"`
	UpToDate       []string `json:"uptodate"`
	Failed         []string `json:"failed"`
	// Superseded: nodes that failed while one of their inputs changed
	// (graph.Result.Superseded); not in Failed, since the change that
	// superseded them has already queued the next build.
	Superseded []string `json:"superseded"`
	Seconds    float64  `json:"seconds"`
	Changed    []string `json:"changed"`
	// Rescan: events were lost and everything was looked at again.
	Rescan bool `json:"rescan,omitempty"`
	// Error: the pipeline file did not load, or the build failed.
	Error string `json:"error,omitempty"`
}

// build runs one build and prints its block. The error is the build's, for
// the caller to decide whether the watch can go on.
func (wt *watcher) build(ctx context.Context, b watch.Batch, initial bool) error {
	out := wt.env.Stdout
	if !wt.json {
		switch {
		case initial:
		case b.Rescan:
			fmt.Fprintln(out, "\nbethel: changed: events were lost (kernel queue overflow); looking at everything")
		default:
			fmt.Fprintf(out, "\nbethel: changed: %s\n", listPaths(b.Paths, 5))
		}
	}
	rec := watchJSON{Changed: nonNil(b.Paths), Rescan: b.Rescan}
	// What a build prints can quote a value a node read: every free text
	// goes through the scrubber, as in the build report.
	scrubber := newErrScrubber(wt.p, wt.root)
	if wt.loadErr != nil {
		msg := scrubber.failure(wt.loadErr.Error())
		fmt.Fprintf(wt.errw, "bethel: %s\n", msg)
		fmt.Fprintf(wt.errw, "bethel: %s does not load; waiting for it to be fixed (outputs are unchanged)\n", wt.file)
		if wt.json {
			rec.Error = msg
			wt.emit(rec)
		}
		return nil
	}
	opts := engineOptions(wt.env, false)
	opts.Jobs = wt.jobs
	opts.KeepGoing = wt.keepGoing
	opts.Targets = wt.targets
	opts.LockWait = wt.wait
	opts.OnLockWait = func(pid int) {
		who := "another bethel"
		if pid > 0 {
			who = fmt.Sprintf("another bethel (pid %d)", pid)
		}
		fmt.Fprintf(wt.errw, "bethel: waiting for %s running in this workspace\n", who)
	}
	pr := &progress{w: out, errw: wt.errw, terminal: wt.env.IsTerminal && !wt.json, quiet: wt.json, scrub: scrubber}
	opts.Events = pr.event
	var rc *remote.Client
	sc, err := sharedCacheFor(wt.remote, wt.p, wt.errw)
	if err != nil {
		fmt.Fprintf(wt.errw, "bethel: %v; building without the shared cache\n", err)
	} else if sc != nil {
		rc = sc.client()
		opts.Remote = rc
	}
	if wt.debugf != nil {
		// BETHEL_DEBUG=watch: how long each node took, to tell the
		// watch's share of a rebuild from the nodes'.
		started := map[string]time.Time{}
		opts.Events = func(ev graph.Event) {
			if ev.Kind == graph.Start {
				started[ev.Node] = time.Now()
			} else if t, ok := started[ev.Node]; ok {
				wt.debugf("node %s %s in %v", ev.Node, ev.Status, time.Since(t).Round(time.Microsecond))
			}
			pr.event(ev)
		}
	}
	// Written while the build holds the workspace lock (graph.Options.Finish).
	opts.Finish = func(res *graph.Result, _ error) {
		if ctx.Err() != nil {
			return // interrupted: the last report stays
		}
		recordPatchEntries(wt.p, false)
		if rerr := writeReport(wt.p, res, Version, time.Now()); rerr != nil {
			fmt.Fprintf(wt.errw, "bethel: build report %s: %v\n", wt.p.Report, rerr)
		}
	}
	res, err := buildStoppable(ctx, wt.p, opts)
	pr.finish()
	if rc != nil {
		sc.finish(rc, wt.errw)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(wt.errw, "bethel: interrupted; every output is either the old or the new version")
		return ctx.Err()
	}
	if res != nil {
		rec.Ran, rec.Restored, rec.UpToDate = nonNil(res.Ran), nonNil(res.Restored), nonNil(res.UpToDate)
		for _, f := range res.Failed {
			if !slices.Contains(res.Superseded, f) {
				rec.Failed = append(rec.Failed, f)
			}
		}
		rec.Superseded = res.Superseded
		rec.RestoredRemote = res.RestoredRemote
		rec.Seconds = res.Seconds
		if !wt.json {
			fmt.Fprintln(out, summaryLine(res, false))
		}
	}
	if err != nil {
		rec.Error = scrubber.failure(err.Error())
		var be *graph.BuildError
		if !errors.As(err, &be) {
			fmt.Fprintf(wt.errw, "bethel: %s\n", rec.Error)
		}
		if res != nil && len(rec.Failed) == 0 && len(rec.Superseded) > 0 {
			fmt.Fprintln(wt.errw, "bethel: an input changed while the build ran; the next build runs the superseded nodes again")
		} else {
			fmt.Fprintln(wt.errw, "bethel: build failed; waiting for the next save")
		}
	}
	if wt.json {
		if res == nil {
			rec.Ran, rec.Restored, rec.UpToDate, rec.Failed = []string{}, []string{}, []string{}, []string{}
		}
		wt.emit(rec)
	}
	// Open pages reload after a failed build too: build.js now says it
	// failed, and every page shows the banner until a good build.
	if (err == nil || res != nil) && wt.site != nil {
		wt.site.Reload()
	}
	return err
}

// stopGrace is how long a stop waits for an interrupted build to return.
const stopGrace = 3 * time.Second

// buildStoppable runs graph.Build, and once ctx is cancelled waits at most
// stopGrace for it to return. The engine stops its nodes when ctx is
// cancelled, but a build still waiting for another bethel's workspace lock
// would hold the stop for up to --wait; such a build has written nothing,
// and the kernel releases every lock when the process exits.
func buildStoppable(ctx context.Context, p *pipeline.Pipeline, opts graph.Options) (*graph.Result, error) {
	type result struct {
		res *graph.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := graph.Build(ctx, p, opts)
		done <- result{res, err}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-ctx.Done():
	}
	select {
	case r := <-done:
		return r.res, r.err
	case <-time.After(stopGrace):
		return nil, ctx.Err()
	}
}

func (wt *watcher) emit(rec watchJSON) {
	for _, l := range []*[]string{&rec.Ran, &rec.Restored, &rec.RestoredRemote, &rec.UpToDate, &rec.Failed, &rec.Superseded, &rec.Changed} {
		*l = nonNil(*l)
	}
	line, _ := json.Marshal(rec)
	fmt.Fprintf(wt.env.Stdout, "%s\n", line)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// listPaths prints at most max paths, then how many more there are.
func listPaths(paths []string, max int) string {
	if len(paths) <= max {
		return strings.Join(paths, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(paths[:max], ", "), len(paths)-max)
}

// startServer serves out/site/ and returns the function that stops it.
func (wt *watcher) startServer(addr string, public bool) (func(), error) {
	wt.site = serve.New(filepath.Join(wt.root, filepath.FromSlash(siteDir)))
	wt.site.Label = siteDir + "/"
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("watch --serve: %w", err)
	}
	if !serve.IsLoopback(addr) && public {
		fmt.Fprintf(wt.errw, "bethel: warning: serving on %s, which other machines can reach: "+
			"the review site holds internal event data (counts per bethel, the program, record keys); "+
			"anyone who can connect can read it\n", addr)
	}
	wt.site.Bind(ln.Addr().String())
	hs := &http.Server{Handler: wt.site, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	fmt.Fprintf(wt.errw, "bethel: serving %s/ at http://%s/\n", siteDir, ln.Addr())
	return func() {
		wt.site.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}, nil
}

// syncWriter serializes writes from the build and the file watcher's
// goroutine.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
