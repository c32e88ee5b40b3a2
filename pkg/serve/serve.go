// Package serve previews a built static site over HTTP for `bethel watch
// --serve`, and makes open pages reload after each successful rebuild.
//
// Live reload uses server-sent events on /_bethel/events. The few lines of
// script that listen to them are inserted into HTML responses as they are
// served, never into the files on disk: the site under out/ stays exactly
// what the build produced (byte-deterministic and free of anything that only
// makes sense during a preview).
//
// The site holds internal event data, so the preview listens on loopback
// unless the caller explicitly allows more (see IsLoopback).
package serve

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// EventsPath is where pages subscribe to reload events.
const EventsPath = "/_bethel/events"

// Script is inserted into every served HTML page. It reconnects on its own
// (EventSource does) and reloads the page on a "reload" event.
const Script = `<script>/* bethel watch --serve: live reload (not part of the built site) */` +
	`(function(){var s=new EventSource("` + EventsPath + `");` +
	`s.addEventListener("reload",function(){s.close();location.reload();});})();</script>`

// Server serves one directory with live reload. Its zero value is not
// usable; call New.
type Server struct {
	dir string
	// Label names the directory in the placeholder page ("out/site/").
	Label string

	mu      sync.Mutex
	seq     int // number of reloads so far; also the SSE event id
	clients map[chan int]struct{}
	closed  bool
	done    chan struct{}
}

// New returns a server for the directory dir.
func New(dir string) *Server {
	return &Server{dir: dir, Label: dir, clients: map[chan int]struct{}{}, done: make(chan struct{})}
}

// Reload tells every open page to reload.
func (s *Server) Reload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	for c := range s.clients {
		// Each client channel holds one pending reload; a slow client
		// needs no more than one.
		select {
		case c <- s.seq:
		default:
		}
	}
}

// Clients returns how many event streams are open.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// Close ends every open event stream, so that http.Server.Shutdown does not
// wait for browsers that never hang up.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == EventsPath {
		s.events(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if fi, err := os.Stat(s.dir); err != nil || !fi.IsDir() {
		s.placeholder(w, r)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	full := filepath.Join(s.dir, filepath.FromSlash(p))
	fi, err := os.Stat(full)
	if err == nil && fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, path.Base(p)+"/", http.StatusMovedPermanently)
			return
		}
		index := filepath.Join(full, "index.html")
		if fi, err := os.Stat(index); err == nil && !fi.IsDir() {
			s.html(w, r, index)
			return
		}
	} else if err == nil && isHTML(full) {
		s.html(w, r, full)
		return
	}
	// Always the whole file: a rebuild may rewrite a file within the same
	// second (build.js after a failed and then a good build) or backdate
	// it, and Last-Modified, in whole seconds, would then answer 304 with
	// the old content.
	r.Header.Del("If-Modified-Since")
	r.Header.Del("If-None-Match")
	w.Header().Set("Cache-Control", "no-store")
	http.FileServer(http.Dir(s.dir)).ServeHTTP(w, r)
}

func isHTML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".html" || ext == ".htm"
}

// html serves an HTML file with the reload script inserted.
func (s *Server) html(w http.ResponseWriter, r *http.Request, name string) {
	b, err := os.ReadFile(name)
	if err != nil {
		http.Error(w, "cannot read page", http.StatusInternalServerError)
		return
	}
	body := Inject(b)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// Inject returns page with Script inserted before its last </body>, or
// appended when it has none.
func Inject(page []byte) []byte {
	i := bytes.LastIndex(bytes.ToLower(page), []byte("</body"))
	out := make([]byte, 0, len(page)+len(Script)+1)
	if i < 0 {
		out = append(out, page...)
		return append(out, Script...)
	}
	out = append(out, page[:i]...)
	out = append(out, Script...)
	return append(out, page[i:]...)
}

// placeholder answers while the site has not been built yet; the page
// reloads itself once it is.
func (s *Server) placeholder(w http.ResponseWriter, r *http.Request) {
	code := http.StatusOK
	if r.URL.Path != "/" {
		code = http.StatusNotFound
	}
	page := fmt.Sprintf(`<!doctype html>
<html><head><meta charset="utf-8"><title>bethel: site not built</title></head>
<body><h1>The review site has not been built yet</h1>
<p>%s does not exist. This page reloads after the next successful build.</p>
</body></html>
`, htmlEscape(s.Label))
	body := Inject([]byte(page))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// events is the server-sent event stream. A client that reconnects with a
// Last-Event-ID older than the current reload missed one while it was away
// and is told to reload at once.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	c := make(chan int, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	s.clients[c] = struct{}{}
	cur := s.seq
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
	}()
	if last, err := strconv.Atoi(r.Header.Get("Last-Event-ID")); err == nil && last < cur {
		select {
		case c <- cur:
		default:
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	fmt.Fprintf(w, "retry: 1000\nid: %d\n: connected\n\n", cur)
	fl.Flush()
	for {
		select {
		case n := <-c:
			if _, err := fmt.Fprintf(w, "id: %d\nevent: reload\ndata: %d\n\n", n, n); err != nil {
				return
			}
			fl.Flush()
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// IsLoopback reports whether a listen address (host:port) only accepts
// connections from this machine. An empty host means every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
