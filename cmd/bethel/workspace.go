package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
}

func addWorkspaceFlags(fs *flag.FlagSet) *workspaceFlags {
	w := &workspaceFlags{}
	fs.StringVar(&w.dir, "C", ".", "run in `DIR` (the workspace root)")
	fs.StringVar(&w.file, "f", "pipeline.toml", "pipeline `FILE`, relative to the workspace root")
	return w
}

// root is the workspace directory, resolved against the Env's directory.
func (w *workspaceFlags) root(env *Env) string {
	if filepath.IsAbs(w.dir) || env.Dir == "" {
		return w.dir
	}
	return filepath.Join(env.Dir, w.dir)
}

// load loads and validates the pipeline; an invalid pipeline exits 2.
func (w *workspaceFlags) load(env *Env) (*pipeline.Pipeline, error) {
	p, err := pipeline.Load(w.root(env), w.file, stages.Registry().Names())
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	return p, nil
}

// engineOptions are the graph options every engine command starts from.
func engineOptions(env *Env, debugKey bool) graph.Options {
	opts := graph.Options{Version: Version, Registry: stages.Registry()}
	if debugKey || debugEnabled("key") {
		opts.DebugKey = env.Stderr
	}
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
