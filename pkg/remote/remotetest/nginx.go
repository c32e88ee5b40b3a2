// Package remotetest starts a real HTTP cache server for tests: Debian's
// nginx with its WebDAV module (dav_methods PUT), configured by the test on
// a loopback port, storing what it is sent under a temporary directory. The
// shared cache's tests and the end-to-end tests of `bethel make
// --remote-cache` run against it, so that what they prove holds for a
// server people actually deploy.
package remotetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Mode is how the server answers.
type Mode int

const (
	// Serve stores PUTs and answers GET and HEAD from what it stored.
	Serve Mode = iota
	// Fail answers every request with 500 Internal Server Error.
	Fail
)

// Server is one running nginx.
type Server struct {
	// URL is the cache's base URL (with the prefix, no trailing slash).
	URL string
	// Data is the directory the server stores under: the cache's files
	// are Data/<prefix>/cas/<sha256> and Data/<prefix>/ac/<sha256>.
	Data string

	dir    string
	port   int
	prefix string
	bin    string
	cmd    *exec.Cmd
	done   chan struct{}
}

// Binary returns the nginx binary, or "" when none is installed.
func Binary() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Start starts nginx storing under a new temporary directory, serving the
// cache under prefix (for example "/bethel"; "" for the root). The test is
// skipped when nginx is not installed (scripts/test-deps.sh installs it);
// the server is stopped when the test ends.
func Start(t testing.TB, prefix string) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		t.Skip("nginx is not installed (Debian: apt-get install nginx; scripts/test-deps.sh does it as root)")
	}
	dir := t.TempDir()
	s := &Server{dir: dir, Data: filepath.Join(dir, "data"), prefix: strings.TrimSuffix(prefix, "/"), bin: bin}
	for _, d := range []string{s.Data, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.port = freePort(t)
	s.URL = fmt.Sprintf("http://127.0.0.1:%d%s", s.port, s.prefix)
	if err := s.start(Serve); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Restart stops the server and starts it again on the same port and
// directory, answering as mode says.
func (s *Server) Restart(t testing.TB, mode Mode) {
	t.Helper()
	s.Stop()
	if err := s.start(mode); err != nil {
		t.Fatal(err)
	}
}

// Stop stops the server (and waits for it); stopping a stopped server is
// a no-op. Its files stay.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) config(mode Mode) string {
	var b strings.Builder
	fmt.Fprintf(&b, "daemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n", s.dir, s.dir)
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, who cannot write under
		// the test's private temporary directory.
		b.WriteString("user root;\n")
	}
	b.WriteString("events { worker_connections 64; }\nhttp {\n")
	fmt.Fprintf(&b, "  access_log %s/access.log;\n", s.dir)
	for _, k := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "  %s_temp_path %s/tmp/%s;\n", k, s.dir, k)
	}
	b.WriteString("  client_max_body_size 0;\n")
	fmt.Fprintf(&b, "  server {\n    listen 127.0.0.1:%d;\n    root %s;\n", s.port, s.Data)
	switch mode {
	case Fail:
		b.WriteString("    location / { return 500; }\n")
	default:
		b.WriteString("    location / {\n      dav_methods PUT;\n      create_full_put_path on;\n      dav_access user:rw;\n    }\n")
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

func (s *Server) start(mode Mode) error {
	conf := filepath.Join(s.dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(s.config(mode)), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "-p", s.dir, "-c", conf, "-e", filepath.Join(s.dir, "error.log"))
	out, err := os.Create(filepath.Join(s.dir, "nginx.out"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("starting nginx: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			s.cmd = nil
			log, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
			o, _ := os.ReadFile(filepath.Join(s.dir, "nginx.out"))
			return fmt.Errorf("nginx exited at start:\n%s%s", o, log)
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("nginx did not listen on port %d within 10s", s.port)
}

// Files lists every file the server stores (paths relative to Data).
func (s *Server) Files(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(s.Data, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(s.Data, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
