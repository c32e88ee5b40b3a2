// Package remotetest starts a real HTTP cache server for tests: Debian's
// nginx with its WebDAV module (dav_methods PUT), configured by the test on
// a loopback port, storing what it is sent under a temporary directory. The
// shared cache's tests and the end-to-end tests of `bethel make
// --remote-cache` run against it, so that what they prove holds for a
// server people actually deploy.
package remotetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
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

// Config says how the server is set up beyond Start's defaults.
type Config struct {
	// Prefix is the path the cache is served under ("" for the root).
	Prefix string
	// User and Password, when set, are required (basic authentication).
	User, Password string
	// Token, when set, is required as a bearer token.
	Token string
	// ReadOnlyUser, when set, may read with Password but not upload.
	ReadOnlyUser string
	// TLS serves https with a certificate for 127.0.0.1 signed by a CA
	// written to Server.CAFile.
	TLS bool
}

// Server is one running nginx.
type Server struct {
	// CAFile is the PEM certificate that signed the server's (TLS only).
	CAFile string
	// URL is the cache's base URL (with the prefix, no trailing slash).
	URL string
	// Data is the directory the server stores under: the cache's files
	// are Data/<prefix>/cas/<sha256> and Data/<prefix>/ac/<sha256>.
	Data string

	dir    string
	port   int
	prefix string
	conf   Config
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
	return StartWith(t, Config{Prefix: prefix})
}

// StartWith is Start with authentication or TLS.
func StartWith(t testing.TB, conf Config) *Server {
	t.Helper()
	prefix := conf.Prefix
	bin := Binary()
	if bin == "" {
		t.Skip("nginx is not installed (Debian: apt-get install nginx; scripts/test-deps.sh does it as root)")
	}
	dir := t.TempDir()
	s := &Server{dir: dir, Data: filepath.Join(dir, "data"), prefix: strings.TrimSuffix(prefix, "/"), bin: bin, conf: conf}
	for _, d := range []string{s.Data, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.port = freePort(t)
	scheme := "http"
	if conf.TLS {
		scheme = "https"
		if err := writeCert(dir); err != nil {
			t.Fatal(err)
		}
		s.CAFile = filepath.Join(dir, "ca.pem")
	}
	if conf.User != "" || conf.ReadOnlyUser != "" {
		var b strings.Builder
		// nginx reads {PLAIN} passwords: no hashing tool is needed.
		for _, u := range []string{conf.User, conf.ReadOnlyUser} {
			if u != "" {
				fmt.Fprintf(&b, "%s:{PLAIN}%s\n", u, conf.Password)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.URL = fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, s.port, s.prefix)
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
	ssl := ""
	if s.conf.TLS {
		ssl = " ssl"
	}
	fmt.Fprintf(&b, "  server {\n    listen 127.0.0.1:%d%s;\n    root %s;\n", s.port, ssl, s.Data)
	if s.conf.TLS {
		fmt.Fprintf(&b, "    ssl_certificate %s/cert.pem;\n    ssl_certificate_key %s/key.pem;\n", s.dir, s.dir)
	}
	switch mode {
	case Fail:
		b.WriteString("    location / { return 500; }\n")
	default:
		b.WriteString("    location / {\n")
		if s.conf.User != "" || s.conf.ReadOnlyUser != "" {
			fmt.Fprintf(&b, "      auth_basic bethel;\n      auth_basic_user_file %s/htpasswd;\n", s.dir)
		}
		if s.conf.ReadOnlyUser != "" {
			fmt.Fprintf(&b, "      if ($request_method = PUT) { set $put_by $remote_user; }\n      if ($put_by = %s) { return 403; }\n", s.conf.ReadOnlyUser)
		}
		if s.conf.Token != "" {
			fmt.Fprintf(&b, "      if ($http_authorization != \"Bearer %s\") { return 401; }\n", s.conf.Token)
		}
		b.WriteString("      dav_methods PUT;\n      create_full_put_path on;\n      dav_access user:rw;\n    }\n")
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

// writeCert writes a CA (ca.pem) and a certificate for 127.0.0.1 it signed
// (cert.pem, key.pem) into dir.
func writeCert(dir string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bethel test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	for name, block := range map[string]*pem.Block{
		"ca.pem":   {Type: "CERTIFICATE", Bytes: caDER},
		"cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem":  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			return err
		}
	}
	return nil
}
