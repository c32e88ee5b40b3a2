package graph

import (
	"errors"
	"fmt"
	"path/filepath"

	"bethel/pkg/cache"
	"bethel/pkg/pipeline"
	"bethel/pkg/provenance"
)

// Records answers "where did this output come from" outside a build, for
// bethel why: the provenance record of an output's current content, the
// cell lineage that record names, and the records of what its node read,
// back to the sources. It reads only: the provenance store, the cache's
// blobs, and the workspace's files hashed through the stat cache, which is
// never saved. A record whose node read a file that has changed since
// describes a build the next make will redo, so it is refused as stale.
// A Records is not safe for concurrent use.
type Records struct {
	p       *pipeline.Pipeline
	recs    *provenance.Store
	store   *cache.Store
	stat    *cache.StatCache
	checked map[string]error // by path: the freshness verdict
}

// OpenRecords returns the records of p's workspace.
func OpenRecords(p *pipeline.Pipeline) *Records {
	return &Records{
		p:       p,
		recs:    provenance.OpenStore(provenanceDir(p.Root)),
		store:   cache.OpenReadOnly(cacheDir(p.Root)),
		stat:    cache.LoadStatCache(statPath(p.Root)),
		checked: map[string]error{},
	}
}

func (r *Records) abs(p string) string { return filepath.Join(r.p.Root, filepath.FromSlash(p)) }

// Current returns the content hash of a workspace file as it is now.
func (r *Records) Current(path string) (cache.Hash, error) {
	h, _, err := r.stat.Hash(path, r.abs(path))
	return h, err
}

// Record returns the provenance record of path's content h: an error
// wrapping provenance.ErrNoRecord when bethel never built those bytes (or
// forgot them), and a stale error when a file the record's node read has
// changed or is gone since.
func (r *Records) Record(path string, h cache.Hash) (*provenance.Record, error) {
	rec, err := r.recs.Get(path, h)
	if err != nil {
		return nil, err
	}
	if err := r.checkFresh(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

func (r *Records) checkFresh(rec *provenance.Record) error {
	if err, ok := r.checked[rec.Path]; ok {
		return err
	}
	var stale error
	for _, l := range [][]provenance.FileHash{rec.Inputs, rec.Config, rec.Patches} {
		for _, f := range l {
			h, err := r.Current(f.Path)
			if stale == nil && (err != nil || h != f.Hash) {
				what := "changed"
				if err != nil {
					what = "is gone"
				}
				stale = fmt.Errorf("%s is stale: %s %s since node %s built it; run bethel make first", rec.Path, f.Path, what, rec.Node)
			}
		}
	}
	r.checked[rec.Path] = stale
	return stale
}

// Built returns the content hash of path as it is now and the record of
// that content, without the freshness check: right after a build (the
// build report), the record that build just wrote or kept. rec is nil
// when there is none.
func (r *Records) Built(path string) (h cache.Hash, rec *provenance.Record, err error) {
	if h, err = r.Current(path); err != nil {
		return h, nil, err
	}
	if rec, err = r.recs.Get(path, h); err != nil {
		return h, nil, nil
	}
	return h, rec, nil
}

// Lineage returns the cell lineage rec names, in pkg/lineage's form, read
// from the cache and verified there; nil when rec names none.
func (r *Records) Lineage(rec *provenance.Record) ([]byte, error) {
	if !rec.HasLineage() {
		return nil, nil
	}
	b, err := r.store.ReadBlob(rec.Lineage)
	if err != nil {
		return nil, fmt.Errorf("%s: lineage of this build is not in the cache (%w); run bethel make to record it again", rec.Path, err)
	}
	return b, nil
}

// Upstream walks from rec to the sources through the files its node read
// (inputs and configuration, not patches): visit is called with the
// record of every output met, once per path, rec's own first; raw with
// every source file (a path no node writes). An output read in content
// that has no record is an error naming the node that read it.
func (r *Records) Upstream(rec *provenance.Record, visit func(*provenance.Record), raw func(path string)) error {
	seen := map[string]bool{rec.Path: true}
	visit(rec)
	var walk func(*provenance.Record) error
	walk = func(rec *provenance.Record) error {
		for _, l := range [][]provenance.FileHash{rec.Inputs, rec.Config} {
			for _, f := range l {
				if r.p.Producer[f.Path] == nil {
					raw(f.Path)
					continue
				}
				if seen[f.Path] {
					continue
				}
				up, err := r.Record(f.Path, f.Hash)
				if err != nil {
					if errors.Is(err, provenance.ErrNoRecord) {
						return fmt.Errorf("%s: no provenance record for the content node %s read; run bethel make", f.Path, rec.Node)
					}
					return err
				}
				seen[f.Path] = true
				visit(up)
				if err := walk(up); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(rec)
}
