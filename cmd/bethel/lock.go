package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"bethel/pkg/cache"
	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
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
	nodeName := fs.String("node", "", "the program `NODE` (default: the one node whose stage is program)")
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
	n, err := programNode(p, *nodeName)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	lockPath := ""
	for _, in := range n.InputFiles {
		if strings.HasSuffix(in, "/"+stages.ProgramLockFile) || in == stages.ProgramLockFile {
			lockPath = in
		}
	}
	if lockPath == "" {
		return &ExitError{Code: 2, Err: fmt.Errorf("%s: node %s has no lock file among its inputs; create config/%s holding the unlocked state {\"locked\": false, \"sessions\": []} and add it to the node's inputs",
			n.Pos, n.Name, stages.ProgramLockFile)}
	}
	root := ws.root(env)
	var data []byte
	var msg string
	if lock {
		run := &stage.Run{
			Node: n.Name, Inputs: n.InputFiles, Patches: n.PatchFiles, Outputs: n.Outputs,
			Visibility: n.Visibility, Params: n.Params, FS: os.DirFS(root),
			Create: func(string) (io.Writer, error) { return nil, errors.New("bethel lock writes no output") },
			Warnf:  func(format string, a ...any) { fmt.Fprintf(env.Stderr, "warning: "+format+"\n", a...) },
		}
		l, err := stages.LockProgram(ctx, run)
		if err != nil {
			return fmt.Errorf("node %s: cannot lock the program:\n%w", n.Name, err)
		}
		data = stages.MarshalLock(l)
		msg = fmt.Sprintf("locked %d sessions in %s; commit it. From now on a change needs a program patch with after_lock = true and a reason.", len(l.Sessions), lockPath)
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

// programNode finds the program node: by name, or the only node running
// the program stage.
func programNode(p *pipeline.Pipeline, name string) (*pipeline.Node, error) {
	var found []*pipeline.Node
	for _, n := range p.Nodes {
		if (name != "" && n.Name == name) || (name == "" && n.Stage == "program") {
			found = append(found, n)
		}
	}
	switch {
	case len(found) == 1 && found[0].Stage == "program":
		return found[0], nil
	case len(found) == 1:
		return nil, fmt.Errorf("%s: node %s runs %q, not the program stage", found[0].Pos, name, found[0].Stage+found[0].Run)
	case len(found) == 0 && name != "":
		return nil, fmt.Errorf("%s: no node called %q", p.File, name)
	case len(found) == 0:
		return nil, fmt.Errorf("%s: no node runs stage \"program\"", p.File)
	}
	names := make([]string, len(found))
	for i, n := range found {
		names[i] = n.Name
	}
	return nil, fmt.Errorf("%s: several nodes run stage \"program\" (%s); choose one with -node", p.File, strings.Join(names, ", "))
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
