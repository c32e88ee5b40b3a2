// Package watch turns file-system notifications into batches of "these
// workspace paths changed", for `bethel watch`. It knows nothing of the
// pipeline or the graph: the caller says which files and glob patterns it
// cares about and which paths it writes itself, and receives sorted,
// coalesced, workspace-relative paths.
//
// Linux inotify (through fsnotify) is not recursive and a watch on a file
// dies when an editor saves by writing a temporary file and renaming it over
// the original, so Watcher watches directories only: the directory of every
// file of interest, the literal leading directory of every glob (and, when a
// glob has a wildcard in a directory part, every directory below it), and
// each of their ancestors up to the root, so that a deleted and re-created
// directory is noticed and watched again. A directory that appears is walked
// as soon as it is watched, because files created in it before the watch
// existed produce no events.
//
// Bursts are coalesced: a batch is delivered once no relevant event has
// arrived for the debounce interval (or MaxDelay after its first event, so
// that a file written continuously still gets built). An inotify queue
// overflow means events were lost; the next batch then has Rescan set.
//
// No-op events (touch, an editor saving unchanged content) are dropped by
// comparing content hashes with a baseline. The baseline of a path is its
// content when it was last handed to the caller, taken just before the
// caller's build reads it. Dropping is only sound if the build really read
// that content, so an event that arrives while the caller is busy is never
// dropped; Next tells the watcher the caller is idle again, and a barrier
// file written in a private directory watched by the same inotify instance
// marks the point in the event stream from which that is true (inotify
// keeps one ordered queue per instance).
package watch

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is the quiet period after the last event of a burst. An
// editor's save (write a temporary, rename, chmod) takes well under a
// millisecond; 30 ms also covers most tools that rewrite several files in a
// row, while keeping the wait a small part of the save-to-output latency.
// A burst that outlasts it costs one more build, never a missed change.
const DefaultDebounce = 30 * time.Millisecond

// DefaultMaxDelay bounds how long a continuous stream of events can hold a
// batch back.
const DefaultMaxDelay = time.Second

// hashLimit is the largest file whose content the watcher hashes to drop
// no-op events. Bigger files are compared by size, modification time and
// inode only: a touch on one of them triggers a build, which the engine
// finds up to date.
const hashLimit = 16 << 20

// Interest says what the caller cares about. Paths are workspace-relative
// with forward slashes.
type Interest struct {
	// Files are exact files; an event on one is always relevant, even if
	// its name looks like an editor's temporary file.
	Files []string
	// Globs are patterns in path.Match syntax per segment, where a "**"
	// segment matches any number of directories. A new file that matches
	// one is relevant.
	Globs []string
	// Ignore are files or directories the caller writes itself (declared
	// outputs): never reported, never watched below. out/ and .bethel/ are
	// always ignored.
	Ignore []string
}

// Config configures a Watcher.
type Config struct {
	// Root is the workspace directory.
	Root string
	Interest
	// Debounce is the quiet period that ends a burst (0: DefaultDebounce).
	Debounce time.Duration
	// MaxDelay is the longest a batch waits for a burst to end (0:
	// DefaultMaxDelay).
	MaxDelay time.Duration
	// Logf, when set, receives non-fatal problems (a directory that could
	// not be watched). Messages never hold file contents.
	Logf func(format string, args ...any)
	// Debugf, when set, traces the watcher's decisions: when it knows the
	// caller is idle, each batch, and each path dropped as unchanged.
	Debugf func(format string, args ...any)
}

// Batch is one coalesced set of changes.
type Batch struct {
	// Paths are the created, changed or removed files of interest,
	// workspace-relative, sorted.
	Paths []string
	// Rescan is set when events were lost (the kernel queue overflowed):
	// anything may have changed.
	Rescan bool
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("watch: watcher closed")

// Watcher delivers batches of changed paths; see the package comment.
type Watcher struct {
	root   string
	cfg    Config
	fsw    *fsnotify.Watcher
	barDir string // private directory for barrier files ("" = no dropping of no-op events)

	nextc   chan *nextReq
	cancelc chan *nextReq
	updc    chan updReq
	dirsc   chan chan []string
	quit    chan struct{}
	done    chan struct{}

	// Owned by the loop goroutine.
	in      interest
	watched map[string]bool // workspace-relative directories with a watch
	base    map[string]baseline
	pending map[string]bool // path -> forced (must be reported even if unchanged)
	rescan  bool
	first   time.Time // first event of the pending burst
	last    time.Time // last event of the pending burst
	waiter  *nextReq
	barSeq  int  // last barrier written
	barSeen bool // the barrier of the current waiter was seen: events now come after the caller's build
	loopErr error
	onIdle  func() // test hook: the caller is known idle (barrier seen)
	timer   *time.Timer
	armed   bool
}

type nextReq struct {
	reply chan Batch
}

type updReq struct {
	in    Interest
	reply chan error
}

// interest is Interest compiled for lookups.
type interest struct {
	files   map[string]bool
	globs   []glob
	ignore  []string
	want    map[string]bool // directories to watch if they exist
	recurse []string        // directories whose whole subtree is watched
}

// baseline is what a path held when it was last handed to the caller.
type baseline struct {
	exists bool
	size   int64
	mtime  time.Time
	ino    uint64
	hashed bool
	hash   [sha256.Size]byte
}

// New starts watching. It returns once every directory of interest is
// watched and every file of interest has a baseline, so that a build the
// caller starts afterwards cannot miss a change.
func New(cfg Config) (*Watcher, error) {
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, err
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.MaxDelay < cfg.Debounce {
		cfg.MaxDelay = cfg.Debounce
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{
		root:    root,
		cfg:     cfg,
		fsw:     fsw,
		nextc:   make(chan *nextReq),
		cancelc: make(chan *nextReq),
		updc:    make(chan updReq),
		dirsc:   make(chan chan []string),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		watched: map[string]bool{},
		base:    map[string]baseline{},
		pending: map[string]bool{},
		timer:   time.NewTimer(time.Hour),
	}
	w.timer.Stop()
	if d, err := os.MkdirTemp("", "bethel-watch-"); err == nil {
		if err := fsw.Add(d); err == nil {
			w.barDir = d
		} else {
			os.RemoveAll(d)
		}
	}
	w.in = compile(cfg.Interest)
	if err := w.sync(); err != nil {
		w.closeFS()
		return nil, err
	}
	w.baselineAll()
	go w.loop()
	return w, nil
}

// Next waits for the next batch. Calling it also tells the watcher that the
// caller has finished with the previous batch (its build is over): changes
// made while the caller was busy are delivered by this call, never lost.
func (w *Watcher) Next(ctx context.Context) (Batch, error) {
	req := &nextReq{reply: make(chan Batch, 1)}
	select {
	case w.nextc <- req:
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	case <-w.done:
		return Batch{}, w.closedErr()
	}
	select {
	case b := <-req.reply:
		return b, nil
	case <-w.done:
		return Batch{}, w.closedErr()
	case <-ctx.Done():
		select {
		case w.cancelc <- req:
		case <-w.done:
		}
		return Batch{}, ctx.Err()
	}
}

func (w *Watcher) closedErr() error {
	if w.loopErr != nil {
		return w.loopErr
	}
	return ErrClosed
}

// SetInterest replaces what the watcher cares about (after a pipeline
// reload). Like New, it returns once new directories are watched and new
// files have a baseline.
func (w *Watcher) SetInterest(in Interest) error {
	req := updReq{in: in, reply: make(chan error, 1)}
	select {
	case w.updc <- req:
	case <-w.done:
		return w.closedErr()
	}
	return <-req.reply
}

// Dirs returns the watched directories, workspace-relative and sorted.
func (w *Watcher) Dirs() []string {
	c := make(chan []string, 1)
	select {
	case w.dirsc <- c:
	case <-w.done:
		return nil
	}
	return <-c
}

// Close stops watching and releases the inotify instance.
func (w *Watcher) Close() error {
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	<-w.done
	return nil
}

func (w *Watcher) closeFS() {
	w.fsw.Close()
	if w.barDir != "" {
		os.RemoveAll(w.barDir)
	}
}

func (w *Watcher) logf(format string, args ...any) {
	if w.cfg.Logf != nil {
		w.cfg.Logf(format, args...)
	}
}

func compile(in Interest) interest {
	c := interest{files: map[string]bool{}, want: map[string]bool{".": true}}
	c.ignore = []string{"out", ".bethel"}
	for _, p := range in.Ignore {
		p = path.Clean(filepath.ToSlash(p))
		if p != "." && !strings.HasPrefix(p, "../") {
			c.ignore = append(c.ignore, p)
		}
	}
	inside := func(p string) bool { return p != ".." && !strings.HasPrefix(p, "../") && !path.IsAbs(p) }
	for _, f := range in.Files {
		f = path.Clean(filepath.ToSlash(f))
		if !inside(f) || f == "." {
			continue
		}
		c.files[f] = true
		for _, d := range ancestors(path.Dir(f)) {
			c.want[d] = true
		}
	}
	for _, p := range in.Globs {
		p = filepath.ToSlash(p)
		if !hasMeta(p) {
			f := path.Clean(p)
			if inside(f) && f != "." {
				c.files[f] = true
				for _, d := range ancestors(path.Dir(f)) {
					c.want[d] = true
				}
			}
			continue
		}
		g := compileGlob(p)
		if !inside(g.prefix) {
			continue
		}
		c.globs = append(c.globs, g)
		for _, d := range ancestors(g.prefix) {
			c.want[d] = true
		}
		if g.recursive {
			c.recurse = append(c.recurse, g.prefix)
		}
	}
	return c
}

// ignored reports whether rel is, or lies below, a path the caller writes.
func (c *interest) ignored(rel string) bool {
	for _, d := range c.ignore {
		if under(rel, d) {
			return true
		}
	}
	return false
}

// relevant reports whether an event on the file rel matters.
func (c *interest) relevant(rel string) bool {
	if c.ignored(rel) {
		return false
	}
	if c.files[rel] {
		return true
	}
	if editorTemp(path.Base(rel)) {
		return false
	}
	for _, g := range c.globs {
		if g.match(rel) {
			return true
		}
	}
	return false
}

// wantDir reports whether the directory rel should be watched.
func (c *interest) wantDir(rel string) bool {
	if c.ignored(rel) {
		return false
	}
	if c.want[rel] {
		return true
	}
	for _, r := range c.recurse {
		if under(rel, r) {
			// Below a recursive glob's literal prefix, dot directories
			// (.git, editor state) cannot hold matches: wildcards skip them.
			rest := strings.TrimPrefix(strings.TrimPrefix(rel, r), "/")
			for _, s := range strings.Split(rest, "/") {
				if strings.HasPrefix(s, ".") || vcsDir(s) {
					return false
				}
			}
			return true
		}
	}
	return false
}

func (w *Watcher) abs(rel string) string {
	if rel == "." {
		return w.root
	}
	return filepath.Join(w.root, filepath.FromSlash(rel))
}

func (w *Watcher) rel(abs string) (string, bool) {
	r, err := filepath.Rel(w.root, abs)
	if err != nil {
		return "", false
	}
	r = filepath.ToSlash(r)
	if r == ".." || strings.HasPrefix(r, "../") {
		return "", false
	}
	return r, true
}

// sync makes the set of watches match the interest: it adds a watch on
// every wanted directory that exists (walking recursive ones) and drops
// watches no longer wanted. Files in newly watched directories are not
// reported: the caller is about to build, and baselineAll records them.
func (w *Watcher) sync() error {
	dirs := make([]string, 0, len(w.in.want))
	for d := range w.in.want {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if w.watched[d] {
			continue
		}
		if err := w.addTree(d, false); err != nil {
			return err
		}
	}
	for _, r := range w.in.recurse {
		if err := w.addTree(r, false); err != nil {
			return err
		}
	}
	for d := range w.watched {
		if !w.in.wantDir(d) {
			w.fsw.Remove(w.abs(d))
			delete(w.watched, d)
		}
	}
	return nil
}

// addTree watches dir if it is wanted and exists, then every wanted
// directory below it. With emit, files of interest found in directories
// that were not watched before are queued as changes (a directory created
// or moved in with files already inside produces no events for them). The
// watch is added before the directory is listed, so that a file created in
// between is seen either by the listing or by an event. Missing directories
// are not an error: their parent's watch will see them appear.
func (w *Watcher) addTree(dir string, emit bool) error {
	if !w.in.wantDir(dir) {
		return nil
	}
	fresh := !w.watched[dir]
	if fresh {
		fi, err := os.Stat(w.abs(dir))
		if err != nil || !fi.IsDir() {
			return nil
		}
		if err := w.fsw.Add(w.abs(dir)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("watch %s: %w (on Linux, raising fs.inotify.max_user_watches may help)", dir, err)
		}
		w.watched[dir] = true
	}
	ents, err := os.ReadDir(w.abs(dir))
	if err != nil {
		return nil
	}
	for _, e := range ents {
		child := e.Name()
		if dir != "." {
			child = dir + "/" + e.Name()
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(w.abs(child)); err == nil {
				isDir = fi.IsDir()
			}
		}
		if isDir {
			if err := w.addTree(child, emit); err != nil {
				return err
			}
		} else if emit && fresh && w.in.relevant(child) {
			w.touch(child)
		}
	}
	return nil
}

// baselineAll records the current state of every file of interest that
// exists, and of every file matching a glob in a watched directory.
func (w *Watcher) baselineAll() {
	for _, f := range w.known() {
		if _, ok := w.base[f]; !ok {
			w.base[f] = w.stat(f)
		}
	}
}

// known lists the files of interest: every exact file, every file in a
// watched directory that matches a glob, and every path with a baseline.
func (w *Watcher) known() []string {
	set := map[string]bool{}
	for f := range w.in.files {
		set[f] = true
	}
	for f := range w.base {
		set[f] = true
	}
	if len(w.in.globs) > 0 {
		for d := range w.watched {
			ents, err := os.ReadDir(w.abs(d))
			if err != nil {
				continue
			}
			for _, e := range ents {
				if e.IsDir() {
					continue
				}
				child := e.Name()
				if d != "." {
					child = d + "/" + e.Name()
				}
				if w.in.relevant(child) {
					set[child] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// stat reads a path's baseline: metadata always, content hash for files up
// to hashLimit.
func (w *Watcher) stat(rel string) baseline {
	fi, err := os.Stat(w.abs(rel))
	if err != nil || fi.IsDir() {
		return baseline{}
	}
	b := baseline{exists: true, size: fi.Size(), mtime: fi.ModTime(), ino: inode(fi)}
	if fi.Size() <= hashLimit {
		if h, err := hashFile(w.abs(rel)); err == nil {
			b.hashed, b.hash = true, h
		}
	}
	return b
}

// hashFile is the SHA-256 of a file's content. The watcher only compares
// the hashes it took itself, in one process, so any strong hash will do
// and the standard library's keeps it free of the build cache.
func hashFile(path string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
}

// same reports whether two baselines describe the same content.
func same(a, b baseline) bool {
	if a.exists != b.exists {
		return false
	}
	if !a.exists {
		return true
	}
	if a.size != b.size {
		return false
	}
	if a.hashed && b.hashed {
		return a.hash == b.hash
	}
	return a.mtime.Equal(b.mtime) && a.ino == b.ino
}

// touch queues rel as changed. While the caller is busy (or not yet known
// to be idle) the change is forced: the caller's build may have read a
// version other than the baseline, so equal content proves nothing.
func (w *Watcher) touch(rel string) {
	forced := w.barDir == "" || w.waiter == nil || !w.barSeen
	w.pending[rel] = w.pending[rel] || forced
	now := time.Now()
	if w.first.IsZero() {
		w.first = now
	}
	w.last = now
	w.arm()
}

// arm sets the timer to the end of the current burst.
func (w *Watcher) arm() {
	if len(w.pending) == 0 && !w.rescan {
		return
	}
	at := w.last.Add(w.cfg.Debounce)
	if lim := w.first.Add(w.cfg.MaxDelay); lim.Before(at) {
		at = lim
	}
	w.timer.Reset(time.Until(at))
	w.armed = true
}

func (w *Watcher) loop() {
	defer close(w.done)
	defer w.closeFS()
	for {
		var timerC <-chan time.Time
		if w.armed {
			timerC = w.timer.C
		}
		select {
		case <-w.quit:
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				w.loopErr = errors.New("watch: event stream closed")
				return
			}
			w.event(ev)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				w.loopErr = errors.New("watch: event stream closed")
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.overflow()
			} else {
				w.logf("watch: %v", err)
			}
		case req := <-w.nextc:
			w.waiter = req
			w.barSeen = false
			w.barrier()
			w.deliver()
		case req := <-w.cancelc:
			if w.waiter == req {
				w.waiter = nil
			} else {
				// Already answered: take the batch back so it is not lost.
				select {
				case b := <-req.reply:
					for _, p := range b.Paths {
						w.pending[p] = true
					}
					w.rescan = w.rescan || b.Rescan
				default:
				}
			}
		case req := <-w.updc:
			w.in = compile(req.in)
			err := w.sync()
			w.baselineAll()
			req.reply <- err
		case c := <-w.dirsc:
			out := make([]string, 0, len(w.watched))
			for d := range w.watched {
				out = append(out, d)
			}
			sort.Strings(out)
			c <- out
		case <-timerC:
			w.armed = false
			w.deliver()
		}
	}
}

// barrier writes a file in the private directory; its event marks the
// point in the queue after which events were caused after Next was called.
func (w *Watcher) barrier() {
	if w.barDir == "" {
		w.barSeen = true
		w.debugf("idle")
		return
	}
	w.barSeq++
	name := filepath.Join(w.barDir, "b"+strconv.Itoa(w.barSeq))
	if err := os.WriteFile(name, nil, 0o600); err != nil {
		// Without a barrier nothing can be dropped safely; events stay forced.
		w.logf("watch: barrier: %v", err)
	}
}

func (w *Watcher) event(ev fsnotify.Event) {
	if w.barDir != "" && filepath.Dir(ev.Name) == w.barDir {
		if ev.Has(fsnotify.Create) {
			if n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(ev.Name), "b")); err == nil {
				if n == w.barSeq && w.waiter != nil {
					w.barSeen = true
					w.debugf("idle")
					if w.onIdle != nil {
						w.onIdle()
					}
					w.deliver()
				}
			}
			os.Remove(ev.Name)
		}
		return
	}
	rel, ok := w.rel(ev.Name)
	if !ok || rel == "." || w.in.ignored(rel) {
		return
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
			// A new directory (mkdir, mkdir -p, or one moved in): watch it
			// and report what it already holds.
			if err := w.addTree(rel, true); err != nil {
				w.logf("watch: %v", err)
				w.rescan = true
				w.touchTimer()
			}
			return
		}
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		w.dropTree(rel)
	}
	if w.in.relevant(rel) {
		w.touch(rel)
	}
}

// dropTree forgets watches on rel and below, after rel was removed or moved
// away, and reports every known file of interest that was under it. Watches
// on subdirectories of a moved directory survive in the kernel under stale
// names, so they are removed explicitly.
func (w *Watcher) dropTree(rel string) {
	hit := false
	for d := range w.watched {
		if under(d, rel) {
			w.fsw.Remove(w.abs(d))
			delete(w.watched, d)
			hit = true
		}
	}
	if !hit {
		return
	}
	for f := range w.base {
		if under(f, rel) && w.in.relevant(f) {
			w.touch(f)
		}
	}
	for f := range w.in.files {
		if under(f, rel) {
			w.touch(f)
		}
	}
}

// overflow handles lost events: re-watch everything and report every file
// of interest.
func (w *Watcher) overflow() {
	if err := w.sync(); err != nil {
		w.logf("watch: %v", err)
	}
	for _, f := range w.known() {
		w.pending[f] = true
	}
	w.rescan = true
	w.touchTimer()
}

func (w *Watcher) touchTimer() {
	now := time.Now()
	if w.first.IsZero() {
		w.first = now
	}
	w.last = now
	w.arm()
}

// deliver hands the pending batch to a waiting caller once the burst is
// over, dropping paths whose content equals their baseline.
func (w *Watcher) deliver() {
	if w.waiter == nil || !w.barSeen || (len(w.pending) == 0 && !w.rescan) {
		return
	}
	if w.armed && time.Now().Before(w.deadline()) {
		return
	}
	b := Batch{Rescan: w.rescan}
	for p, forced := range w.pending {
		cur := w.stat(p)
		old := w.base[p] // the zero baseline is "did not exist"
		if cur.exists || w.in.files[p] {
			w.base[p] = cur
		} else {
			delete(w.base, p)
		}
		if forced || !same(old, cur) {
			b.Paths = append(b.Paths, p)
		} else {
			w.debugf("dropped %s: content unchanged", p)
		}
	}
	sort.Strings(b.Paths)
	clear(w.pending)
	w.rescan = false
	w.first, w.last = time.Time{}, time.Time{}
	w.timer.Stop()
	w.armed = false
	if len(b.Paths) == 0 && !b.Rescan {
		return
	}
	w.debugf("batch %v rescan=%v", b.Paths, b.Rescan)
	w.waiter.reply <- b
	w.waiter = nil
}

func (w *Watcher) debugf(format string, args ...any) {
	if w.cfg.Debugf != nil {
		w.cfg.Debugf(format, args...)
	}
}

func (w *Watcher) deadline() time.Time {
	at := w.last.Add(w.cfg.Debounce)
	if lim := w.first.Add(w.cfg.MaxDelay); lim.Before(at) {
		at = lim
	}
	return at
}
