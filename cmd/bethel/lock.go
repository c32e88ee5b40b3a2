package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"bethel/pkg/cache"
	"bethel/pkg/graph"
	"bethel/pkg/pipeline"
	"bethel/pkg/stages"
)

// `bethel lock program` records the enriched schedule in the program
// node's lock file (config/program.lock.json) and `bethel unlock program`
// resets it. Format and semantics: stages.ProgramLockFile. Unlocking writes
// the unlocked state instead of deleting the file, because the file is a
// declared input and the engine refuses a missing source.
func init() {
	register(&command{name: "lock", summary: "lock the program: later builds fail on changes without after_lock patches", run: func(ctx context.Context, env *Env, args []string) error {
		return runLock(ctx, env, args, true)
	}})
	register(&command{name: "unlock", summary: "unlock the program (resets config/program.lock.json)", run: func(ctx context.Context, env *Env, args []string) error {
		return runLock(ctx, env, args, false)
	}})
}

func runLock(ctx context.Context, env *Env, args []string, lock bool) error {
	verb := map[bool]string{true: "lock", false: "unlock"}[lock]
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	ws := addWorkspaceFlags(fs)
	nodeName := fs.String("node", "", "the program `NODE` (default: the one node that reads a program lock file)")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: bethel %s [-C DIR] [-f FILE] [-node NODE] program\n", verb)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &ExitError{Code: 2}
	}
	if fs.NArg() != 1 || fs.Arg(0) != "program" {
		return usagef("bethel %s: say what to %s: `bethel %s program`", verb, verb, verb)
	}
	p, err := ws.loadReadOnly(env)
	if err != nil {
		return err
	}
	n, lockPath, err := programNode(p, *nodeName)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	root := ws.root(env)
	var data []byte
	var msg string
	if lock {
		run, err := graph.QueryRun(p, n, graph.Query{
			Warnf: func(format string, a ...any) { fmt.Fprintf(env.Stderr, "warning: "+format+"\n", a...) },
		})
		if err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		l, err := stages.LockProgram(ctx, run)
		if err != nil {
			return fmt.Errorf("node %s: cannot lock the program:\n%w", n.Name, err)
		}
		data = stages.MarshalLock(l)
		msg = fmt.Sprintf("locked %d sessions in %s. From now on a change needs a program patch with after_lock = true and a reason.", len(l.Sessions), lockPath)
	} else {
		data = stages.UnlockedProgram()
		msg = fmt.Sprintf("unlocked the program (%s now holds the unlocked state)", lockPath)
	}
	if err := writeAtomic(filepath.Join(root, filepath.FromSlash(lockPath)), data); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, msg)
	return nil
}

// programNode finds the node whose program to lock: the one named, or the
// one stage node that reads a program lock file (stages.ProgramLockFile),
// and the path of that file. The stage is not known by name: a node is a
// program node because it reads the lock.
func programNode(p *pipeline.Pipeline, name string) (*pipeline.Node, string, error) {
	lockOf := func(n *pipeline.Node) string {
		if !n.IsStage() {
			return ""
		}
		for _, in := range n.InputFiles {
			if path.Base(in) == stages.ProgramLockFile {
				return in
			}
		}
		return ""
	}
	if name != "" {
		n := p.Lookup(name)
		if n == nil || n.Name != name {
			return nil, "", fmt.Errorf("%s: no node called %q", p.File, name)
		}
		lp := lockOf(n)
		if lp == "" {
			return nil, "", fmt.Errorf("%s: node %s reads no program lock file (%s): it has no program to lock", n.Pos, n.Name, stages.ProgramLockFile)
		}
		return n, lp, nil
	}
	var found []*pipeline.Node
	for _, n := range p.Nodes {
		if lockOf(n) != "" {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 1:
		return found[0], lockOf(found[0]), nil
	case 0:
		return nil, "", fmt.Errorf("%s: no node reads a program lock file; create config/%s holding the unlocked state {\"locked\": false, \"sessions\": []} and add it to the program node's inputs",
			p.File, stages.ProgramLockFile)
	}
	names := make([]string, len(found))
	for i, n := range found {
		names[i] = n.Name
	}
	return nil, "", fmt.Errorf("%s: several nodes read a program lock file (%s); choose one with -node", p.File, strings.Join(names, ", "))
}

func writeAtomic(path string, data []byte) error {
	f, err := cache.Create(path, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}
