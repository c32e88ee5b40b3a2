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
	fromExport := fset.String("from-export", "", "declare the fields from this registration `export` (CSV) and build on it")
	fset.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: bethel init [--from-export FILE] DIR")
		fmt.Fprintln(env.Stderr, "Creates DIR (which must be empty or absent) with pipeline.toml, config/, inputs/, patches/ and a README.")
		fmt.Fprintln(env.Stderr, "With --from-export, config/fields.toml declares FILE's columns (types, vocabularies and personal")
		fmt.Fprintln(env.Stderr, "columns guessed), FILE becomes inputs/registrations.csv and pipeline.toml counts every field with a")
		fmt.Fprintln(env.Stderr, "vocabulary. It prints what it guessed and what to check, never a value of a personal column.")
		fset.PrintDefaults()
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
	var scaffold *exportScaffold
	if *fromExport != "" {
		export := *fromExport
		if !filepath.IsAbs(export) && env.Dir != "" {
			export = filepath.Join(env.Dir, export)
		}
		var err error
		if scaffold, err = scaffoldFromExport(export, *fromExport); err != nil {
			return err
		}
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
		if scaffold != nil {
			if data, err = scaffold.file(p, data); err != nil {
				return err
			}
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		return err
	}
	if scaffold != nil {
		scaffold.guess.report(env.Stdout)
	}
	fmt.Fprintf(env.Stdout, "created the event workspace %s; next: cd %s && bethel make (see README.md there)\n", fset.Arg(0), fset.Arg(0))
	return nil
}
