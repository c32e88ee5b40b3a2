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
// unless the caller explicitly allows more (see IsLoopback), and defends
// what a browser on this machine could be tricked into: it answers only
// Host headers naming the address it bound (a DNS-rebinding page, whose
// requests carry its own host name, gets 421), accepts the event stream
// only from its own origin, lists no directory, serves no symbolic link
// (nor anything outside the directory), and sends a Content-Security-Policy
// that allows nothing but its own files, with no referrer and no MIME
// sniffing.
package serve

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EventsPath is where pages subscribe to reload events.
const EventsPath = "/_bethel/events"

// ReloadPath serves ReloadJS.
const ReloadPath = "/_bethel/reload.js"

// ReloadJS subscribes a page to reload events. It reconnects on its own
// (EventSource does) and reloads the page on a "reload" event. It is a
// file of its own, not an inline script, so that the policy below holds.
const ReloadJS = `/* bethel watch --serve: live reload (not part of the built site) */` +
	`(function(){var s=new EventSource("` + EventsPath + `");` +
	`s.addEventListener("reload",function(){s.close();location.reload();});})();` + "\n"

// Script is inserted into every served HTML page.
const Script = `<script src="` + ReloadPath + `"></script>`

// Policy is the Content-Security-Policy of every response: the site's own
// files only (its pages use no inline script or style), nothing widened.
// The pages name no icon; the browser's request for /favicon.ico gets
// FaviconPath's answer.
const Policy = "default-src 'self'"

// FaviconPath is where a browser looks for an icon when a page names none.
// A site without that file gets 204 No Content there: no icon, and no
// failed request in the browser's console.
const FaviconPath = "/favicon.ico"

// Server serves one directory with live reload. Its zero value is not
// usable; call New.
type Server struct {
	dir string
	// Label names the directory in the placeholder page ("out/site/").
	Label string
	// hosts are the Host headers answered (see Bind); port is the bound
	// port, for a server bound beyond loopback.
	hosts map[string]bool
	port  string

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

// Bind tells the server the address its listener bound (host:port, as
// net.Listener.Addr gives it). Bound to a loopback address, it answers
// only Host headers naming that address or localhost with that port;
// bound wider (the caller allowed it), any host name with that port.
// Until Bind is called it answers any loopback host name with any port.
func (s *Server) Bind(addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	s.port = port
	s.hosts = map[string]bool{}
	if IsLoopback(addr) {
		s.hosts[net.JoinHostPort(host, port)] = true
		s.hosts[net.JoinHostPort("localhost", port)] = true
		if port == "80" {
			s.hosts[hostOnly(host)] = true
			s.hosts["localhost"] = true
		}
	}
}

func hostOnly(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// hostAllowed reports whether a request's Host header names this server.
func (s *Server) hostAllowed(host string) bool {
	host = strings.ToLower(host)
	if s.hosts == nil {
		h, _, err := net.SplitHostPort(host)
		if err != nil {
			h = strings.Trim(host, "[]")
		}
		return IsLoopback(net.JoinHostPort(h, "0"))
	}
	if len(s.hosts) > 0 {
		return s.hosts[host]
	}
	_, port, err := net.SplitHostPort(host)
	if err != nil {
		port = "80"
	}
	return port == s.port
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

// ServeHTTP answers one request: the event stream, the reload script, or
// a file of the site (HTML with the reload script inserted), with the
// defences of the package comment.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", Policy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if !s.hostAllowed(r.Host) {
		// 421: this server is not the one the name points at (DNS
		// rebinding points a foreign name at loopback).
		http.Error(w, "misdirected request: this preview answers only its own loopback address", http.StatusMisdirectedRequest)
		return
	}
	if r.URL.Path == EventsPath {
		if o := r.Header.Get("Origin"); o != "" && !s.originAllowed(o, r.Host) {
			http.Error(w, "forbidden: the event stream is for this preview's own pages", http.StatusForbidden)
			return
		}
		s.events(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == ReloadPath {
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodHead {
			io.WriteString(w, ReloadJS)
		}
		return
	}
	h.Set("Cache-Control", "no-cache")
	if fi, err := os.Lstat(s.dir); err != nil || !fi.IsDir() {
		s.placeholder(w, r)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	rel := strings.TrimPrefix(p, "/")
	if rel == "" {
		rel = "."
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		s.placeholder(w, r)
		return
	}
	defer root.Close()
	fi, err := s.lstat(root, rel)
	if err != nil {
		if p == FaviconPath {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.NotFound(w, r)
		return
	}
	if fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, path.Base(p)+"/", http.StatusMovedPermanently)
			return
		}
		// A directory's index.html, never a listing.
		rel = path.Join(rel, "index.html")
		if fi, err = s.lstat(root, rel); err != nil || fi.IsDir() {
			http.NotFound(w, r)
			return
		}
	}
	f, err := root.Open(rel)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	if isHTML(rel) {
		s.html(w, r, f)
		return
	}
	// Always the whole file: a rebuild may rewrite a file within the same
	// second (build.js after a failed and then a good build) or backdate
	// it, and Last-Modified, in whole seconds, would then answer 304 with
	// the old content. A zero time sends no Last-Modified.
	h.Set("Cache-Control", "no-store")
	http.ServeContent(w, r, path.Base(rel), time.Time{}, f)
}

// lstat is the file at rel under root, refused when rel or any directory
// on its way is a symbolic link: the built site has none, and one planted
// in it (ln -s / out/site/root) must not serve what it points at.
func (s *Server) lstat(root *os.Root, rel string) (fs.FileInfo, error) {
	var fi fs.FileInfo
	at := ""
	for _, part := range strings.Split(rel, "/") {
		at = path.Join(at, part)
		var err error
		if fi, err = root.Lstat(at); err != nil {
			return nil, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fs.ErrNotExist
		}
	}
	return fi, nil
}

// originAllowed reports whether an Origin header names this server: the
// scheme http and an allowed host, the request's own.
func (s *Server) originAllowed(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.Path != "" {
		return false
	}
	return strings.EqualFold(u.Host, host) && s.hostAllowed(u.Host)
}

func isHTML(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".html" || ext == ".htm"
}

// html serves an HTML file with the reload script inserted.
func (s *Server) html(w http.ResponseWriter, r *http.Request, f io.Reader) {
	b, err := io.ReadAll(f)
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
