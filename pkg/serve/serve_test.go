package serve

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const wait = 10 * time.Second

func site(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "site")
	files := map[string]string{
		"index.html":     "<!doctype html><html><body><h1>Attendance</h1></BODY></html>\n",
		"program/a.html": "<p>no body tag</p>\n",
		"style.css":      "body{color:black}\n",
		"data.json":      `{"html":"</body>"}` + "\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestServeFiles(t *testing.T) {
	dir := site(t)
	ts := httptest.NewServer(New(dir))
	defer ts.Close()
	cases := []struct {
		path       string
		code       int
		script     bool
		contains   string
		ctypeStart string
	}{
		{"/", 200, true, "<h1>Attendance</h1>" + Script + "</BODY>", "text/html"},
		{"/index.html", 200, true, "Attendance", "text/html"},
		{"/program/a.html", 200, true, "<p>no body tag</p>\n" + Script, "text/html"},
		{"/style.css", 200, false, "body{color:black}", "text/css"},
		{"/data.json", 200, false, `"</body>"`, "application/json"},
		{"/missing.html", 404, false, "", ""},
		{"/../../etc/passwd", 404, false, "", ""},
	}
	for _, c := range cases {
		code, body, h := get(t, ts.URL+c.path)
		if code != c.code {
			t.Errorf("%s: status %d, want %d", c.path, code, c.code)
			continue
		}
		if got := strings.Contains(body, Script); got != c.script {
			t.Errorf("%s: script injected = %v, want %v", c.path, got, c.script)
		}
		if !strings.Contains(body, c.contains) {
			t.Errorf("%s: body %q lacks %q", c.path, body, c.contains)
		}
		if c.ctypeStart != "" && !strings.HasPrefix(h.Get("Content-Type"), c.ctypeStart) {
			t.Errorf("%s: Content-Type %q", c.path, h.Get("Content-Type"))
		}
	}
	// The files on disk never get the script.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), "EventSource") {
				t.Errorf("%s on disk holds the reload script", p)
			}
		}
		return nil
	})
}

func TestPlaceholder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	s := New(dir)
	s.Label = "out/site/"
	ts := httptest.NewServer(s)
	defer ts.Close()
	code, body, _ := get(t, ts.URL+"/")
	if code != 200 || !strings.Contains(body, "has not been built") || !strings.Contains(body, "out/site/") || !strings.Contains(body, Script) {
		t.Fatalf("placeholder: %d %q", code, body)
	}
	if code, _, _ := get(t, ts.URL+"/x.html"); code != 404 {
		t.Fatalf("placeholder for a page: %d, want 404", code)
	}
	// Once the site exists it is served.
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<body>built</body>"), 0o644)
	if _, body, _ := get(t, ts.URL+"/"); !strings.Contains(body, "built") {
		t.Fatalf("after build: %q", body)
	}
}

// stream opens the event stream and returns a function that reads the
// next event's name with a deadline.
func stream(t *testing.T, url string, lastID string) func() string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url+EventsPath, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		close(lines)
	}()
	return func() string {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return "EOF"
				}
				if strings.HasPrefix(l, ": connected") {
					return "connected"
				}
				if strings.HasPrefix(l, "event: ") {
					return strings.TrimPrefix(l, "event: ")
				}
			case <-time.After(wait):
				t.Fatal("no event before the deadline")
			}
		}
	}
}

func TestEvents(t *testing.T) {
	s := New(site(t))
	ts := httptest.NewServer(s)
	defer ts.Close()
	read := stream(t, ts.URL, "")
	if ev := read(); ev != "connected" {
		t.Fatalf("first event %q", ev)
	}
	s.Reload()
	if ev := read(); ev != "reload" {
		t.Fatalf("event %q, want reload", ev)
	}
	s.Reload()
	if ev := read(); ev != "reload" {
		t.Fatalf("second event %q, want reload", ev)
	}
	// A page that reconnects after missing a reload reloads at once.
	read2 := stream(t, ts.URL, "1")
	if ev := read2(); ev != "connected" {
		t.Fatalf("reconnect: %q", ev)
	}
	if ev := read2(); ev != "reload" {
		t.Fatalf("reconnect after a missed reload: %q, want reload", ev)
	}
	// Close ends the streams so that shutdown does not hang.
	s.Close()
	if ev := read(); ev != "EOF" {
		t.Fatalf("after Close: %q, want EOF", ev)
	}
}

func TestInject(t *testing.T) {
	cases := []struct{ in, want string }{
		{"<html><body>x</body></html>", "<html><body>x" + Script + "</body></html>"},
		{"<body>a</body><!-- </body> -->", "<body>a</body><!-- " + Script + "</body> -->"},
		{"plain", "plain" + Script},
		{"", Script},
	}
	for _, c := range cases {
		if got := string(Inject([]byte(c.in))); got != c.want {
			t.Errorf("Inject(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	cases := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"127.1.2.3:80", true},
		{"localhost:8080", true},
		{"[::1]:8080", true},
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{"192.168.1.5:8080", false},
		{"example.org:80", false},
		{"8080", false},
	}
	for _, c := range cases {
		if got := IsLoopback(c.addr); got != c.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", c.addr, got, c.want)
		}
	}
}

// request sends a GET with the given Host and Origin headers (empty:
// none beyond the URL's host).
func request(t *testing.T, url, host, origin string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") == "text/event-stream" {
		return resp, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestServeDefends: only the bound loopback address is answered (a
// rebinding host name gets 421), the event stream only for its own
// origin, no directory is listed, no symbolic link is followed, and every
// response carries the policy headers.
func TestServeDefends(t *testing.T) {
	dir := site(t)
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	os.WriteFile(filepath.Join(dir, "program", "b.css"), []byte("p{}\n"), 0o644)
	os.Symlink("/", filepath.Join(dir, "root"))
	os.Symlink("style.css", filepath.Join(dir, "alias.css"))
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.csv"), []byte("first_name\nMia\n"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "program", "priv"))
	srv := New(dir)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	bound := ts.Listener.Addr().String()
	srv.Bind(bound)
	_, port, _ := net.SplitHostPort(bound)
	own := "http://" + bound
	cases := []struct {
		name, path, host, origin string
		code                     int
	}{
		{"own address", "/", "", "", 200},
		{"localhost", "/style.css", "localhost:" + port, "", 200},
		{"rebinding host", "/", "attacker.test:" + port, "", 421},
		{"rebinding host, a file", "/style.css", "attacker.test:" + port, "", 421},
		{"other port", "/", "127.0.0.1:1", "", 421},
		{"no port", "/", "127.0.0.1", "", 421},
		{"events, own origin", EventsPath, "", own, 200},
		{"events, no origin", EventsPath, "", "", 200},
		{"events, foreign origin", EventsPath, "", "http://attacker.test:" + port, 403},
		{"events, https origin", EventsPath, "", "https://" + bound, 403},
		{"events, null origin", EventsPath, "", "null", 403},
		{"directory without index", "/empty/", "", "", 404},
		{"directory with a file", "/program/", "", "", 404},
		{"symlink to /", "/root/etc/passwd", "", "", 404},
		{"symlink to /, listing", "/root/", "", "", 404},
		{"symlinked file", "/alias.css", "", "", 404},
		{"symlinked directory", "/program/priv/secret.csv", "", "", 404},
		{"reload script", ReloadPath, "", "", 200},
		{"no icon in the site", FaviconPath, "", "", 204},
		{"no icon, rebinding host", FaviconPath, "attacker.test:" + port, "", 421},
	}
	for _, c := range cases {
		resp, body := request(t, ts.URL+c.path, c.host, c.origin)
		if resp.StatusCode != c.code {
			t.Errorf("%s: GET %s (Host %q, Origin %q): %s, want %d", c.name, c.path, c.host, c.origin, resp.Status, c.code)
		}
		// Exactly the site's own files: nothing widened (no data:, no
		// inline script or style).
		for k, v := range map[string]string{"Content-Security-Policy": "default-src 'self'",
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s: %q, want %q", c.name, k, got, v)
			}
		}
		if strings.Contains(body, "Mia") || strings.Contains(body, "root:") || strings.Contains(body, "<a href") {
			t.Errorf("%s: body shows what it must not:\n%s", c.name, body)
		}
	}
	if _, body := request(t, ts.URL+ReloadPath, "", ""); body != ReloadJS {
		t.Errorf("reload script: %q", body)
	}
	// The served pages load it from a file: no inline script.
	if _, body := request(t, ts.URL+"/", "", ""); strings.Contains(body, "<script>") || !strings.Contains(body, `<script src="`+ReloadPath+`"></script>`) {
		t.Errorf("page:\n%s", body)
	}
}

// TestServeUnbound: before Bind, loopback names with any port are
// answered, other names are not.
func TestServeUnbound(t *testing.T) {
	ts := httptest.NewServer(New(site(t)))
	defer ts.Close()
	for host, code := range map[string]int{"localhost:8080": 200, "127.0.0.1:1": 200, "[::1]:9": 200, "attacker.test:80": 421, "attacker.test": 421} {
		if resp, _ := request(t, ts.URL+"/style.css", host, ""); resp.StatusCode != code {
			t.Errorf("Host %s: %s, want %d", host, resp.Status, code)
		}
	}
}
