package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"bethel/pkg/graph"
	"bethel/pkg/pipeline"
	"bethel/pkg/stages"
)

// workspaceFlags are the flags every engine command shares: -C DIR and
// -f FILE, as in make.
type workspaceFlags struct {
	dir  string
	file string

	found string // the root found upward, once root has looked
}

func addWorkspaceFlags(fs *flag.FlagSet) *workspaceFlags {
	w := &workspaceFlags{}
	fs.StringVar(&w.dir, "C", ".", "run in `DIR` (the workspace root)")
	fs.StringVar(&w.file, "f", "pipeline.toml", "pipeline `FILE`, relative to the workspace root")
	return w
}

// root is the workspace directory: the first of -C DIR (resolved against
// the Env's directory) and its parents that holds the pipeline file, as git
// finds its repository, so that bethel works from patches/ or out/summary/.
// When none holds it, root is DIR itself and loading says the file is
// missing there.
func (w *workspaceFlags) root(env *Env) string {
	if w.found != "" {
		return w.found
	}
	dir := w.dir
	if !filepath.IsAbs(dir) && env.Dir != "" {
		dir = filepath.Join(env.Dir, dir)
	}
	w.found = findRoot(dir, w.file)
	return w.found
}

// findRoot returns the nearest of dir and its parents that holds file (a
// path relative to the root), or dir when none does. Only a regular file
// counts, so a directory named like the pipeline file does not stop the
// search.
func findRoot(dir, file string) string {
	if filepath.IsAbs(file) {
		return dir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	for d := abs; ; {
		if fi, err := os.Stat(filepath.Join(d, filepath.FromSlash(file))); err == nil && fi.Mode().IsRegular() {
			if d == abs {
				return dir // keep the caller's spelling when nothing was searched
			}
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}

// compiledDir holds the compiled-pipeline cache (see docs/pipeline.md),
// relative to the workspace root.
const compiledDir = graph.CompiledDir

// load loads and validates the pipeline through the compiled-pipeline
// cache (decoding 1000 nodes of TOML costs more than a whole no-op build);
// an invalid pipeline exits 2.
func (w *workspaceFlags) load(env *Env) (*pipeline.Pipeline, error) {
	p, err := pipeline.LoadCached(w.root(env), w.file, stages.Registry().Names(), compiledDir)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: scrubLoadError(w.root(env), err)}
	}
	return p, nil
}

// loadReadOnly loads without the compiled cache, for commands that promise
// to write nothing (status, make -n).
func (w *workspaceFlags) loadReadOnly(env *Env) (*pipeline.Pipeline, error) {
	p, err := pipeline.Load(w.root(env), w.file, stages.Registry().Names())
	if err != nil {
		return nil, &ExitError{Code: 2, Err: scrubLoadError(w.root(env), err)}
	}
	return p, nil
}

// lessGC lets the heap grow to four times its live size before
// collecting (GOGC=300). With the default setting a 1000-node no-op spent
// more time in a few collections than deciding every node; at 300 a no-op
// of 1000 or 5000 nodes collects never. More is worse for large builds:
// every byte of a heap allowed to grow is memory touched for the first
// time, a page fault each 4 KB, where a collection lets the next stage
// reuse what the last one freed. At 800 a one-patch rebuild of 100,000
// registrations took 77,000 page faults and 0.86 CPU s, at 300 40,000
// and 0.75 (scripts/bench-stages.sh).
func lessGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
}

// engineOptions are the graph options every engine command starts from.
func engineOptions(env *Env, debugKey bool) graph.Options {
	opts := graph.Options{Version: Version, Registry: stages.Registry()}
	if debugKey || debugEnabled("key") {
		opts.DebugKey = env.Stderr
	}
	if debugEnabled("time") {
		opts.DebugTime = env.Stderr
	}
	// Cell lineage is on by default; BETHEL_LINEAGE=off measures a build
	// without it (scripts/bench-provenance.sh).
	opts.NoLineage = os.Getenv("BETHEL_LINEAGE") == "off"
	return opts
}

// debugEnabled reports whether BETHEL_DEBUG (a comma-separated list)
// contains what.
func debugEnabled(what string) bool {
	for _, s := range strings.Split(os.Getenv("BETHEL_DEBUG"), ",") {
		if strings.TrimSpace(s) == what {
			return true
		}
	}
	return false
}

// parseFlags parses args allowing flags after positional arguments
// (`bethel make summary -j 4`), and returns the positional ones. -h prints
// the usage and exits 0.
func parseFlags(fs *flag.FlagSet, env *Env, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	args = splitJobs(args)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(env.Stdout)
				fs.Usage()
				return nil, &ExitError{Code: 0}
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// splitJobs turns make's and ninja's -j4 into -j 4, which flag needs.
func splitJobs(args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if len(a) > 2 && strings.HasPrefix(a, "-j") && strings.Trim(a[2:], "0123456789") == "" {
			out = append(out, "-j", a[2:])
			continue
		}
		out = append(out, a)
	}
	return out
}

// usageFunc prints a subcommand's synopsis and flags.
func usageFunc(fs *flag.FlagSet, synopsis, about string) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s\n\n%s\n\nflags:\n", synopsis, about)
		fs.PrintDefaults()
	}
}

// exitFor maps an engine error to the CLI's exit codes: an unknown target
// is a usage error (2); a failed build or a busy workspace is 1.
func exitFor(err error) error {
	if err == nil {
		return nil
	}
	var be *graph.BuildError
	if errors.As(err, &be) {
		return &ExitError{Code: 1, Err: err}
	}
	var te *graph.TargetError
	if errors.As(err, &te) {
		return &ExitError{Code: 2, Err: err}
	}
	return err
}
