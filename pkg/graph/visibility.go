package graph

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"bethel/pkg/pipeline"
	"bethel/pkg/pos"
	"bethel/pkg/stage"
)

// classify reads the workspace's privacy declaration and computes every
// node's visibility (pipeline.Classify) before anything is decided: the
// level is part of every action key and sets the outputs' file modes. The
// engine keeps the declaration for the sandbox and the leak gate.
func (e *engine) classify() error {
	if err := e.checkLinks(); err != nil {
		return err
	}
	if err := e.checkOutputLinks(); err != nil {
		return err
	}
	if err := e.checkHardLinks(); err != nil {
		return err
	}
	d, err := pipeline.LoadDeclaration(e.p)
	if err != nil {
		return err
	}
	e.decl = d
	e.declass = map[*pipeline.Node]*stage.Declassification{}
	return pipeline.Classify(e.p, d, func(n *pipeline.Node) (*stage.Declassification, error) {
		st, ok := e.opts.Registry.Lookup(n.Stage)
		if !ok {
			return nil, nil // the unknown stage fails the node itself
		}
		dc, ok := st.(stage.Declassifier)
		if !ok {
			return nil, nil
		}
		c, err := dc.Declassifies(n.Params)
		if err != nil {
			return nil, err
		}
		e.declass[n] = &c
		return &c, nil
	})
}

// checkLinks resolves the sources that go through a symbolic link: one
// that leads outside the workspace, or into out/ or .bethel/, is refused,
// since it would let a node read what it does not declare (a private
// output behind config/lookup.csv, bethel's cache) at a level the
// declaration never gave it.
func (e *engine) checkLinks() error {
	if len(e.p.Links) == 0 {
		return nil
	}
	root, err := filepath.EvalSymlinks(e.root)
	if err != nil {
		return err
	}
	var errs pos.List
	for _, f := range e.p.Links {
		real, err := filepath.EvalSymlinks(e.abs(f))
		if err != nil {
			continue // dangling: the missing input fails its node
		}
		rel, err := filepath.Rel(root, real)
		msg := ""
		switch r := filepath.ToSlash(rel); {
		case err != nil || r == ".." || strings.HasPrefix(r, "../"):
			msg = "leads outside the workspace"
		case r == "out" || strings.HasPrefix(r, "out/"):
			if w := e.p.Producer[r]; w != nil {
				msg = fmt.Sprintf("leads to %s, an output of node %q: read it by that path, so that its level and its producer count", r, w.Name)
			} else {
				msg = fmt.Sprintf("leads to %s, under out/, which no node writes", r)
			}
		case r == StateDir || strings.HasPrefix(r, StateDir+"/"):
			msg = "leads into .bethel/, bethel's cache and state"
		}
		if msg == "" {
			continue
		}
		at := pos.Pos{File: e.p.File}
		for _, n := range e.p.Nodes {
			if slices.Contains(n.InputFiles, f) || slices.Contains(n.PatchFiles, f) {
				at = n.Pos
				errs = append(errs, pos.Errorf(at, "node %q reads %s, a symbolic link that %s", n.Name, f, msg))
				break
			}
		}
	}
	return errs.Err()
}

// checkOutputLinks refuses an output whose path goes through a symbolic
// link to a directory (out/cfg -> ../config): writing it would write
// outside out/, over a source such as config/privacy.toml, or anywhere on
// the machine. Each output directory is looked at once.
func (e *engine) checkOutputLinks() error {
	seen := map[string]bool{}
	var errs pos.List
	for _, n := range e.p.Nodes {
		for _, o := range n.Outputs {
			d := path.Dir(o)
			if seen[d] {
				continue
			}
			seen[d] = true
			if l := linkedDir(e.root, o); l != "" {
				errs = append(errs, pos.Errorf(n.Pos, "node %q writes %s through %s, a symbolic link to a directory: bethel writes only under out/; remove the link", n.Name, o, l))
			}
		}
	}
	return errs.Err()
}

// linkedDir returns the first directory above the workspace path p that
// is a symbolic link ("" when none): clean follows no such link.
func linkedDir(root, p string) string {
	parts := strings.Split(p, "/")
	for i := 1; i < len(parts); i++ {
		d := strings.Join(parts[:i], "/")
		if fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(d))); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return d
		}
	}
	return ""
}
