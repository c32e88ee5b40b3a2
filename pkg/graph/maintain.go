package graph

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"bethel/pkg/cache"
	"bethel/pkg/pipeline"
)

// CleanResult says what Clean did.
type CleanResult struct {
	Removed  []string // outputs removed
	Warnings []string // outputs edited by hand, moved aside instead
}

// Clean removes the declared outputs of the selected nodes (Targets, or
// every node). The cache and the state stay, so the next build restores
// them without running anything. An output edited by hand is moved to
// EditedDir, as a build would, never deleted.
func Clean(p *pipeline.Pipeline, opts Options) (*CleanResult, error) {
	nodes, err := selectNodes(p, opts.Targets)
	if err != nil {
		return nil, err
	}
	unlock, err := lockWorkspace(p.Root, opts.LockWait, opts.OnLockWait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	e, err := newEngine(p, opts, false)
	if err != nil {
		return nil, err
	}
	e.loadState()
	res := &CleanResult{}
	dirs := map[string]bool{}
	for _, n := range nodes {
		prev, built := e.j.get(n.Name)
		for _, o := range n.Outputs {
			abs := e.abs(o)
			if l := linkedDir(p.Root, o); l != "" {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s is under %s, a symbolic link: not followed, not removed", o, l))
				continue
			}
			h, _, err := cache.HashFile(abs)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err == nil && built && !prev.interrupted {
				if rec, ok := prev.output(o); ok && rec != h && !e.store.HasBlob(h) {
					rel, err := e.moveAside(o, h)
					if err != nil {
						return res, fmt.Errorf("%s was edited by hand and could not be moved aside: %w", o, err)
					}
					res.Warnings = append(res.Warnings, fmt.Sprintf("%s was edited by hand: kept as %s (a correction belongs in a patch)", o, rel))
					dirs[filepath.Dir(abs)] = true
					continue
				}
			}
			if err := os.Remove(abs); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return res, err
			}
			res.Removed = append(res.Removed, o)
			dirs[filepath.Dir(abs)] = true
		}
	}
	// The build report describes the outputs; a full clean removes it with
	// them.
	if p.Report != "" && len(opts.Targets) == 0 {
		abs := e.abs(p.Report)
		if l := linkedDir(p.Root, p.Report); l != "" {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s is under %s, a symbolic link: not followed, not removed", p.Report, l))
		} else if err := os.Remove(abs); err == nil {
			res.Removed = append(res.Removed, p.Report)
			dirs[filepath.Dir(abs)] = true
		}
	}
	// Remove directories the outputs leave empty, deepest first, never the
	// root itself.
	var ds []string
	for d := range dirs {
		for ; d != p.Root && len(d) > len(p.Root); d = filepath.Dir(d) {
			ds = append(ds, d)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return len(ds[i]) > len(ds[j]) })
	for _, d := range ds {
		if fi, err := os.Lstat(d); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			continue // a link to a directory is never removed
		}
		os.Remove(d) // fails, harmlessly, when not empty
	}
	return res, nil
}

// GCResult says what GC did.
type GCResult struct {
	cache.TrimResult
	Kept int // action entries the current outputs need
	// Corrupt counts blobs the current outputs need that were damaged on
	// disk: discarded, so the next build rebuilds their nodes.
	Corrupt int
}

// GC trims the cache to maxSize bytes, least recently used entries first,
// never removing what the current outputs of the pipeline's nodes need.
func GC(p *pipeline.Pipeline, opts Options, maxSize int64) (*GCResult, error) {
	unlock, err := lockWorkspace(p.Root, opts.LockWait, opts.OnLockWait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	store, err := cache.Open(cacheDir(p.Root))
	if err != nil {
		return nil, err
	}
	j := loadJournal(journalPath(p.Root))
	keepKeys := map[cache.Hash]bool{}
	keepBlobs := map[cache.Hash]bool{}
	for _, n := range p.Nodes {
		st, ok := j.get(n.Name)
		if !ok || st.interrupted {
			continue
		}
		keepKeys[st.key] = true
		for _, o := range st.outputs {
			keepBlobs[o.h] = true
		}
		if m, err := store.GetManifest(st.key); err == nil {
			for _, h := range m.Blobs() {
				keepBlobs[h] = true
			}
		}
	}
	// What the current outputs need is re-hashed: a blob damaged on disk
	// is discarded now, so that the next build rebuilds the node that
	// stored it instead of failing when a dependent reads it.
	corrupt := 0
	for h := range keepBlobs {
		var miss *cache.MissError
		if err := store.VerifyBlob(h); errors.As(err, &miss) && miss.Corrupt {
			corrupt++
		}
	}
	if corrupt > 0 {
		os.Remove(cleanPath(p.Root))
	}
	tr, err := store.Trim(maxSize, keepKeys, keepBlobs)
	// Provenance records are the provenance package's business, but
	// temporary files a crash left among them are the engine's.
	top := provenanceDir(p.Root)
	n, _ := cache.SweepTemp(top)
	tr.Temp += n
	ents, _ := os.ReadDir(top)
	for _, ent := range ents {
		if ent.IsDir() {
			n, _ := cache.SweepTemp(filepath.Join(top, ent.Name()))
			tr.Temp += n
		}
	}
	return &GCResult{TrimResult: tr, Kept: len(keepKeys), Corrupt: corrupt}, err
}
