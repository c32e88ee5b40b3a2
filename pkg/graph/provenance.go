package graph

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"bethel/pkg/cache"
	"bethel/pkg/lineage"
	"bethel/pkg/pipeline"
	"bethel/pkg/provenance"
)

// ProvenanceDir is where artifact provenance records are kept, under the
// root (see provenance.Store).
const ProvenanceDir = StateDir + "/provenance"

func provenanceDir(root string) string { return filepath.Join(root, StateDir, "provenance") }

// LineageExtra is the name of a manifest's extra blob holding the cell
// lineage of one output: "lineage <path>". LineageMarker, an empty blob,
// says that the action ran with lineage on, so that a build with lineage on
// never restores an entry that a build with lineage off stored (its
// outputs would come back without lineage).
const (
	lineageExtraPrefix = "lineage "
	LineageMarker      = "lineage"
)

// LineageExtra names the extra blob of output path's lineage.
func LineageExtra(path string) string { return lineageExtraPrefix + path }

// nodeLineage holds the recorders a stage asked for while it ran.
type nodeLineage struct {
	mu   sync.Mutex
	recs map[string]*lineage.Recorder
	outs []string // in the order asked
}

// lineageFunc is what stage.Run.Lineage calls: a recorder per declared
// output, or nil when lineage is switched off.
func (e *engine) lineageFunc(n *pipeline.Node, declared map[string]bool) func(string) *lineage.Recorder {
	if e.opts.NoLineage {
		return func(string) *lineage.Recorder { return nil }
	}
	nl := &nodeLineage{recs: make(map[string]*lineage.Recorder)}
	e.lineage.Store(n.Name, nl)
	return func(p string) *lineage.Recorder {
		if !declared[p] {
			return nil
		}
		nl.mu.Lock()
		defer nl.mu.Unlock()
		r := nl.recs[p]
		if r == nil {
			r = &lineage.Recorder{}
			nl.recs[p] = r
			nl.outs = append(nl.outs, p)
		}
		return r
	}
}

// storeLineage encodes the lineage a stage node recorded in its last run
// and stores each output's as a blob, returning the manifest extras: one
// "lineage <path>" per recorded output, and the marker. A command node, or
// a build with lineage off, has none.
func (e *engine) storeLineage(n *pipeline.Node) ([]cache.Extra, error) {
	v, ok := e.lineage.LoadAndDelete(n.Name)
	if !ok || !n.IsStage() {
		return nil, nil
	}
	nl := v.(*nodeLineage)
	empty, err := e.store.PutBytes(nil)
	if err != nil {
		return nil, err
	}
	extras := []cache.Extra{{Name: LineageMarker, Hash: empty}}
	for _, o := range n.Outputs {
		r := nl.recs[o]
		if r == nil {
			continue
		}
		b := lineage.Encode(r)
		h, err := e.store.PutBytes(b)
		if err != nil {
			return nil, fmt.Errorf("lineage of %s: %w", o, err)
		}
		extras = append(extras, cache.Extra{Name: LineageExtra(o), Hash: h, Size: int64(len(b))})
	}
	return extras, nil
}

// dropLineage forgets what a failed run recorded.
func (e *engine) dropLineage(n *pipeline.Node) { e.lineage.Delete(n.Name) }

// lineageMissing says why a cached entry of a stage node cannot be
// restored when lineage is on: it was stored by a build with lineage off.
func (e *engine) lineageMissing(n *pipeline.Node, m *cache.Manifest) bool {
	if e.opts.NoLineage || !n.IsStage() {
		return false
	}
	for _, x := range m.Extra {
		if x.Name == LineageMarker {
			return false
		}
	}
	return true
}

// lineageLost says why a stage node that is otherwise up to date must
// rebuild because what its dependents and bethel why read of it is gone
// from the cache: its manifest (a lost or truncated action log), or the
// lineage blob of an output (deleted, or discarded as corrupt when read).
// It is "" when nothing is lost, or lineage is off. Outputs on disk are
// what they were, so the rerun is usually cut off early; what it restores
// is the lineage.
func (e *engine) lineageLost(n *pipeline.Node, key cache.Hash) string {
	if e.opts.NoLineage || !n.IsStage() {
		return ""
	}
	m, err := e.store.GetManifest(key)
	if err != nil {
		return "its cache entry, which holds its outputs' lineage, is gone (" + missReason(err) + ")"
	}
	if e.lineageMissing(n, m) {
		return "its cache entry holds no lineage"
	}
	for _, x := range m.Extra {
		if p, ok := strings.CutPrefix(x.Name, lineageExtraPrefix); ok && !e.store.HasBlob(x.Hash) {
			return "the lineage of " + p + " is no longer in the cache"
		}
	}
	return ""
}

// verifyLineage re-hashes the lineage blobs of a cached entry before it is
// restored: a corrupt one is discarded and the entry is a miss, so the node
// runs and stores it again instead of handing its dependents damaged
// lineage.
func (e *engine) verifyLineage(m *cache.Manifest) error {
	for _, x := range m.Extra {
		if err := e.store.VerifyBlob(x.Hash); err != nil {
			return fmt.Errorf("%s: %w", x.Name, err)
		}
	}
	return nil
}

// missReason is a cache miss's reason, or the error's text.
func missReason(err error) string {
	var miss *cache.MissError
	if errors.As(err, &miss) {
		return miss.Reason
	}
	return err.Error()
}

// records is the provenance store, opened on first use (nothing is
// created until a record is written).
func (e *engine) records() *provenance.Store {
	e.provOnce.Do(func() {
		s := provenance.OpenStore(provenanceDir(e.root))
		s.NoSync = true
		e.prov = s
	})
	return e.prov
}

// writeRecords writes the artifact provenance record of every output of a
// node that ran or was restored, with one append to the record log. It is called after the outputs are in
// place and the journal knows them (records last): a crash before it leaves
// no record for the new bytes, which `bethel why` reports as such.
func (e *engine) writeRecords(n *pipeline.Node, d *decision, outs []cache.Output, extras []cache.Extra, status string) error {
	e.records()
	lin := make(map[string]cache.Hash, len(extras))
	for _, x := range extras {
		if p, ok := strings.CutPrefix(x.Name, lineageExtraPrefix); ok {
			lin[p] = x.Hash
		}
	}
	base := provenance.Record{
		Node:       n.Name,
		Command:    n.Run,
		Params:     n.Params,
		Visibility: string(n.Visibility),
		ActionKey:  d.key,
		Status:     status,
		Bethel:     e.opts.Version,
		Built:      provenance.Stamp(time.Now()),
		Inputs:     []provenance.FileHash{},
		Config:     []provenance.FileHash{},
		Patches:    []provenance.FileHash{},
	}
	if n.IsStage() {
		base.Stage = n.Stage
		if st, ok := e.opts.Registry.Lookup(n.Stage); ok {
			base.StageVersion = st.Version()
		}
	}
	patch := make(map[string]bool, len(n.PatchFiles))
	for _, p := range n.PatchFiles {
		patch[p] = true
	}
	for _, f := range d.reads {
		fh := provenance.FileHash{Path: f.path, Hash: f.h}
		switch {
		case patch[f.path]:
			base.Patches = append(base.Patches, fh)
		case strings.HasPrefix(f.path, "config/"):
			base.Config = append(base.Config, fh)
		default:
			base.Inputs = append(base.Inputs, fh)
		}
	}
	rs := make([]*provenance.Record, len(outs))
	for i, o := range outs {
		r := base
		r.Path, r.Hash, r.Size = o.Path, o.Hash, o.Size
		r.Lineage = lin[o.Path]
		rs[i] = &r
	}
	if err := e.prov.Put(rs...); err != nil {
		return fmt.Errorf("node %s: provenance of %s: %w", n.Name, joinPaths(n.Outputs), err)
	}
	return nil
}
