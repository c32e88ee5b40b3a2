package graph

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"bethel/pkg/cache"
	"bethel/pkg/pipeline"
	"bethel/pkg/pos"
	"bethel/pkg/scrub"
	"bethel/pkg/stage"
)

// The leak gate. In every build that runs or restores anything, the
// internal and public outputs written are scanned (pkg/scrub) for the
// sensitive values the privacy declaration's private sets list
// (`sensitive_values`, written by a node from the exports and patches),
// each node's as soon as it finishes and the sets are built, while the
// rest of the build goes on; success is reported only once every scan
// is judged. A known value found fails the build naming the
// node, the output and the line, never the value; the output is removed,
// so that it is neither published nor taken for up to date (its node runs
// again, and is checked again, next time). When a set itself was rebuilt,
// every internal and public output is scanned: newly known values may be
// in old outputs too. A workbook (.xlsx) is scanned member by member.
//
// Whether the sets changed is a matter of their content, recorded: the
// state file leakgate holds the hash of the sets every internal and
// public output was last judged clean against. It is removed when a
// build starts and written again only when its gate passes, so a build
// that fails before the gate, is stopped or crashes leaves none, and the
// next build scans every output (what such a build wrote was never
// judged). With the record matching the sets as they are, a build scans
// only what it wrote.
//
// A single word that is also a known value (a first name that names a
// bethel too) is not proof of a leak and passes; several words of one
// value, a phone number or a birth date is. So are the categories of a
// countable field (an allergy written "gluten free" on the form is also
// the dietary summary's category): the outputs of a declassifier that
// counts a countable field hold category labels by its checked contract,
// and what the sets find there may appear elsewhere (the site shows that
// table).

// LeakError is a build stopped by the leak gate.
type LeakError struct {
	Hits pos.List
}

func (e *LeakError) Error() string {
	return "leak gate: sensitive values of the inputs in outputs that are not private; they were removed:\n" + e.Hits.Error()
}

// leakScan is the leak gate at work while the build runs: each node's
// internal and public outputs are scanned as soon as the node finishes
// (once the sets are known, that is once their producers finished), on a
// goroutine of its own, so that the scanning overlaps the rest of the
// build instead of following it. What it finds is judged only when the
// build is done (wait): which outputs count, and which hits are a
// countable field's category labels, is known only then.
type leakScan struct {
	e     *engine
	nodes []*pipeline.Node

	mu    sync.Mutex
	queue []Event // Finish events not taken yet
	more  chan struct{}
	fin   chan struct{} // closed by wait: no more events
	done  chan struct{} // closed when the goroutine returns
	stop  atomic.Bool

	// Owned by the goroutine until done:
	status  map[string]Status
	pending map[*pipeline.Node]bool // producers of the sets, not finished
	loaded  bool
	sets    []*scrub.Set
	all     bool // the sets are not those of the record: every output is scanned
	// clean is the record this build found (the hash of the sets every
	// output was judged clean against; "" when none), sum the hash of
	// the sets as loaded.
	clean, sum string
	record     bool // this build keeps the record (it may write)
	setErr     error
	waiting    []*pipeline.Node    // finished before the sets were loaded
	outs       map[string]*scanned // by output path
	labels     map[string]bool     // countable categories, normalized
	counted    map[string]bool     // countable declassifiers whose labels are in
}

// scanned is what one output holds of the sets: the known values found,
// part by part (a workbook's members, or the whole file), before the
// category labels are set aside.
type scanned struct {
	parts []scannedPart
}

type scannedPart struct {
	name string
	hits []scannedHit
}

type scannedHit struct {
	line  int
	label string // the found text, normalized (normLabel)
}

// startLeakGate starts scanning the outputs of nodes as they finish; nil
// when the workspace declares no sensitive values.
func (e *engine) startLeakGate(nodes []*pipeline.Node) *leakScan {
	if e.decl == nil || len(e.decl.SensitiveValues) == 0 {
		return nil
	}
	g := &leakScan{e: e, nodes: nodes, more: make(chan struct{}, 1), fin: make(chan struct{}), done: make(chan struct{}),
		status: map[string]Status{}, pending: map[*pipeline.Node]bool{}, outs: map[string]*scanned{},
		labels: map[string]bool{}, counted: map[string]bool{}}
	if e.write {
		// Taken away until this build's gate passes (see above).
		g.record = true
		path := g.recordPath()
		if b, err := os.ReadFile(path); err == nil {
			g.clean = strings.TrimSpace(string(b))
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			g.clean = "" // a record that stays cannot be trusted
		}
	}
	in := make(map[*pipeline.Node]bool, len(nodes))
	for _, n := range nodes {
		in[n] = true
	}
	for _, f := range e.decl.SensitiveValues {
		if w := e.p.Producer[f]; w != nil && in[w] {
			g.pending[w] = true
		}
	}
	prev := e.opts.Events
	e.opts.Events = func(ev Event) {
		if ev.Kind == Finish {
			g.mu.Lock()
			g.queue = append(g.queue, ev)
			g.mu.Unlock()
			select {
			case g.more <- struct{}{}:
			default:
			}
		}
		if prev != nil {
			prev(ev)
		}
	}
	go g.run()
	return g
}

// run takes the finished nodes until wait says the build is over.
func (g *leakScan) run() {
	defer close(g.done)
	if len(g.pending) == 0 {
		g.load()
	}
	for {
		g.mu.Lock()
		evs := g.queue
		g.queue = nil
		g.mu.Unlock()
		for _, ev := range evs {
			if g.stop.Load() {
				return
			}
			g.finished(ev)
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case <-g.more:
		case <-g.fin:
			g.mu.Lock()
			left := len(g.queue)
			g.mu.Unlock()
			if left == 0 {
				return
			}
		}
	}
}

// finished takes one node's result.
func (g *leakScan) finished(ev Event) {
	n := g.e.p.Lookup(ev.Node)
	if n == nil {
		return
	}
	g.status[n.Name] = ev.Status
	if g.pending[n] {
		delete(g.pending, n)
		if len(g.pending) == 0 {
			g.load()
			for _, w := range g.waiting {
				g.scanNode(w)
			}
			g.waiting = nil
		}
	}
	if !g.loaded {
		g.waiting = append(g.waiting, n)
		return
	}
	g.scanNode(n)
}

// wrote reports whether a node's outputs were written by this build.
func wroteStatus(s Status) bool { return s == Ran || s == Restored }

// load reads the sets, once every producer among the nodes has finished,
// and the category labels of the countable declassifiers outside the
// build (those inside it are read as they finish).
func (g *leakScan) load() {
	g.loaded = true
	e := g.e
	h := cache.NewHasher()
	for _, f := range e.decl.SensitiveValues {
		s, err := readSet(e.abs(f))
		if errors.Is(err, fs.ErrNotExist) {
			continue // not built (yet): nothing known to look for
		}
		if err != nil {
			g.setErr = fmt.Errorf("leak gate: %s: %w", f, err)
			return
		}
		// The engine has just recorded the set it wrote: its stat cache
		// knows the hash, and the file need not be read a second time.
		sum, _, err := e.stat.Hash(f, e.abs(f))
		if err != nil {
			g.setErr = fmt.Errorf("leak gate: %s: %w", f, err)
			return
		}
		fmt.Fprintf(h, "%s %s\n", sum, f)
		g.sets = append(g.sets, s)
	}
	g.sum = h.Sum().String()
	g.all = g.clean == "" || g.clean != g.sum
	in := make(map[*pipeline.Node]bool, len(g.nodes))
	for _, n := range g.nodes {
		in[n] = true
	}
	for _, n := range e.p.Nodes {
		if !in[n] {
			g.scanLabels(n)
		}
	}
}

// countable reports whether n is a declassifier counting a sensitive,
// countable field: its outputs hold category labels, not leaks.
func (g *leakScan) countable(n *pipeline.Node) bool {
	dc := g.e.declass[n]
	return dc != nil && g.e.countsCountable(dc)
}

// scanLabels adds the category labels in a countable declassifier's
// outputs.
func (g *leakScan) scanLabels(n *pipeline.Node) {
	if g.counted[n.Name] || !g.countable(n) || len(g.sets) == 0 {
		return
	}
	g.counted[n.Name] = true
	for _, o := range n.Outputs {
		b, err := os.ReadFile(g.e.abs(o))
		if err != nil {
			continue
		}
		for _, s := range g.sets {
			for _, h := range s.Find(b) {
				g.labels[normLabel(b[h.Offset:h.Offset+h.Length])] = true
			}
		}
	}
}

// scanNode scans a finished node's outputs, if they are to be checked.
func (g *leakScan) scanNode(n *pipeline.Node) {
	if g.setErr != nil || len(g.sets) == 0 {
		return
	}
	if g.countable(n) {
		g.scanLabels(n)
		return
	}
	if n.Visibility == stage.Private || !g.all && !wroteStatus(g.status[n.Name]) {
		return
	}
	for _, o := range n.Outputs {
		if g.stop.Load() {
			return
		}
		g.scanOutput(o)
	}
}

// scanOutput records the known values in one output (nothing when it
// cannot be read: a node that failed, or wrote nothing there).
func (g *leakScan) scanOutput(o string) *scanned {
	b, err := os.ReadFile(g.e.abs(o))
	if err != nil {
		return nil
	}
	sc := &scanned{}
	for _, part := range parts(o, b) {
		sp := scannedPart{name: part.name}
		for _, s := range g.sets {
			// A large part (the site's lineage) is scanned on every
			// processor: it is often the last thing the build waits for.
			for _, h := range s.FindParallel(part.b, runtime.GOMAXPROCS(0)) {
				if h.Kind == scrub.Known && !embedded(part.b, h) {
					sp.hits = append(sp.hits, scannedHit{h.Line, normLabel(part.b[h.Offset : h.Offset+h.Length])})
				}
			}
		}
		sc.parts = append(sc.parts, sp)
	}
	g.outs[o] = sc
	return sc
}

// cancel stops the scanning when the build ends without the gate.
func (g *leakScan) cancel() {
	if g == nil {
		return
	}
	g.stop.Store(true)
	g.close()
}

func (g *leakScan) close() {
	select {
	case <-g.fin:
	default:
		close(g.fin)
	}
}

// wait ends the scanning once the build is done and judges it: res says
// which nodes ran or were restored. A known value found fails the build
// naming the node, the output and the line, never the value, and the
// output is removed. Whatever the goroutine did not reach (it cannot
// miss a node, but a judge that trusts no one scans again) is scanned here.
func (g *leakScan) wait(res *Result) error {
	if g == nil {
		return nil
	}
	g.close()
	<-g.done
	if g.stop.Load() {
		return nil
	}
	e := g.e
	if len(res.Ran)+len(res.Restored) == 0 && g.clean != "" {
		return g.keep(g.clean) // nothing written: as clean as before
	}
	wrote := make(map[string]bool, len(res.Ran)+len(res.Restored))
	for _, l := range [][]string{res.Ran, res.Restored} {
		for _, n := range l {
			wrote[n] = true
		}
	}
	public := false // a node that is not private wrote something
	for _, n := range e.p.Nodes {
		public = public || wrote[n.Name] && n.Visibility != stage.Private
	}
	if !public && g.clean != "" {
		// A new set alone: the outputs are as clean as before, against
		// the sets of before; the next build that writes checks. (With
		// no record, what an earlier build wrote is judged now.)
		return g.keep(g.clean)
	}
	for _, n := range g.nodes {
		g.status[n.Name] = Skipped
	}
	for _, r := range res.Nodes {
		g.status[r.Name] = r.Status
	}
	if !g.loaded {
		g.load()
	}
	if g.setErr != nil {
		return g.setErr
	}
	if len(g.sets) == 0 {
		return g.keep(g.sum)
	}
	for _, n := range e.p.Nodes {
		g.scanLabels(n)
	}
	var hits pos.List
	for _, n := range g.nodes {
		if n.Visibility == stage.Private || g.countable(n) || !g.all && !wrote[n.Name] {
			continue
		}
		for _, o := range n.Outputs {
			sc := g.outs[o]
			if sc == nil {
				if sc = g.scanOutput(o); sc == nil {
					continue
				}
			}
			lines := map[int]bool{}
			where := o
			for _, part := range sc.parts {
				for _, h := range part.hits {
					if !g.labels[h.label] {
						if len(lines) == 0 && part.name != "" {
							where = o + " (" + part.name + ")"
						}
						lines[h.line] = true
					}
				}
				if len(lines) > 0 {
					break
				}
			}
			if len(lines) == 0 {
				continue
			}
			first, count := 0, len(lines)
			for l := range lines {
				if first == 0 || l < first {
					first = l
				}
			}
			more := ""
			if count > 1 {
				more = fmt.Sprintf(" (and %d more lines)", count-1)
			}
			hits = append(hits, pos.Errorf(pos.Pos{File: where, Line: first},
				"node %q wrote a sensitive value of the inputs into this %s output%s", n.Name, n.Visibility, more))
			if err := os.Remove(e.abs(o)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	if len(hits) == 0 {
		return g.keep(g.sum)
	}
	return &LeakError{Hits: hits}
}

// recordPath is the state file of the sets the outputs were judged clean
// against.
func (g *leakScan) recordPath() string { return filepath.Join(stateDir(g.e.root), "leakgate") }

// keep writes the record: every internal and public output was judged
// clean against the sets of hash sum ("": no record).
func (g *leakScan) keep(sum string) error {
	if !g.record || sum == "" {
		return nil
	}
	// Not synced: a record lost to a crash only makes the next build scan
	// every output.
	f, err := cache.Create(g.recordPath(), 0o600)
	if err != nil {
		return err
	}
	defer f.Abort()
	f.NoSync = true
	if _, err := io.WriteString(f, sum+"\n"); err != nil {
		return err
	}
	return f.Commit()
}

// part is one text of an output: the whole file, or one member of a
// workbook (an .xlsx is a zip of XML parts, its cells in sharedStrings.xml
// and the sheets).
type part struct {
	name string
	b    []byte
}

// maxPart bounds what one workbook member may expand to.
const maxPart = 256 << 20

// parts splits an output into the texts to scan.
func parts(path string, b []byte) []part {
	if !strings.HasSuffix(path, ".xlsx") {
		return []part{{b: b}}
	}
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return []part{{b: b}}
	}
	var out []part
	for _, f := range z.File {
		if !strings.HasSuffix(f.Name, ".xml") || f.UncompressedSize64 > maxPart {
			continue
		}
		r, err := f.Open()
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(r, maxPart))
		r.Close()
		if err == nil {
			out = append(out, part{f.Name, data})
		}
	}
	return out
}

// countsCountable reports whether a declassification counts a sensitive,
// countable field.
func (e *engine) countsCountable(dc *stage.Declassification) bool {
	for _, f := range dc.Counts {
		if e.decl.Sensitive(f) && e.decl.Countable(f) {
			return true
		}
	}
	return false
}

// embedded reports whether a hit is part of a longer run of letters,
// digits and '/', '+', '=' (base64, a path): "1/1/72" inside an encoded
// lineage blob is no birth date.
func embedded(b []byte, h scrub.Hit) bool {
	in := func(i int) bool {
		if i < 0 || i >= len(b) {
			return false
		}
		c := b[i]
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '+' || c == '='
	}
	return in(h.Offset-1) || in(h.Offset+h.Length)
}

// normLabel is a found text lower-cased with its spacing collapsed.
func normLabel(b []byte) string {
	return strings.ToLower(strings.Join(strings.Fields(string(b)), " "))
}

func readSet(path string) (*scrub.Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return scrub.ReadSet(f) // the file itself: its size lets ReadSet size the keys up front
}
