package remote_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bethel/pkg/remote"
	"bethel/pkg/remote/remotetest"
)

// TestCredentialsAndTLS: basic authentication from ~/.netrc, a bearer
// token, https with a CA file, and what a member without (or with
// read-only) credentials gets: one warning, and the build goes on.
func TestCredentialsAndTLS(t *testing.T) {
	netrc := filepath.Join(t.TempDir(), "netrc")
	if err := os.WriteFile(netrc, []byte("machine 127.0.0.1\n  login builder\n  password s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type client struct {
		token, user, password string
		ca                    bool
	}
	for _, tc := range []struct {
		name     string
		server   remotetest.Config
		writer   client // uploads
		reader   client // fetches
		warnUp   string // the writer's one warning, if any
		warnDown string // the reader's one warning, if any
		hit      bool
	}{
		{name: "basic", server: remotetest.Config{User: "builder", Password: "s3cret"},
			writer: client{user: "builder", password: "s3cret"}, reader: client{user: "builder", password: "s3cret"}, hit: true},
		{name: "basic without credentials", server: remotetest.Config{User: "builder", Password: "s3cret"},
			writer: client{user: "builder", password: "s3cret"}, warnDown: "HTTP 401: the server wants credentials"},
		{name: "read-only member", server: remotetest.Config{User: "builder", ReadOnlyUser: "reader", Password: "s3cret"},
			writer: client{user: "builder", password: "s3cret"}, reader: client{user: "reader", password: "s3cret"}, hit: true},
		{name: "bearer", server: remotetest.Config{Token: "t0ken"},
			writer: client{token: "t0ken"}, reader: client{token: "t0ken"}, hit: true},
		{name: "wrong bearer", server: remotetest.Config{Token: "t0ken"},
			writer: client{token: "t0ken"}, reader: client{token: "other"}, warnDown: "HTTP 401"},
		{name: "https with a CA file", server: remotetest.Config{TLS: true},
			writer: client{ca: true}, reader: client{ca: true}, hit: true},
		{name: "https without the CA", server: remotetest.Config{TLS: true},
			writer: client{ca: true}, reader: client{}, warnDown: "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := remotetest.StartWith(t, tc.server)
			open := func(c client, root string, w *warnings) *remote.Client {
				o := remote.Options{URL: srv.URL, Upload: true, Root: root, Token: c.token, User: c.user, Password: c.password,
					Private: func(string) bool { return false }, Warn: w.add, Timeout: 2 * time.Second}
				if c.ca {
					o.CAFile = srv.CAFile
				}
				cl, err := remote.New(o)
				if err != nil {
					t.Fatal(err)
				}
				return cl
			}
			var wu, wd warnings
			a := buildOne(t, "bethel,count\n12,40\n")
			up := open(tc.writer, a.root, &wu)
			up.Upload("x", a.key, a.m, a.store)
			if s := up.Wait(30 * time.Second); s.Uploaded != 1 {
				t.Fatalf("writer: %+v, warnings %q", s, wu.list())
			}
			down := open(tc.reader, t.TempDir(), &wd)
			err := down.Fetch(context.Background(), "x", a.key, emptyStore(t))
			if tc.hit != (err == nil) {
				t.Fatalf("fetch: %v, want hit=%v", err, tc.hit)
			}
			if tc.name == "read-only member" {
				// Its own uploads are refused once, and it keeps reading.
				b := buildOne(t, "bethel,count\n12,41\n")
				down.Upload("x", b.key, b.m, b.store)
				if s := down.Wait(30 * time.Second); s.Uploaded != 0 || s.GivenUp != 1 {
					t.Errorf("read-only upload: %+v", s)
				}
				tc.warnDown = "refuses uploads (HTTP 403)"
				if err := down.Fetch(context.Background(), "x", a.key, emptyStore(t)); err != nil {
					t.Errorf("fetch after a refused upload: %v", err)
				}
			}
			for _, c := range []struct {
				w    *warnings
				want string
			}{{&wu, tc.warnUp}, {&wd, tc.warnDown}} {
				msgs := c.w.list()
				if c.want == "" && len(msgs) > 0 || c.want != "" && (len(msgs) != 1 || !strings.Contains(msgs[0], c.want)) {
					t.Errorf("warnings %q, want one saying %q", msgs, c.want)
				}
			}
		})
	}
	t.Run("netrc", func(t *testing.T) {
		t.Setenv("NETRC", netrc)
		t.Setenv("BETHEL_REMOTE_CACHE_TOKEN", "")
		if tok, u, p := remote.Credentials("https://127.0.0.1:8443/bethel"); tok != "" || u != "builder" || p != "s3cret" {
			t.Errorf("credentials %q %q %q", tok, u, p)
		}
		if _, u, _ := remote.Credentials("https://other.example.org/"); u != "" {
			t.Errorf("another host got %q", u)
		}
		if _, u, p := remote.Credentials("https://me:pw@127.0.0.1/"); u != "me" || p != "pw" {
			t.Errorf("the URL's own user lost to netrc: %q %q", u, p)
		}
		t.Setenv("BETHEL_REMOTE_CACHE_TOKEN", "tok")
		if tok, u, _ := remote.Credentials("https://127.0.0.1/"); tok != "tok" || u != "" {
			t.Errorf("token %q user %q", tok, u)
		}
	})
}
