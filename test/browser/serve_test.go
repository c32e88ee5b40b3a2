package browser_test

// The review site served by the real `bethel watch --serve`: every page
// works over HTTP with requests only to the loopback server, and an open
// page reloads by itself after a patch edit and shows the new count.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watchLine is the part of a `watch --json` line the test reads.
type watchLine struct {
	Ran     []string `json:"ran"`
	Failed  []string `json:"failed"`
	Changed []string `json:"changed"`
	Error   string   `json:"error"`
}

// watchProc is a running `bethel watch --json --serve`.
type watchProc struct {
	cmd    *exec.Cmd
	addr   string
	lines  chan watchLine
	stderr *lockedBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit error, once done is closed
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startWatch starts the watch in its own process group (so that nothing
// it starts can outlive the test) and waits, with a deadline, until its
// first build is reported and the server answers with the built site.
func startWatch(t *testing.T, ws string) *watchProc {
	t.Helper()
	w := &watchProc{addr: freeAddr(t), lines: make(chan watchLine, 64), stderr: &lockedBuffer{}, done: make(chan struct{})}
	w.cmd = exec.Command(bethelBin, "watch", "--json", "--serve", w.addr)
	w.cmd.Dir = ws
	w.cmd.Env = append(os.Environ(), "BETHEL_DEBUG=")
	w.cmd.Stderr = w.stderr
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l watchLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				w.lines <- l
			}
		}
		io.Copy(io.Discard, out)
		w.err = w.cmd.Wait()
		close(w.lines)
		close(w.done)
	}()
	t.Cleanup(func() { w.kill() })

	first, err := w.next(60 * time.Second)
	if err != nil {
		t.Fatalf("watch: no first build: %v\n%s", err, w.stderr.String())
	}
	if first.Error != "" || len(first.Failed) > 0 {
		t.Fatalf("watch: first build failed: %+v\n%s", first, w.stderr.String())
	}
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get("http://" + w.addr + "/index.html")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte("data-total")) {
				break
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch --serve %s: the site was not served within 30 s: %v\n%s", w.addr, err, w.stderr.String())
		}
		select {
		case <-w.done:
			t.Fatalf("watch exited early: %v\n%s", w.err, w.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return w
}

// next returns the next build line, waiting at most d.
func (w *watchProc) next(d time.Duration) (watchLine, error) {
	select {
	case l, ok := <-w.lines:
		if !ok {
			return watchLine{}, fmt.Errorf("watch exited: %v", w.err)
		}
		return l, nil
	case <-time.After(d):
		return watchLine{}, fmt.Errorf("no build reported within %v", d)
	}
}

// stop sends SIGINT, as Ctrl-C does, and waits for a clean exit.
func (w *watchProc) stop(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Errorf("interrupting the watch: %v", err)
	}
	select {
	case <-w.done:
		if w.err != nil {
			t.Errorf("watch after SIGINT: %v (want exit status 0)\n%s", w.err, w.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Errorf("watch did not exit within 15 s of SIGINT\n%s", w.stderr.String())
		w.kill()
	}
	// Nothing of its group may be left, whatever happened above.
	if err := syscall.Kill(-w.cmd.Process.Pid, 0); err == nil {
		t.Errorf("processes of the watch's group %d are still running after it exited", w.cmd.Process.Pid)
		w.kill()
	}
}

// kill ends the whole process group and waits for the watch.
func (w *watchProc) kill() {
	syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
	}
}

func TestSiteServed(t *testing.T) {
	ws := newWorkspace(t)
	needSite(t, ws)
	needBrowser(t)
	w := startWatch(t, ws)
	origin := "http://" + w.addr + "/"
	shots := screenshotDir(t, "served")
	t.Logf("serving at %s; screenshots in %s", origin, shots)

	for _, page := range allPages(t, filepath.Join(ws, "out", "site")) {
		t.Run(page, func(t *testing.T) {
			tb := openTab(t, origin+page, servedRecorder(origin))
			checkPage(t, tb, ws, page, shots, 4, 0)
		})
	}

	t.Run("reload after a patch edit", func(t *testing.T) {
		tb := openTab(t, origin+"index.html", servedRecorder(origin))
		before := registrationsShown(t, tb)
		if _, err := eval[bool](tb, `window.__bethelTestMark = true`); err != nil {
			t.Fatal(err)
		}
		file, id := dropOnePatch(t, ws)
		t.Logf("appended a drop of %s to %s", id, file)
		// The build the edit starts.
		deadline := time.Now().Add(60 * time.Second)
		for {
			l, err := w.next(time.Until(deadline))
			if err != nil {
				t.Fatalf("after the patch edit: %v\n%s", err, w.stderr.String())
			}
			if l.Error != "" || len(l.Failed) > 0 {
				t.Fatalf("the build after the patch edit failed: %+v\n%s", l, w.stderr.String())
			}
			if len(l.Ran) > 0 {
				break
			}
		}
		// The page reloads by itself: the mark set on the old document is
		// gone once the new one is loaded. Evaluations fail while the page
		// navigates; they are retried until the deadline.
		var lastErr error
		for reloaded := false; !reloaded; {
			if time.Now().After(deadline) {
				t.Fatalf("the open page did not reload within 60 s of the patch edit (last error: %v)", lastErr)
			}
			reloaded, lastErr = eval[bool](tb, `window.__bethelTestMark === undefined && document.readyState === "complete"`)
			if !reloaded {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if err := tb.settle(); err != nil {
			t.Fatal(err)
		}
		after := registrationsShown(t, tb)
		if after != before-1 {
			t.Errorf("after dropping one registration the page shows %d registrations, before %d", after, before)
		}
		checkTotals(t, tb, ws)
		for _, p := range tb.rec.Problems() {
			t.Errorf("reloaded page: %s", p)
		}
	})

	t.Run("banner while the last build failed", func(t *testing.T) {
		tb := openTab(t, origin+"program.html", servedRecorder(origin))
		if n := alertText(t, tb); n != "" {
			t.Fatalf("a banner before any failure: %q", n)
		}
		if _, err := eval[bool](tb, `window.__bethelBannerMark = true`); err != nil {
			t.Fatal(err)
		}
		// A patch file with a TOML mistake holding a private-looking value
		// fails the registrations node.
		broken := filepath.Join(ws, "patches", "registrations", "99-broken.toml")
		saveLikeEditor(t, broken, "[[patch]]\nid = \"broken\"\ntarget = \"registrations\"\nset = { first_name = EmmaSECRET }\n")
		waitBuild(t, w, true)
		waitReload(t, tb)
		msg := alertText(t, tb)
		for _, want := range []string{"The last build failed", "registrations", "99-broken.toml"} {
			if !strings.Contains(msg, want) {
				t.Errorf("the banner does not say %q: %q", want, msg)
			}
		}
		if strings.Contains(msg, "EmmaSECRET") {
			t.Errorf("the banner shows the value typed by mistake: %q", msg)
		}
		// A good build takes the banner away.
		if err := os.Remove(broken); err != nil {
			t.Fatal(err)
		}
		waitBuild(t, w, false)
		waitReload(t, tb)
		if msg := alertText(t, tb); msg != "" {
			t.Errorf("the banner stays after a good build: %q", msg)
		}
		for _, p := range tb.rec.Problems() {
			t.Errorf("page: %s", p)
		}
	})

	w.stop(t)
}

// alertText is the text of the page's role="alert" banner, or "".
func alertText(t *testing.T, tb *tab) string {
	t.Helper()
	s, err := eval[string](tb, `(document.querySelector('[role="alert"]') || {}).textContent || ""`)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// saveLikeEditor writes a file as editors save: a temporary file renamed
// over it.
func saveLikeEditor(t *testing.T, file, text string) {
	t.Helper()
	tmp := file + ".tmp~"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

// waitBuild waits for the watch's next build that did something and
// checks whether it failed.
func waitBuild(t *testing.T, w *watchProc, failed bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		l, err := w.next(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for a build: %v\n%s", err, w.stderr.String())
		}
		bad := l.Error != "" || len(l.Failed) > 0
		if bad == failed && (bad || len(l.Ran) > 0 || len(l.Changed) > 0) {
			return
		}
		if bad != failed {
			t.Fatalf("build failed = %v, want %v: %+v\n%s", bad, failed, l, w.stderr.String())
		}
	}
}

// waitReload waits until the page marked before has reloaded (the mark is
// gone) and settled, then marks the new document.
func waitReload(t *testing.T, tb *tab) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var lastErr error
	for {
		if time.Now().After(deadline) {
			t.Fatalf("the open page did not reload within 60 s (last error: %v)", lastErr)
		}
		var gone bool
		gone, lastErr = eval[bool](tb, `window.__bethelBannerMark === undefined && document.readyState === "complete" && !!window.bethelBuild`)
		if gone && lastErr == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := tb.settle(); err != nil {
		t.Fatal(err)
	}
	if _, err := eval[bool](tb, `window.__bethelBannerMark = true`); err != nil {
		t.Fatal(err)
	}
}

// servedRecorder allows the requests of a page served from origin.
func servedRecorder(origin string) *recorder {
	return &recorder{
		allowed: func(u string) bool { return strings.HasPrefix(u, origin) || strings.HasPrefix(u, "data:") },
		// The live-reload stream is cut off when a page reloads or closes.
		ignore: func(u string) bool { return u == origin+"_bethel/events" },
	}
}

// registrationsShown reads the overview's registrations total.
func registrationsShown(t *testing.T, tb *tab) int {
	t.Helper()
	s, err := eval[string](tb, `(document.querySelector('dd[data-total="registrations"]') || {}).textContent || ""`)
	if err != nil {
		t.Fatal(err)
	}
	n, ok := parseCount(s)
	if !ok {
		t.Fatalf("the overview's registrations total is %q", s)
	}
	return n
}

// dropOnePatch appends, to the last registrations patch file, a patch
// that drops one active registration no other patch names, the way an
// editor saves (a temporary file renamed over the file). It returns the
// file and the registration's key.
func dropOnePatch(t *testing.T, ws string) (string, string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(ws, "patches", "registrations", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no registrations patch file in the sample: %v", err)
	}
	sort.Strings(files)
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	header, rows, err := readCSV(filepath.Join(ws, "out", "private", "registrations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range header {
		if h == "registration_id" {
			col = i
		}
	}
	if col < 0 {
		t.Fatal("out/private/registrations.csv has no registration_id column")
	}
	id := ""
	for _, r := range rows {
		if !bytes.Contains(all, []byte(`"`+r[col]+`"`)) {
			id = r[col]
			break
		}
	}
	if id == "" {
		t.Fatal("every registration is named by a patch already")
	}
	last := files[len(files)-1]
	old, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	patch := fmt.Sprintf(`

[[patch]]
id     = "browser-test-drop-%[1]s"
target = "registrations"
match  = { registration_id = %[1]q }
drop   = true
reason = "Browser test: an open page reloads and shows the new count"
author = "test/browser"
date   = 2026-05-01
`, id)
	tmp := last + ".tmp"
	if err := os.WriteFile(tmp, append(old, patch...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, last); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(ws, last)
	return filepath.ToSlash(rel), id
}
