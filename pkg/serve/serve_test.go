package serve

import (
	"bufio"
	"context"
	"io"
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
