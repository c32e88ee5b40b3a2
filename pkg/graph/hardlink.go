package graph

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"bethel/pkg/pos"
)

// checkHardLinks refuses a source that is a hard link to another file the
// workspace holds under another name: an output (ln
// out/private/registrations.csv config/lookup.csv), another source, or a
// file under inputs/, where the raw exports are. A hard link is the same
// file under a second name, so, like a symbolic link, it would let a node
// read private data at the level of the name it declares. Only a source
// with more than one link is looked into, so a workspace without any costs
// one lstat per source.
func (e *engine) checkHardLinks() error {
	type linked struct {
		path string
		fi   fs.FileInfo
	}
	var many []linked
	for _, s := range e.p.Sources {
		fi, err := os.Lstat(e.abs(s))
		if err != nil || !fi.Mode().IsRegular() || links(fi) < 2 {
			continue
		}
		many = append(many, linked{s, fi})
	}
	if len(many) == 0 {
		return nil
	}
	// Every other name a linked source could share its file with.
	var names []string
	names = append(names, e.p.Sources...)
	for o := range e.p.Producer {
		names = append(names, o)
	}
	_ = filepath.WalkDir(e.abs("inputs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if rel, err := filepath.Rel(e.root, p); err == nil {
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(names)
	names = slices.Compact(names)
	var errs pos.List
	for _, l := range many {
		for _, other := range names {
			if other == l.path {
				continue
			}
			fi, err := os.Lstat(e.abs(other))
			if err != nil || !os.SameFile(l.fi, fi) {
				continue
			}
			for _, n := range e.p.Nodes {
				if slices.Contains(n.InputFiles, l.path) || slices.Contains(n.PatchFiles, l.path) {
					errs = append(errs, pos.Errorf(n.Pos, "node %q reads %s, a hard link to %s: read that file by its own path, so that its level and its producer count", n.Name, l.path, other))
					break
				}
			}
			break
		}
	}
	return errs.Err()
}
