package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"bethel/pkg/cache"
	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

func build(ctx context.Context, p *pipeline.Pipeline, opts Options) (res *Result, err error) {
	t0 := time.Now()
	nodes, err := selectNodes(p, opts.Targets)
	if err != nil {
		return nil, err
	}
	if opts.DryRun {
		return dryRun(p, opts, nodes, t0)
	}
	phase := phaseTimer(opts.DebugTime)
	unlock, lockedAt, err := lockWorkspaceAt(p.Root, opts.LockWait, opts.OnLockWait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if opts.Finish != nil {
		defer func() {
			if res != nil {
				opts.Finish(res, err)
			}
		}()
	}
	phase("lock")
	// Everything is loaded after the lock is held: a bethel that waited
	// must see what the one before it recorded.
	e, err := newEngine(p, opts, true)
	if err != nil {
		return nil, err
	}
	defer e.tmp.close()
	defer e.procs.close()
	defer e.spares.close()
	// A full build first tries to prove itself a no-op from stats alone
	// (see fingerprint.go); otherwise it decides every node.
	fast := len(opts.Targets) == 0 && opts.DebugKey == nil
	var fp cache.Hash
	fpOK := false
	e.sweepState()
	if fast && e.crashed() {
		fast = false
	}
	if endSurvivors(p.Root) > 0 {
		// A killed build's commands kept running until now: what they
		// wrote meanwhile is judged by content, node by node.
		fast = false
	}
	if w := tightenState(p.Root); len(w) > 0 {
		e.notes.add(w...)
		fast = false // the warnings go out with the nodes' results
	}
	if fast {
		e.prestatWait(nodes)()
		fp, fpOK = e.fingerprint(nodes, lockedAt)
		if cleanMatches(p.Root, fp) {
			phase("stat, fingerprint")
			res := e.allUpToDate(nodes)
			res.Seconds = since(t0)
			return res, nil
		}
		phase("stat, fingerprint")
		e.loadState()
	} else {
		e.load(nodes)
	}
	phase("load state")
	if err := e.classify(); err != nil {
		return nil, err
	}
	e.sweep()
	gate := e.startLeakGate(nodes)
	defer gate.cancel()
	res = e.schedule(ctx, nodes)
	phase("decide and run")
	if opts.DebugTime != nil && len(res.Ran) > 0 {
		fmt.Fprintf(opts.DebugTime, "bethel: time   in %d runs: %.3f ms running, %.3f ms hashing and checking, %.3f ms caching and recording\n",
			len(res.Ran), float64(e.tRun.Load())/1e6, float64(e.tCheck.Load())/1e6, float64(e.tRecord.Load())/1e6)
	}
	err = e.finish(len(opts.Targets) == 0)
	if err == nil && fast && fpOK && len(res.UpToDate) == len(nodes) {
		// Every node was up to date, so no file changed but the journal
		// (compaction): fingerprint again with its new stat.
		if fp2, ok := e.fingerprint(nodes, lockedAt); ok && !cleanMatches(p.Root, fp2) {
			writeClean(p.Root, fp2)
		}
	}
	phase("save state")
	if err != nil && len(res.Failed) == 0 {
		return res, err
	}
	if err == nil && len(res.Failed) == 0 {
		if err := gate.wait(res); err != nil {
			res.Seconds = since(t0)
			return res, err
		}
		phase("leak gate")
	}
	res.Seconds = since(t0)
	if len(res.Failed) > 0 {
		return res, &BuildError{Failed: res.Failed}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, nil
}

// phaseTimer returns a function that prints the time since its previous
// call, labelled, to w (nothing when w is nil).
func phaseTimer(w io.Writer) func(string) {
	last := time.Now()
	return func(label string) {
		if w != nil {
			now := time.Now()
			fmt.Fprintf(w, "bethel: time %-16s %8.3f ms\n", label, float64(now.Sub(last))/1e6)
			last = now
		}
	}
}

// sweepState removes temporary files a crashed bethel left in the state
// directories: three small directory reads, done by every build.
func (e *engine) sweepState() {
	sweepTmp(e.root)
	cache.SweepTemp(bethelDir(e.root))
	// The compiled pipeline's cache file and clock stamp are written
	// before any lock is taken; a bethel killed then leaves them.
	cache.SweepTemp(compiledDir(e.root))
	cache.SweepTemp(stateDir(e.root))
	cache.SweepTemp(cacheDir(e.root))
	if e.p.Report != "" {
		// The report is written after the running marker is gone
		// (Options.Finish), so a kill there is not a crash the journal
		// knows of.
		cache.SweepTemp(filepath.Dir(e.abs(e.p.Report)))
	}
}

// sweep removes temporary files a crashed bethel left in the output and
// cache directories when the journal shows a node whose run never
// finished.
func (e *engine) sweep() {
	broken := e.j.interrupted()
	crashed := e.crashed()
	if len(broken) == 0 && !crashed {
		return
	}
	dirs := map[string]bool{}
	if crashed {
		// Which nodes were running is not known: every output directory.
		for _, n := range e.p.Nodes {
			for _, o := range n.Outputs {
				dirs[filepath.Dir(e.abs(o))] = true
			}
		}
	} else {
		byName := make(map[string]*pipeline.Node, len(e.p.Nodes))
		for _, n := range e.p.Nodes {
			byName[n.Name] = n
		}
		for _, name := range broken {
			if n := byName[name]; n != nil {
				for _, o := range n.Outputs {
					dirs[filepath.Dir(e.abs(o))] = true
				}
			}
		}
	}
	for d := range dirs {
		cache.SweepTemp(d)
	}
	for _, top := range []string{filepath.Join(cacheDir(e.root), "blobs"), provenanceDir(e.root)} {
		cache.SweepTemp(top)
		ents, _ := os.ReadDir(top)
		for _, ent := range ents {
			if ent.IsDir() {
				cache.SweepTemp(filepath.Join(top, ent.Name()))
			}
		}
	}
}

// runningPath marks a build that writes: created when the first node is
// restored or run, removed when the build has finished. Finding it at the
// start of a build means the previous one was killed, and that its
// temporary files (outputs, blobs, provenance records, which the journal
// alone cannot locate once the background work is involved) must be swept.
func runningPath(root string) string { return filepath.Join(root, StateDir, "state", "running") }

func (e *engine) crashed() bool {
	_, err := os.Stat(runningPath(e.root))
	return err == nil
}

// finish saves the stat cache and the journal, then flushes the file
// system once if the build wrote anything.
func (e *engine) finish(all bool) error {
	var live func(string) bool
	if all {
		// Only a full build knows which nodes are gone; the set is built
		// only if the journal is compacted.
		var names map[string]bool
		live = func(n string) bool {
			if names == nil {
				names = make(map[string]bool, len(e.p.Nodes))
				for _, n := range e.p.Nodes {
					names[n.Name] = true
				}
			}
			return names[n]
		}
	}
	// Pruning needs every path of the pipeline in a set: only worth it
	// when the stat cache holds more entries than the pipeline has files.
	if all && e.stat.Len() > len(e.p.Sources)+len(e.p.Producer) {
		paths := make(map[string]bool, len(e.p.Sources)+len(e.p.Producer))
		for _, s := range e.p.Sources {
			paths[s] = true
		}
		for o := range e.p.Producer {
			paths[o] = true
		}
		e.stat.Prune(func(p string) bool { return paths[p] })
	}
	// Outputs are copied into the cache in the background, and where the
	// boot is unknown fsynced (see wroteFile): both must be done before
	// the stat cache, which vouches for the outputs' content, is saved.
	// (Blobs and manifests are verified when read.)
	errF := e.bg.wait()
	if err := e.store.Close(); err != nil && errF == nil {
		errF = err
	}
	if e.prov != nil {
		if err := e.prov.Close(); err != nil && errF == nil {
			errF = err
		}
	}
	errJ := e.j.close(live)
	if errJ == nil && e.wrote && cache.BootID() == "" {
		errJ = e.j.sync()
	}
	errS := e.stat.Save()
	for _, err := range []error{errF, errJ, errS} {
		if err != nil {
			return err
		}
	}
	// Everything is in place: a later build need not sweep.
	os.Remove(runningPath(e.root))
	return nil
}

// background runs work that need not hold up the node that produced it
// (copying outputs into the cache, writing provenance records, fsyncing
// outputs where needed) on a few
// goroutines while other nodes run; finish waits for all of it. Several
// concurrent fsyncs also let the file system group them into one commit.
//
// At -j 1 a command node's recording is held instead (hold) and run by the
// one goroutine that runs nodes while the next command runs (runHeld):
// queuing it for a background goroutine would wake that goroutine's thread
// for every node, about 13 us of a command's path between two commands.
type background struct {
	once sync.Once
	ch   chan func() error
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
	held []func() error // guarded by mu
}

// hold keeps job for runHeld (or wait).
func (bg *background) hold(job func() error) {
	bg.mu.Lock()
	bg.held = append(bg.held, job)
	bg.mu.Unlock()
}

// runHeld runs the held jobs on the calling goroutine.
func (bg *background) runHeld() {
	for {
		bg.mu.Lock()
		jobs := bg.held
		bg.held = nil
		bg.mu.Unlock()
		if len(jobs) == 0 {
			return
		}
		for _, job := range jobs {
			bg.fail(job())
		}
	}
}

// fail keeps the first error.
func (bg *background) fail(err error) {
	if err == nil {
		return
	}
	bg.mu.Lock()
	if bg.err == nil {
		bg.err = err
	}
	bg.mu.Unlock()
}

const backgroundWorkers = 4

func (bg *background) add(job func() error) {
	bg.once.Do(func() {
		bg.ch = make(chan func() error, 4096)
		for w := 0; w < backgroundWorkers; w++ {
			bg.wg.Add(1)
			go func() {
				defer bg.wg.Done()
				for job := range bg.ch {
					bg.fail(job())
				}
			}()
		}
	})
	bg.ch <- job
}

// wait runs the held jobs, waits for every queued one and returns the
// first error.
func (bg *background) wait() error {
	bg.runHeld()
	if bg.ch != nil {
		close(bg.ch)
		bg.wg.Wait()
	}
	bg.mu.Lock()
	defer bg.mu.Unlock()
	return bg.err
}

func fsyncPath(p string) error {
	f, err := os.Open(p)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	// A file replaced since (by a later node or an edit) is not ours to
	// vouch for any more.
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// debugf notes a problem that does not fail the build and only costs a
// later rebuild (BETHEL_DEBUG=time shows it).
func (e *engine) debugf(format string, args ...any) {
	if w := e.opts.DebugTime; w != nil {
		e.evMu.Lock()
		fmt.Fprintf(w, "bethel: "+format+"\n", args...)
		e.evMu.Unlock()
	}
}

// wroteFile queues an output written in this build for fsync, where the
// machine's boot cannot be identified. Where it can, nothing needs syncing:
// the stat cache trusts what it recorded only within the same boot, and a
// power cut (the only way to lose written data whose metadata survived)
// means a reboot, after which every file is hashed again; everything else
// bethel reads back is verified by hash.
func (e *engine) wroteFile(abs string) {
	if cache.BootID() == "" {
		e.bg.add(func() error { return fsyncPath(abs) })
	}
}

// mkdirOnce creates the directory of an output, remembering the ones that
// exist so that a thousand outputs in one directory cost one stat.
func (e *engine) mkdirOnce(dir string) error {
	e.mu.Lock()
	ok := e.dirs[dir]
	e.mu.Unlock()
	if ok {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	e.mu.Lock()
	e.dirs[dir] = true
	e.mu.Unlock()
	return nil
}

// schedule is the Builder: it runs the nodes (in Order) with up to Jobs at
// a time, each as soon as every node it depends on has finished, in the
// order the plan gives. A failed node skips its dependents; without
// KeepGoing it also stops new nodes from starting.
func (e *engine) schedule(ctx context.Context, nodes []*pipeline.Node) *Result {
	idx := make(map[*pipeline.Node]int, len(nodes))
	for i, n := range nodes {
		idx[n] = i
	}
	deps := make([][]int, len(nodes))
	for i, n := range nodes {
		for _, d := range n.Deps {
			if j, ok := idx[d]; ok {
				deps[i] = append(deps[i], j)
			}
		}
	}
	// Each node weighs what its last run took; one never run, or run
	// before its time was recorded, a millisecond.
	weight := make([]int64, len(nodes))
	for i, n := range nodes {
		weight[i] = int64(time.Millisecond / time.Microsecond)
		if st, ok := e.j.get(n.Name); ok && st.ran > 0 {
			weight[i] = st.ran.Microseconds()
		}
	}
	pl := newPlan(deps, weight, e.opts.KeepGoing)
	results := make([]*NodeResult, len(nodes))

	type job struct {
		i int
		d *decision
	}
	type finished struct {
		i int
		r NodeResult
		o nodeOutput
	}
	nj := min(jobs(e.opts.Jobs), len(nodes))
	e.inline = nj == 1
	work := make(chan job)
	done := make(chan finished, nj)
	started := 0
	startWorker := func() {
		started++
		go func() {
			for jb := range work {
				r, o := e.act(ctx, nodes[jb.i], jb.d)
				done <- finished{jb.i, r, o}
			}
		}()
	}

	total, count := len(nodes), 0
	report := func(i int, r NodeResult, o nodeOutput) {
		results[i] = &r
		count++
		e.emit(Event{Kind: Finish, Node: r.Name, Status: r.Status, Reasons: r.Reasons, Changes: r.Changes, Err: r.Err,
			Stderr: o.stderr, Warnings: r.Warnings, Done: count, Total: total})
	}
	complete := func(i int, r NodeResult, o nodeOutput) {
		report(i, r, o)
		for _, k := range pl.finish(i, r.Status == Failed) {
			report(k, NodeResult{Name: nodes[k].Name, Status: Skipped, Reasons: []string{"dependency " + r.Name + " failed"}}, nodeOutput{})
		}
	}
	decisions := make(map[int]*decision)
	running := 0
	for {
		if ctx.Err() != nil {
			pl.stop()
		}
		for {
			i, ok := pl.nextReady()
			if !ok {
				break
			}
			d, r := e.prepare(ctx, nodes[i])
			if r != nil {
				complete(i, *r, nodeOutput{})
				continue
			}
			decisions[i] = d
			pl.enqueue(i)
		}
		for running < nj {
			i, ok := pl.nextQueued()
			if !ok {
				break
			}
			if nj == 1 {
				// One at a time: the scheduler acts itself. Handing the
				// node to a worker would cost two switches between
				// goroutines per node, each waking an idle thread of the
				// runtime, with nothing for the scheduler to do meanwhile.
				d := decisions[i]
				delete(decisions, i)
				r, o := e.act(ctx, nodes[i], d)
				complete(i, r, o)
				break
			}
			if started < nj {
				startWorker()
			}
			work <- job{i, decisions[i]}
			delete(decisions, i)
			running++
		}
		if running == 0 && pl.idle() {
			break
		}
		if running == 0 {
			continue // a node just ran on this goroutine (-j 1)
		}
		f := <-done
		running--
		complete(f.i, f.r, f.o)
	}
	close(work)
	why := "not started: the build stopped after a failure (-k keeps going)"
	if ctx.Err() != nil {
		why = "not started: the build was interrupted"
	}
	for _, i := range pl.unfinished() {
		report(i, NodeResult{Name: nodes[i].Name, Status: Skipped, Reasons: []string{why}}, nodeOutput{})
	}
	res := &Result{Nodes: make([]NodeResult, len(nodes))}
	for i, r := range results {
		res.Nodes[i] = *r
		switch r.Status {
		case Ran:
			res.Ran = append(res.Ran, r.Name)
		case Restored:
			res.Restored = append(res.Restored, r.Name)
			if r.Remote {
				res.RestoredRemote = append(res.RestoredRemote, r.Name)
			}
		case UpToDate:
			res.UpToDate = append(res.UpToDate, r.Name)
		case Failed:
			res.Failed = append(res.Failed, r.Name)
			var se *SupersededError
			if errors.As(r.Err, &se) {
				res.Superseded = append(res.Superseded, r.Name)
			}
		}
	}
	return res
}

// nodeOutput is what a node printed.
type nodeOutput struct {
	stderr []byte
}

// prepare decides one node. It runs on the scheduler's goroutine: deciding
// is a few stats and one small hash per node, cheaper than handing the node
// to another thread, so a no-op build never switches goroutines. It returns
// nil when the node is stale and must be restored or run.
func (e *engine) prepare(ctx context.Context, n *pipeline.Node) (*decision, *NodeResult) {
	r := &NodeResult{Name: n.Name}
	if err := ctx.Err(); err != nil {
		r.Status, r.Err, r.Reasons = Skipped, err, []string{"not started: the build was interrupted"}
		return nil, r
	}
	d, err := e.decide(n)
	if err != nil {
		r.Status, r.Err = Failed, err
		return nil, r
	}
	if !d.stale {
		r.Status, r.Reasons = UpToDate, d.reasons
		r.Warnings = e.tightenOutputs(n)
		return nil, r
	}
	return d, nil
}

// act restores or runs a stale node, on a worker.
func (e *engine) act(ctx context.Context, n *pipeline.Node, d *decision) (NodeResult, nodeOutput) {
	r := NodeResult{Name: n.Name, Reasons: d.reasons, Changes: d.changes, Warnings: e.notes.take()}
	e.mu.Lock()
	if !e.wrote {
		e.wrote = true
		if e.opts.OnAct != nil {
			e.opts.OnAct()
		}
		os.WriteFile(runningPath(e.root), nil, 0o600)
	}
	e.mu.Unlock()
	for _, ed := range d.edited {
		rel, err := e.moveAside(ed.path, ed.h)
		if err != nil {
			r.Status, r.Err = Failed, fmt.Errorf("node %s: output %s was edited by hand and could not be moved aside: %w", n.Name, ed.path, err)
			return r, nodeOutput{}
		}
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s was edited by hand: bethel does not overwrite it; the edited copy is now %s. "+
			"A correction belongs in a patch (patches/), not in an output.", ed.path, rel))
	}
	e.emit(Event{Kind: Start, Node: n.Name, Reasons: r.Reasons, Changes: r.Changes, Warnings: r.Warnings})
	prev, _ := e.j.get(n.Name)
	if err := e.j.start(n.Name, d.key); err != nil {
		r.Status, r.Err = Failed, fmt.Errorf("node %s: state: %w", n.Name, err)
		return r, nodeOutput{}
	}
	m, err := e.restorable(n, d.key)
	remote := false
	if err != nil && e.fetchRemote(ctx, n.Name, d.key) {
		m, err = e.restorable(n, d.key)
		remote = err == nil
	}
	if err == nil {
		status := "restored"
		if remote {
			status = "restored from remote" // the artifacts' provenance records say so
		}
		err = e.restore(n, d, m, status)
		if err == nil {
			r.Status = Restored
			if remote {
				r.Remote = true
				r.Reasons = append(r.Reasons, RestoredRemoteReason)
			}
			return r, nodeOutput{}
		}
		r.Reasons = append(r.Reasons, "not restored: "+err.Error())
	}
	out, err := e.run(ctx, n, d, &r)
	if err != nil {
		r.Status, r.Err = Failed, err
		if !n.IsStage() {
			r.Warnings = append(r.Warnings, e.keepLastGood(n, prev)...)
		}
		return r, out
	}
	r.Status = Ran
	return r, out
}

// keepLastGood puts back the outputs of a command node's last successful
// build after a failed run. A command writes its outputs in place, so a
// failure may leave them half written or deleted; a built-in stage's never
// are (they are renamed into place on success only). The node stays stale
// (its journal record is the failed run's start), so the next build runs
// it again; meanwhile nobody reads a torn file. Each output comes from its
// verified cache copy; one that cannot be restored is said to be missing.
func (e *engine) keepLastGood(n *pipeline.Node, prev *nodeState) []string {
	if prev == nil || prev.interrupted || len(prev.outputs) == 0 {
		return nil
	}
	perm := os.FileMode(0o644)
	if n.Visibility == stage.Private {
		perm = 0o600
	}
	var kept, lost []string
	for _, o := range prev.outputs {
		abs := e.abs(o.path)
		if h, _, err := cache.HashFile(abs); err == nil && h == o.h {
			kept = append(kept, o.path)
			continue
		}
		if err := e.store.Restore(o.h, abs, perm); err != nil {
			lost = append(lost, o.path)
			continue
		}
		e.stat.Forget(o.path)
		kept = append(kept, o.path)
	}
	var w []string
	if len(kept) > 0 {
		w = append(w, fmt.Sprintf("node %s failed: its last good outputs are in place (%s)", n.Name, joinPaths(kept)))
	}
	if len(lost) > 0 {
		w = append(w, fmt.Sprintf("node %s failed: the last good version of %s is no longer in the cache", n.Name, joinPaths(lost)))
	}
	return w
}

func (e *engine) moveAside(o string, h cache.Hash) (string, error) {
	rel := editedPath(o, h)
	dest := e.abs(rel)
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return "", err
	}
	if err := os.Rename(e.abs(o), dest); err != nil {
		return "", err
	}
	e.stat.Forget(o)
	return rel, nil
}

// restore writes every output from the cache (each verified on the way)
// and records the node as built.
func (e *engine) restore(n *pipeline.Node, d *decision, m *cache.Manifest, status string) error {
	if err := e.verifyLineage(m); err != nil {
		return errors.New(missReason(err))
	}
	stamps := make([]int64, len(m.Outputs))
	for i, o := range m.Outputs {
		abs := e.abs(o.Path)
		if err := e.mkdirOnce(filepath.Dir(abs)); err != nil {
			return err
		}
		stamp, err := e.store.RestoreStamped(o.Hash, abs, o.Mode.Perm())
		if err != nil {
			var miss *cache.MissError
			if errors.As(err, &miss) {
				return errors.New(miss.Reason)
			}
			return err
		}
		stamps[i] = stamp
	}
	if err := e.j.done(n.Name, d.key, m.Outputs, 0); err != nil {
		return err
	}
	// Provenance records are written last and off the node's path (one
	// append to the record log per node); finish waits for them.
	e.bg.add(func() error { return e.writeRecords(n, d, m.Outputs, m.Extra, status) })
	e.store.Used(d.key)
	for i, o := range m.Outputs {
		e.stat.RecordWritten(o.Path, e.abs(o.Path), o.Hash, stamps[i])
		e.setFile(o.Path, fileVal{h: o.Hash})
		e.wroteFile(e.abs(o.Path))
	}
	return nil
}

// run executes the node, checks that what it read did not change while it
// ran, stores its outputs in the cache and records it as built.
func (e *engine) run(ctx context.Context, n *pipeline.Node, d *decision, r *NodeResult) (nodeOutput, error) {
	var (
		hashes map[string]cache.Hash
		stamps map[string]int64 // a command's outputs have none
		out    nodeOutput
		err    error
	)
	t := time.Now()
	if n.IsStage() {
		hashes, stamps, out, err = e.runStage(ctx, n, d.reads)
	} else {
		hashes, out, err = e.runCommand(ctx, n)
	}
	ran := time.Since(t)
	e.debugf("time   node %-20s %8.3f ms running", n.Name, float64(ran)/1e6)
	t = e.spent(&e.tRun, t)
	// Dependents read what is on disk now, whatever happens next.
	for _, o := range n.Outputs {
		if h, ok := hashes[o]; ok {
			e.setFile(o, fileVal{h: h})
		} else {
			e.setFile(o, fileVal{err: os.ErrNotExist})
		}
	}
	if err != nil {
		e.dropLineage(n)
		// A failure while an input changed is the change's: a confined
		// command cannot open a file saved by rename after its rule set
		// was made (the rules hold the old inode), and any command may
		// have read a mix of versions. It is not retried at once: the
		// change may still be going on (an editor's burst of saves), a
		// watch has already queued the build that follows it, and make
		// says to run again.
		if ctx.Err() == nil {
			if p, ok := e.changedRead(d); ok {
				err = &SupersededError{Path: p, Node: n.Name, Err: err}
			}
		}
		return out, err
	}
	// An input that changed while the node ran makes its outputs a mix of
	// two versions: keep them on disk for the dependents of this build, but
	// do not record them, so the next build runs the node again.
	if p, ok := e.changedRead(d); ok {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s changed while node %s ran; its outputs are not recorded as up to date and the next build runs it again", p, n.Name))
		e.dropLineage(n)
		return out, nil
	}
	t = e.spent(&e.tCheck, t)
	extras, err := e.storeLineage(n)
	if err != nil {
		return out, fmt.Errorf("node %s: cache: %w", n.Name, err)
	}
	// Recording the node is one background job: its dependents need only
	// the outputs' hashes (setFile above), so at -j 1 the next command runs
	// while this one is recorded (a dependent that reads the node's
	// lineage, made from the records, waits for it: lineageOf). finish waits for it; an error there
	// fails the build, and a build killed before it leaves the node's
	// journal record a start without an end, so the next build runs the
	// node again.
	recorded := make(chan struct{})
	e.recorded.Store(n, recorded)
	job := func() error {
		defer close(recorded)
		defer e.spent(&e.tRecord, time.Now())
		return e.record(n, d, hashes, stamps, extras, ran)
	}
	if e.inline && !n.IsStage() {
		e.bg.hold(job)
	} else {
		e.bg.add(job)
	}
	return out, nil
}

// changedRead returns the first input or patch the node read whose
// content is no longer what its key was made of (or which is gone).
func (e *engine) changedRead(d *decision) (string, bool) {
	for _, f := range d.reads {
		h, _, err := e.stat.Hash(f.path, e.abs(f.path))
		if err != nil || h != f.h {
			return f.path, true
		}
	}
	return "", false
}

// record records a node that ran: its outputs' stat data, their copies in
// the cache, the manifest, the journal's end record, then (last) the
// provenance records.
func (e *engine) record(n *pipeline.Node, d *decision, hashes map[string]cache.Hash, stamps map[string]int64, extras []cache.Extra, ran time.Duration) error {
	outs := make([]cache.Output, len(n.Outputs))
	for i, o := range n.Outputs {
		abs := e.abs(o)
		fi, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("node %s: output %s: %w", n.Name, o, err)
		}
		outs[i] = cache.Output{Path: o, Size: fi.Size(), Hash: hashes[o], Mode: fi.Mode().Perm()}
	}
	// If a copy cannot be made (the output changed meanwhile, a disk
	// error), restoring this key later is a miss and the node runs again:
	// the cache is verified when read. The engine hashed every output as it
	// wrote it (a stage's) or after the command (a command's), so the copy
	// need not hash them again; the stat data recorded first lets it refuse
	// a file that changed since.
	for _, o := range outs {
		abs := e.abs(o.Path)
		st := e.stat.RecordWritten(o.Path, abs, o.Hash, stamps[o.Path])
		if err := e.store.PutWritten(abs, o.Hash, st); err != nil && !errors.Is(err, fs.ErrNotExist) {
			e.debugf("caching %s: %v (restoring it later will rebuild it instead)", o.Path, err)
		}
	}
	man := &cache.Manifest{Outputs: outs, Extra: extras, Desc: d.desc}
	if err := e.store.PutManifest(d.key, man); err != nil {
		return fmt.Errorf("node %s: cache: %w", n.Name, err)
	}
	if e.opts.Remote != nil {
		e.opts.Remote.Upload(n.Name, d.key, man, e.store)
	}
	if err := e.j.done(n.Name, d.key, outs, ran); err != nil {
		return fmt.Errorf("node %s: state: %w", n.Name, err)
	}
	if cache.BootID() == "" {
		// See wroteFile; this is already the background.
		for _, o := range outs {
			if err := fsyncPath(e.abs(o.Path)); err != nil {
				return err
			}
		}
	}
	return e.writeRecords(n, d, outs, extras, "ran")
}

// spent adds the time since t to acc and returns now.
func (e *engine) spent(acc *atomic.Int64, t time.Time) time.Time {
	now := time.Now()
	acc.Add(int64(now.Sub(t)))
	return now
}

func outputPerm(n *pipeline.Node) os.FileMode {
	if n.Visibility == "private" {
		return 0o600
	}
	return 0o644
}

func dryRun(p *pipeline.Pipeline, opts Options, nodes []*pipeline.Node, t0 time.Time) (*Result, error) {
	e, err := newEngine(p, opts, false)
	if err != nil {
		return nil, err
	}
	if err := e.classify(); err != nil {
		return nil, err
	}
	e.load(nodes)
	res := &Result{}
	total := len(nodes)
	for i, n := range nodes {
		r := e.plan(n)
		switch {
		case r.Status == Failed:
			res.Failed = append(res.Failed, r.Name)
		case r.Status == UpToDate:
			res.UpToDate = append(res.UpToDate, r.Name)
		case r.Restorable:
			r.Status = Restored
			res.Restored = append(res.Restored, r.Name)
		default:
			r.Status = Ran
			res.Ran = append(res.Ran, r.Name)
		}
		res.Nodes = append(res.Nodes, r)
		e.emit(Event{Kind: Finish, Node: r.Name, Status: r.Status, Reasons: r.Reasons, Changes: r.Changes, Err: r.Err, Warnings: r.Warnings, Done: i + 1, Total: total})
	}
	res.Seconds = since(t0)
	if len(res.Failed) > 0 {
		return res, &BuildError{Failed: res.Failed}
	}
	return res, nil
}
