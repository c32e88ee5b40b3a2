package graph

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"bethel/pkg/cache"
	"bethel/pkg/pipeline"
	"bethel/pkg/pos"
	"bethel/pkg/provenance"
	"bethel/pkg/stage"
)

// engine holds what one Build or Status knows while it decides and runs.
type engine struct {
	p     *pipeline.Pipeline
	opts  Options
	root  string
	write bool // false for Status and dry runs: nothing on disk changes
	store *cache.Store
	stat  *cache.StatCache
	j     *journal

	mu    sync.Mutex
	files map[string]fileVal        // content of paths as this build knows it (nil until setFile)
	pre   map[string]cache.FileStat // prestatWait's stats by path (preStat)
	// prestatWait's stats in the order the nodes name the files.
	prePaths []string
	preOcc   []int32
	preStats []cache.FileStat
	wrote    bool            // outputs or cache entries were written
	bg       background      // caches and fsyncs outputs off the nodes' path
	inline   bool            // -j 1: the scheduler runs the nodes itself (schedule)
	tmp      tmpDirs         // commands' private temporary directories
	procs    procLog         // commands' process groups while they run
	spares   spareFiles      // empty files made ahead for commands' outputs
	dirs     map[string]bool // output directories known to exist

	evMu sync.Mutex

	lineage sync.Map // node name -> *nodeLineage while it runs (provenance.go)
	// recorded holds, for each node that ran, a channel closed once its
	// background recording (run, record) is done.
	recorded sync.Map // *pipeline.Node -> chan struct{}
	prov     *provenance.Store
	provOnce sync.Once

	graph     []byte // the static graph (stage.GraphInput), made once
	graphOnce sync.Once

	decl  *pipeline.Declaration // the privacy declaration (visibility.go)
	notes permNotes             // build-wide warnings (perms.go)
	// declass holds the declassifier stages' declarations (visibility.go).
	declass map[*pipeline.Node]*stage.Declassification

	// Time spent in the phases of running nodes, summed over workers
	// (BETHEL_DEBUG=time).
	tRun, tCheck, tRecord atomic.Int64
}

// fileVal is the current content of one path during a build.
type fileVal struct {
	h       cache.Hash
	err     error
	pending string // dry runs: the node that would rebuild this path
}

// newEngine prepares a build or check; load reads the state.
func newEngine(p *pipeline.Pipeline, opts Options, write bool) (*engine, error) {
	if opts.Registry == nil {
		return nil, errors.New("graph: Options.Registry is nil")
	}
	e := &engine{
		p:     p,
		opts:  opts,
		root:  p.Root,
		write: write,
		procs: procLog{root: p.Root},
		dirs:  make(map[string]bool),
		tmp:   tmpDirs{root: tmpRoot(p.Root)},
	}
	if write {
		e.spares.dir = stateDir(e.root)
		for _, d := range []string{bethelDir(e.root), stateDir(e.root)} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return nil, err
			}
		}
		s, err := cache.Open(cacheDir(e.root))
		if err != nil {
			return nil, err
		}
		// Blobs, manifests and outputs are verified by hash when read back,
		// so one syncfs at the end replaces an fsync per file.
		s.NoSync = true
		e.store = s
	} else {
		e.store = cache.OpenReadOnly(cacheDir(e.root))
	}
	return e, nil
}

// load stats the nodes' files in the background while it reads the state.
func (e *engine) load(nodes []*pipeline.Node) {
	wait := e.prestatWait(nodes)
	e.loadState()
	wait()
}

func (e *engine) loadState() {
	e.stat = cache.LoadStatCache(statPath(e.root))
	e.j = loadJournal(journalPath(e.root))
}

// abs is the absolute path of a workspace path. Pipeline paths are clean
// and relative, so plain concatenation is enough (and, done for every file
// of every no-op build, cheaper than filepath.Join).
func (e *engine) abs(p string) string {
	return e.root + string(filepath.Separator) + filepath.FromSlash(p)
}

// prestatWait stats every file the nodes read or write, with a few goroutines,
// before the nodes are decided one by one: on a no-op build stat(2) is most
// of the work, and the calls overlap well. It starts them and returns the
// function that waits for them.
//
// The stats are kept in the order the nodes name the files (e.preOcc: for
// each input, patch and output of each node in turn, its index in
// e.preStats), which is the order the fingerprint reads them in: a no-op
// build proven by its fingerprint never builds a map of them. e.pre, the
// map that deciding nodes looks stats up in, is made on first use.
func (e *engine) prestatWait(nodes []*pipeline.Node) func() {
	n := 0
	for _, nd := range nodes {
		n += len(nd.InputFiles) + len(nd.PatchFiles) + len(nd.Outputs)
	}
	paths, occ := e.p.Files, e.p.FileRefs
	if !isOrder(nodes, e.p.Order) || len(occ) != n {
		// Not the whole pipeline, or one made by hand: find the
		// duplicates here.
		paths, occ = pipeline.FileTable(nodes, n, len(e.p.Sources)+len(e.p.Producer))
	}
	workers := min(4, 2*runtime.NumCPU(), len(paths)/64+1)
	done := make(chan []cache.FileStat, 1)
	go func() { done <- cache.StatAll(e.root, paths, workers) }()
	return func() {
		e.prePaths, e.preOcc, e.preStats = paths, occ, <-done
	}
}

// isOrder reports whether nodes is the pipeline's Order itself (a build
// of every node).
func isOrder(nodes, order []*pipeline.Node) bool {
	return len(nodes) == len(order) && (len(nodes) == 0 || &nodes[0] == &order[0])
}

// preStat returns prestatWait's stat of p, if it took one.
func (e *engine) preStat(p string) (cache.FileStat, bool) {
	if e.pre == nil && e.prePaths != nil {
		e.pre = make(map[string]cache.FileStat, len(e.prePaths))
		for i, p := range e.prePaths {
			e.pre[p] = e.preStats[i]
		}
	}
	st, ok := e.pre[p]
	return st, ok
}

// file returns the content hash of path as this build knows it, hashing it
// (through the stat cache) the first time.
func (e *engine) file(p string) fileVal {
	e.mu.Lock()
	v, ok := e.files[p]
	st, pre := e.preStat(p) // only consulted before the memo has p
	e.mu.Unlock()
	if ok {
		return v
	}
	if !pre {
		st = cache.Stat(e.abs(p))
	}
	h, _, err := e.stat.HashStat(p, e.abs(p), st)
	v = fileVal{h: h, err: err}
	e.setFile(p, v)
	return v
}

func (e *engine) setFile(p string, v fileVal) {
	e.mu.Lock()
	if e.files == nil {
		// Made on first use, sized for every file: a no-op build proven
		// by its fingerprint never needs it, and at 1000 nodes the empty
		// map was 80 KB of fresh memory, 20 page faults.
		e.files = make(map[string]fileVal, len(e.p.Sources)+len(e.p.Producer))
	}
	e.files[p] = v
	e.mu.Unlock()
}

// descPool recycles description buffers: only a stale node's description
// outlives decide (as a string). It pays where every node is decided
// (status, a build that is not a no-op): BenchmarkCheck/1000 takes about a
// quarter less time with it.
var descPool = sync.Pool{New: func() any { return cache.NewDesc("") }}

// decision is what the engine concluded about one node before acting.
type decision struct {
	key     cache.Hash
	desc    string     // set when stale (or debugging): the manifest keeps it
	reads   []readFile // inputs and patches with the hashes in the key
	reasons []string
	changes []FileChange // the reasons that are file changes, typed
	edited  []editedOutput
	stale   bool
	pending bool // dry runs: an input would be rebuilt first, key unknown
}

type readFile struct {
	path string
	h    cache.Hash
}

type editedOutput struct {
	path string
	h    cache.Hash
}

// inputError is a node that cannot be keyed: an input is missing or
// unreadable, or its stage is unknown.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// decide computes the node's action key from its definition and the current
// content of what it reads, and compares it, and the outputs on disk, with
// the journal's record of the last build.
func (e *engine) decide(n *pipeline.Node) (*decision, error) {
	d := &decision{}
	desc := descPool.Get().(*cache.Desc)
	defer descPool.Put(desc)
	desc.Reset(e.opts.Version)
	if n.IsStage() {
		st, ok := e.opts.Registry.Lookup(n.Stage)
		if !ok {
			return nil, &inputError{fmt.Errorf("%s: node %s: unknown stage %q", n.Pos, n.Name, n.Stage)}
		}
		addKey(desc, kStage, n.Stage+" "+st.Version())
		if e.opts.NoLineage {
			// A stage's products include its outputs' lineage: a build
			// without it must not pass for one with it (the next build
			// with lineage on would find nothing stale and keep none).
			addKey(desc, kLineageOff, "off")
		}
	} else {
		addKeyQuoted(desc, kRun, n.Run)
	}
	addKey(desc, kVisibility, string(n.Visibility))
	if n.Declassify != "" {
		addKeyQuoted(desc, kDeclassify, n.Declassify)
	}
	for _, k := range n.Env {
		addKey(desc, kEnv, envKey(k))
	}
	if len(n.Params) > 0 {
		keys := make([]string, 0, len(n.Params))
		for k := range n.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			addKey(desc, kParam, quotePath(k)+"="+canon(n.Params[k]))
		}
	}
	for _, o := range n.Outputs {
		addKey(desc, kOutput, quotePath(o))
	}
	add := func(k keyKind, p string) error {
		kind := keyKinds[k].word
		v := e.file(p)
		if v.pending != "" {
			if !d.pending {
				d.reasons = append(d.reasons, fmt.Sprintf("input %s would be rebuilt by node %s first", p, v.pending))
			}
			d.pending = true
			return nil
		}
		if v.err != nil {
			if errors.Is(v.err, fs.ErrNotExist) {
				if prod := e.p.Producer[p]; prod != nil {
					return &inputError{fmt.Errorf("node %s: input %s is missing (node %s writes it)", n.Name, p, prod.Name)}
				}
				return &inputError{fmt.Errorf("node %s: %s %s is missing", n.Name, kind, p)}
			}
			return &inputError{fmt.Errorf("node %s: %s %s: %w", n.Name, kind, p, v.err)}
		}
		d.reads = append(d.reads, readFile{p, v.h})
		addKeyFile(desc, k, p, v.h)
		return nil
	}
	for _, p := range n.InputFiles {
		if err := add(kInput, p); err != nil {
			return nil, err
		}
	}
	for _, p := range n.EngineInputs {
		h, pending, err := e.engineInput(n, p)
		switch {
		case err != nil:
			return nil, &inputError{err}
		case pending != "":
			if !d.pending {
				d.reasons = append(d.reasons, fmt.Sprintf("input %s would be rebuilt by node %s first", p, pending))
			}
			d.pending = true
		default:
			addKeyFile(desc, kInput, p, h)
		}
	}
	for _, p := range n.PatchFiles {
		if err := add(kPatch, p); err != nil {
			return nil, err
		}
	}
	if d.pending {
		d.stale = true
		return d, nil
	}
	d.key = desc.Key()
	if w := e.opts.DebugKey; w != nil {
		d.desc = desc.String()
		e.evMu.Lock()
		fmt.Fprintf(w, "bethel: key %s %s\n", n.Name, d.key.Short())
		for _, l := range cache.Lines(d.desc) {
			fmt.Fprintf(w, "\t%s\n", l)
		}
		e.evMu.Unlock()
	}

	prev, built := e.j.get(n.Name)
	switch {
	case !built:
		d.reasons = append(d.reasons, "never built")
	case prev.interrupted:
		d.reasons = append(d.reasons, "its last run failed or was interrupted")
	case prev.key != d.key:
		d.desc = desc.String()
		m, err := e.store.GetManifest(prev.key)
		if err != nil {
			d.reasons = append(d.reasons, "its definition or inputs changed since the last build (the old description is no longer in the cache)")
		} else {
			why, changes := explainChange(m.Desc, d.desc)
			for _, c := range changes {
				c.Reason += len(d.reasons)
				d.changes = append(d.changes, c)
			}
			d.reasons = append(d.reasons, why...)
		}
	default:
		if why := e.lineageLost(n, prev.key); why != "" {
			d.reasons = append(d.reasons, why)
		}
	}
	for _, o := range n.Outputs {
		v := e.file(o)
		if v.err != nil {
			if errors.Is(v.err, fs.ErrNotExist) {
				d.reasons = append(d.reasons, "output "+o+" is missing")
			} else {
				d.reasons = append(d.reasons, fmt.Sprintf("output %s: %v", o, v.err))
			}
			continue
		}
		if !built || prev.interrupted {
			continue
		}
		rec, ok := prev.output(o)
		if !ok || rec == v.h {
			continue
		}
		// bethel wrote every blob in its cache; content it never wrote
		// came from somewhere else: a person editing the file.
		if e.store.HasBlob(v.h) {
			d.reasons = append(d.reasons, fmt.Sprintf("output %s is not what the last build wrote (%s, expected %s)", o, v.h.Short(), rec.Short()))
		} else {
			d.reasons = append(d.reasons, fmt.Sprintf("output %s was edited by hand (%s, bethel wrote %s)", o, v.h.Short(), rec.Short()))
			d.edited = append(d.edited, editedOutput{o, v.h})
		}
	}
	if len(d.reasons) == 0 && built && !prev.interrupted {
		// A record lost (deleted, or never written: a crash between the
		// journal and the background writes) would leave bethel why
		// without an answer for outputs that are up to date; restoring
		// the node writes it again.
		for _, o := range prev.outputs {
			if !e.records().Has(o.path, o.h) {
				d.reasons = append(d.reasons, "the provenance record of "+o.path+" is missing")
				break
			}
		}
	}
	d.stale = len(d.reasons) > 0
	if d.stale && d.desc == "" {
		d.desc = desc.String()
	}
	return d, nil
}

// restorable returns the cached manifest for the node's key when it fits
// the node's declared outputs.
func (e *engine) restorable(n *pipeline.Node, key cache.Hash) (*cache.Manifest, error) {
	m, err := e.store.GetManifest(key)
	if err != nil {
		return nil, err
	}
	if len(m.Outputs) != len(n.Outputs) {
		return nil, &cache.MissError{Reason: "cached entry does not match the declared outputs"}
	}
	for i, o := range m.Outputs {
		if o.Path != n.Outputs[i] {
			return nil, &cache.MissError{Reason: "cached entry does not match the declared outputs"}
		}
	}
	if e.lineageMissing(n, m) {
		return nil, &cache.MissError{Reason: "cached entry was built with lineage off"}
	}
	for _, x := range m.Extra {
		if !e.store.HasBlob(x.Hash) {
			return nil, &cache.MissError{Reason: "cached " + x.Name + " is no longer in the cache"}
		}
	}
	return m, nil
}

func (e *engine) emit(ev Event) {
	if e.opts.Events == nil {
		return
	}
	e.evMu.Lock()
	defer e.evMu.Unlock()
	e.opts.Events(ev)
}

// selectNodes returns the targets and everything they need, in Order.
func selectNodes(p *pipeline.Pipeline, targets []string) ([]*pipeline.Node, error) {
	if len(targets) == 0 {
		return p.Order, nil
	}
	var want []*pipeline.Node
	for _, t := range targets {
		n := p.Lookup(t)
		if n == nil {
			return nil, unknownTarget(p, t)
		}
		want = append(want, n)
	}
	return p.Closure(want...), nil
}

func unknownTarget(p *pipeline.Pipeline, t string) error {
	best, bestD := "", 4
	cands := make([]string, 0, len(p.Nodes)+len(p.Producer))
	for _, n := range p.Nodes {
		cands = append(cands, n.Name)
	}
	for o := range p.Producer {
		cands = append(cands, o)
	}
	sort.Strings(cands)
	for _, c := range cands {
		if d := pos.Distance(t, c); d < bestD {
			best, bestD = c, d
		}
	}
	msg := fmt.Sprintf("%s: unknown target %q: not a node name or a declared output", p.File, t)
	if best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return &TargetError{Msg: msg}
}

// TargetError is a target that names no node and no output: a usage error.
type TargetError struct{ Msg string }

func (e *TargetError) Error() string { return e.Msg }

// Check reports, without writing anything, which selected nodes are stale
// and why (the brief's "Status": a function cannot share the name of the
// Status type in Go). A node downstream of a stale one is reported stale when it would
// have to wait for it; whether it then runs depends on what its input
// becomes (early cutoff).
func Check(p *pipeline.Pipeline, opts Options) ([]NodeResult, error) {
	nodes, err := selectNodes(p, opts.Targets)
	if err != nil {
		return nil, err
	}
	e, err := newEngine(p, opts, false)
	if err != nil {
		return nil, err
	}
	if err := e.classify(); err != nil {
		return nil, err
	}
	e.load(nodes)
	res := make([]NodeResult, 0, len(nodes))
	for _, n := range nodes {
		res = append(res, e.plan(n))
	}
	return res, nil
}

// plan decides one node without acting: the dry-run form of a build step.
// A stale node's outputs are marked pending (its dependents would wait),
// unless they can be restored from the cache, whose manifest then says what
// they would contain.
func (e *engine) plan(n *pipeline.Node) NodeResult {
	r := NodeResult{Name: n.Name}
	d, err := e.decide(n)
	if err != nil {
		r.Status, r.Err = Failed, err
		for _, o := range n.Outputs {
			e.setFile(o, fileVal{pending: n.Name})
		}
		return r
	}
	r.Reasons, r.Changes = d.reasons, d.changes
	for _, ed := range d.edited {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s was edited by hand; a build will move it to %s", ed.path, editedPath(ed.path, ed.h)))
	}
	if !d.stale {
		r.Status = UpToDate
		return r
	}
	r.Status = Stale
	if !d.pending {
		if m, err := e.restorable(n, d.key); err == nil && e.blobsPresent(m) {
			r.Restorable = true
			for _, o := range m.Outputs {
				e.setFile(o.Path, fileVal{h: o.Hash})
			}
			return r
		}
	}
	for _, o := range n.Outputs {
		e.setFile(o, fileVal{pending: n.Name})
	}
	return r
}

func (e *engine) blobsPresent(m *cache.Manifest) bool {
	for _, h := range m.Blobs() {
		if !e.store.HasBlob(h) {
			return false
		}
	}
	return true
}

func editedPath(o string, h cache.Hash) string {
	return EditedDir + "/" + o + "." + h.Short()
}

// BuildError is returned by Build when nodes failed.
type BuildError struct {
	Failed []string
}

func (e *BuildError) Error() string {
	if len(e.Failed) == 1 {
		return "node " + e.Failed[0] + " failed"
	}
	return fmt.Sprintf("%d nodes failed: %s", len(e.Failed), strings.Join(e.Failed, ", "))
}

// SupersededError is a node's failure while one of its declared inputs
// changed (Result.Superseded): the failure is the change's, not the
// node's. Nothing of the run is recorded, so the next build runs the node
// again. Err is the failure itself; the message names the path and the
// node only, never the content.
type SupersededError struct {
	Path, Node string
	Err        error
}

func (e *SupersededError) Error() string {
	why := strings.TrimPrefix(e.Err.Error(), "node "+e.Node+": ")
	return fmt.Sprintf("%s changed while node %s ran (it failed: %s); the next build runs it again", e.Path, e.Node, why)
}

func (e *SupersededError) Unwrap() error { return e.Err }

func jobs(n int) int {
	if n <= 0 {
		return runtime.NumCPU()
	}
	return n
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }
