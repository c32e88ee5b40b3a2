package browser_test

// The browser harness: one headless Chromium for the whole package, a tab
// per page, and a recorder of everything on that tab that makes a page
// broken (console errors, uncaught exceptions, failed requests, requests
// that leave the allowed origin).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// installHint is what a missing browser's failure says.
const installHint = "the review site is checked in a real browser, and no Chromium was found: " +
	"install it (Debian: `apt-get install -y chromium`; .ci/run does this), " +
	"name it with BETHEL_CHROMIUM=/path/to/chrome, or set BETHEL_SKIP_BROWSER=1 to skip the browser checks"

// chromiumPath finds the browser: BETHEL_CHROMIUM, else the usual names.
func chromiumPath() string {
	if p := os.Getenv("BETHEL_CHROMIUM"); p != "" {
		if p, err := exec.LookPath(p); err == nil {
			return p
		}
		return ""
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// theBrowser is the package's one browser, started by the first test that
// needs it and stopped by TestMain.
var theBrowser struct {
	once    sync.Once
	ctx     context.Context // the first tab; new tabs are its children
	cancel  context.CancelFunc
	alloc   context.CancelFunc
	dataDir string
	output  *lockedBuffer
	err     error
}

// lockedBuffer keeps the browser's own output (shown when it fails to
// start); chromedp writes it from another goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<16 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// needBrowser returns the context of the shared browser, or skips or fails
// the test when there is none (see installHint).
func needBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if os.Getenv("BETHEL_SKIP_BROWSER") == "1" {
		if path == "" {
			t.Skip("BETHEL_SKIP_BROWSER=1 and no Chromium installed: the real-browser checks of the review site are skipped")
		}
		t.Skip("BETHEL_SKIP_BROWSER=1: the real-browser checks of the review site are skipped")
	}
	if path == "" {
		t.Fatal(installHint)
	}
	b := &theBrowser
	b.once.Do(func() { b.err = startBrowser(path) })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.ctx
}

func startBrowser(path string) error {
	b := &theBrowser
	dir, err := os.MkdirTemp("", "bethel-chromium-")
	if err != nil {
		return err
	}
	b.dataDir = dir
	b.output = &lockedBuffer{}
	// Headless in a container: no sandbox (root, no user namespaces), no
	// GPU, /dev/shm may be tiny, no background traffic of the browser's own
	// (so that every request seen is the page's), a profile of our own.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 1000),
		chromedp.CombinedOutput(b.output),
		chromedp.WSURLReadTimeout(60*time.Second),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b.ctx, b.cancel, b.alloc = ctx, cancel, acancel
	// Start it now, so that a browser that cannot start fails here with
	// its output. Not under a timeout context: the browser lives as long
	// as the context of the first Run (the allocator's WSURLReadTimeout
	// bounds the start).
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string]("navigator.userAgent")); err != nil {
		return fmt.Errorf("starting %s: %v\nits output:\n%s", path, err, b.output.String())
	}
	return nil
}

// stopBrowser closes the browser and checks that none of its processes
// is left.
func stopBrowser() error {
	b := &theBrowser
	if b.ctx == nil {
		return nil
	}
	cctx, ccancel := context.WithTimeout(b.ctx, 10*time.Second)
	err := chromedp.Cancel(cctx)
	ccancel()
	b.cancel()
	b.alloc()
	defer os.RemoveAll(b.dataDir)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("closing the browser: %v", err)
	}
	if pids := processesWith("--user-data-dir=" + b.dataDir); len(pids) > 0 {
		return fmt.Errorf("browser processes left after the tests: %v", pids)
	}
	return nil
}

// processesWith returns the pids of the processes that have arg in their
// command line.
func processesWith(arg string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, a := range bytes.Split(cmdline, []byte{0}) {
			if string(a) == arg {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// recorder collects, for one tab, what makes a page broken.
type recorder struct {
	allowed func(url string) bool // may the page request this URL?
	ignore  func(url string) bool // a request that may be cut off (the reload stream)

	mu       sync.Mutex
	problems []string
	urls     map[network.RequestID]string
	requests []string
}

// Problems returns what went wrong on the tab so far.
func (r *recorder) Problems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.problems...)
}

// Requests returns every URL the tab requested so far.
func (r *recorder) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...)
}

func (r *recorder) add(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// event runs on chromedp's reading goroutine: it only records.
func (r *recorder) event(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			r.add("console.%s: %s%s", e.Type, argsText(e.Args), stackPlace(e.StackTrace))
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + firstLine(d.Exception.Description)
		}
		r.add("uncaught exception: %s (%s:%d)", clip(text), d.URL, d.LineNumber+1)
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError {
			r.add("browser log error (%s): %s %s", e.Entry.Source, clip(e.Entry.Text), e.Entry.URL)
		}
	case *network.EventRequestWillBeSent:
		u := e.Request.URL
		r.urls[e.RequestID] = u
		r.requests = append(r.requests, u)
		if !r.allowed(u) {
			r.add("request outside the site: %s", clip(u))
		}
	case *network.EventResponseReceived:
		if s := e.Response.Status; s >= 400 {
			r.add("HTTP %d for %s", s, e.Response.URL)
		}
	case *network.EventLoadingFailed:
		u := r.urls[e.RequestID]
		if e.Canceled && r.ignore != nil && r.ignore(u) {
			return
		}
		r.add("failed request: %s: %s", u, e.ErrorText)
	}
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		switch {
		case a.Description != "":
			parts = append(parts, firstLine(a.Description))
		case len(a.Value) > 0:
			s := string(a.Value)
			if u, err := strconv.Unquote(s); err == nil {
				s = u
			}
			parts = append(parts, s)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return clip(strings.Join(parts, " "))
}

func stackPlace(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf(" (%s:%d)", f.URL, f.LineNumber+1)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// clip keeps messages short: a page could log a whole data blob.
func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// tab is one open page.
type tab struct {
	ctx    context.Context
	cancel context.CancelFunc
	rec    *recorder
}

// openTab opens a new tab with a recorder, navigates to url and waits for
// the page to be loaded and settled. The tab closes at the end of the test.
func openTab(t *testing.T, url string, rec *recorder) *tab {
	t.Helper()
	bctx := needBrowser(t)
	ctx, cancel := chromedp.NewContext(bctx)
	tb := &tab{ctx: ctx, cancel: cancel, rec: rec}
	t.Cleanup(cancel)
	rec.urls = map[network.RequestID]string{}
	if err := chromedp.Listen(ctx, rec.event); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	if err := tb.navigate(url); err != nil {
		t.Fatalf("loading %s: %v", url, err)
	}
	return tb
}

func (tb *tab) navigate(url string) error {
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return err
	}
	return tb.settle()
}

// settle waits until the document is complete and the scripts run at load
// had a turn of the event loop and a frame. An evaluation that returns also
// means every event sent before it was recorded (chromedp delivers a tab's
// events in order, before the reply to a later command).
func (tb *tab) settle() error {
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(function(done) {
		function ready() { requestAnimationFrame(function() { setTimeout(function() { done(true); }, 0); }); }
		if (document.readyState === "complete") ready(); else addEventListener("load", ready);
	})`, chromedp.EvalAwaitPromise))
	return err
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](tb *tab, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// screenshot writes a PNG of the whole page and returns its path.
func (tb *tab) screenshot(t *testing.T, dir, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot of %s: %v", name, err)
		return ""
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Error(err)
	}
	return p
}

// screenshotDir is where screenshots go: BETHEL_SCREENSHOTS (kept, for CI
// artifacts) or the test's temporary directory.
func screenshotDir(t *testing.T, sub string) string {
	t.Helper()
	dir := t.TempDir()
	if d := os.Getenv("BETHEL_SCREENSHOTS"); d != "" {
		dir = d
	}
	dir = filepath.Join(dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// countCell is a td.count or th.count of a page.
type countCell struct {
	Cell   string `json:"cell"`   // data-cell: PATH:ROW:COL
	Button string `json:"button"` // the text of its button.why, "" if none
	HasBtn bool   `json:"hasBtn"`
	Tag    string `json:"tag"`
}

var cellRE = regexp.MustCompile(`^out/[^:]+:[0-9]+:[^:]+$`)

// countCells lists the count cells of the open page and checks the DOM
// contract of each: a data-cell PATH:ROW:COL and a button.why holding N.
func countCells(tb *tab) ([]countCell, []string, error) {
	cells, err := eval[[]countCell](tb, `Array.from(document.querySelectorAll("td.count, th.count")).map(function(e) {
		var b = e.querySelector("button.why");
		return {cell: e.getAttribute("data-cell") || "", button: b ? b.textContent : "", hasBtn: !!b, tag: e.tagName.toLowerCase()};
	})`)
	if err != nil {
		return nil, nil, err
	}
	var bad []string
	for i, c := range cells {
		switch {
		case !cellRE.MatchString(c.Cell):
			bad = append(bad, fmt.Sprintf("count cell #%d (%s) has data-cell %q, not PATH:ROW:COL", i+1, c.Tag, c.Cell))
		case !c.HasBtn:
			bad = append(bad, fmt.Sprintf("count cell %s has no button.why", c.Cell))
		default:
			if _, ok := parseCount(c.Button); !ok {
				bad = append(bad, fmt.Sprintf("count cell %s: button.why holds %q, not a number", c.Cell, c.Button))
			}
		}
	}
	return cells, bad, nil
}

var numberRE = regexp.MustCompile(`[0-9][0-9,\x{202f}\x{a0} ]*`)

// parseCount reads the first number of s, allowing thousands separators.
func parseCount(s string) (int, bool) {
	m := numberRE.FindString(s)
	if m == "" {
		return 0, false
	}
	m = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, m)
	n, err := strconv.Atoi(m)
	return n, err == nil
}

// clickCount clicks the button.why of the cell and returns the number in
// #lineage .lineage-count once the lineage of this click is shown.
func clickCount(tb *tab, cell string) (int, error) {
	// Mark what is shown now, so that the wait below sees the answer to
	// this click and not the lineage of the previous one.
	if _, err := eval[bool](tb, `(function() {
		var l = document.querySelector("#lineage");
		window.__bethelTestBefore = l ? l.innerHTML : null;
		document.querySelectorAll("#lineage .lineage-count").forEach(function(e) { e.__bethelTestOld = true; });
		return true;
	})()`); err != nil {
		return 0, err
	}
	sel := fmt.Sprintf(`td.count[data-cell=%[1]s] button.why, th.count[data-cell=%[1]s] button.why`, strconv.Quote(cell))
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		return 0, fmt.Errorf("clicking the count %s: %v", cell, err)
	}
	text, err := chromedp.Run(ctx, chromedp.Poll[string](`(function() {
		var e = document.querySelector("#lineage .lineage-count");
		if (!e || e.getClientRects().length === 0) return false;
		var l = document.querySelector("#lineage");
		if (e.__bethelTestOld && l.innerHTML === window.__bethelTestBefore) return false;
		return e.textContent || " ";
	})()`, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(6*time.Second)))
	if err != nil {
		return 0, fmt.Errorf("after clicking the count %s, no visible #lineage .lineage-count appeared for it: %v%s", cell, err, coveredBy(tb, sel))
	}
	n, ok := parseCount(text)
	if !ok {
		return 0, fmt.Errorf("after clicking the count %s, #lineage .lineage-count holds %q, not a number", cell, text)
	}
	return n, nil
}

// coveredBy says what covers the middle of the element sel, if anything
// does: a click there reaches that element instead (a sticky panel over a
// column, say).
func coveredBy(tb *tab, sel string) string {
	what, err := eval[string](tb, `(function(sel) {
		var b = document.querySelector(sel);
		if (!b) return "";
		var r = b.getBoundingClientRect();
		var h = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
		if (!h || h === b || b.contains(h)) return "";
		var d = h.tagName.toLowerCase() + (h.id ? "#" + h.id : "") + (h.className && typeof h.className === "string" ? "." + h.className.split(" ").join(".") : "");
		var up = h.closest("[id]");
		return d + (up && up !== h ? " inside #" + up.id : "");
	})(`+strconv.Quote(sel)+`)`)
	if err != nil || what == "" {
		return ""
	}
	return fmt.Sprintf(" (the button is covered by %s: a click on it lands there)", what)
}

// sampleCells picks the cells to click: for every output file the page
// shows, its first, last and a few cells in between (at most perPage in
// all), each data-cell once.
func sampleCells(cells []countCell, perPage int) []countCell {
	byPath := map[string][]countCell{}
	var paths []string
	seen := map[string]bool{}
	for _, c := range cells {
		if seen[c.Cell] || !cellRE.MatchString(c.Cell) || !c.HasBtn {
			continue
		}
		seen[c.Cell] = true
		p := c.Cell[:strings.IndexByte(c.Cell, ':')]
		if byPath[p] == nil {
			paths = append(paths, p)
		}
		byPath[p] = append(byPath[p], c)
	}
	if len(paths) == 0 {
		return nil
	}
	each := max(2, perPage/len(paths))
	var out []countCell
	for _, p := range paths {
		cs := byPath[p]
		if len(cs) <= each {
			out = append(out, cs...)
			continue
		}
		for i := range each {
			out = append(out, cs[i*(len(cs)-1)/(each-1)])
		}
	}
	return out
}
