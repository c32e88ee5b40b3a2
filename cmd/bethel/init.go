package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// inittemplate is the scaffold of a new event workspace: the sample's
// pipeline, config templates, header-only exports and empty patch
// directories. It builds at once with `bethel make` (to empty summaries),
// so that organizers start from a working build and change one file at a
// time.
//
//go:embed all:inittemplate
var initTemplate embed.FS

func init() {
	register(&command{name: "init", summary: "scaffold a new event workspace in DIR", run: runInit})
}

func runInit(ctx context.Context, env *Env, args []string) error {
	fset := flag.NewFlagSet("init", flag.ContinueOnError)
	fset.SetOutput(env.Stderr)
	fset.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: bethel init DIR")
		fmt.Fprintln(env.Stderr, "Creates DIR (which must be empty or absent) with pipeline.toml, config/, inputs/, patches/ and a README.")
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &ExitError{Code: 2}
	}
	if fset.NArg() != 1 {
		return usagef("bethel init: want one DIR")
	}
	dir := fset.Arg(0)
	if !filepath.IsAbs(dir) && env.Dir != "" {
		dir = filepath.Join(env.Dir, dir)
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty; bethel init only creates new workspaces", fset.Arg(0))
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	sub, err := fs.Sub(initTemplate, "inittemplate")
	if err != nil {
		return err
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		// The .keep files only carry empty directories through go:embed.
		if strings.HasSuffix(p, "/.keep") {
			return nil
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created the event workspace %s; next: cd %s && bethel make (see README.md there)\n", fset.Arg(0), fset.Arg(0))
	return nil
}
