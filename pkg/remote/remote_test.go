package remote_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"bethel/pkg/cache"
	"bethel/pkg/remote"
	"bethel/pkg/remote/remotetest"
)

// warnings collects a client's warnings.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(s string) { w.mu.Lock(); w.msgs = append(w.msgs, s); w.mu.Unlock() }
func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// secret is the content of the private output in these tests: it must
// never reach the server's directory in clear.
const secret = "R-1001,Avery Example,avery@example.org,2012-04-01\n"

// built is a workspace with one node's output built and in its store.
type built struct {
	root  string
	store *cache.Store
	key   cache.Hash
	m     *cache.Manifest
}

func buildOne(t *testing.T, content string) built {
	t.Helper()
	root := t.TempDir()
	st, err := cache.Open(filepath.Join(root, ".bethel", "cache"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "out", "x.csv")
	os.MkdirAll(filepath.Dir(out), 0o700)
	if err := os.WriteFile(out, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	h, n, err := st.PutFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lin, err := st.PutBytes([]byte("lineage of " + content))
	if err != nil {
		t.Fatal(err)
	}
	m := &cache.Manifest{
		Outputs: []cache.Output{{Path: "out/x.csv", Size: n, Hash: h, Mode: 0o600}},
		Extra:   []cache.Extra{{Name: "lineage out/x.csv", Hash: lin, Size: 1}},
		Desc:    "bethel test\nstage x v1\n",
	}
	key := cache.Sum([]byte("action of " + content))
	if err := st.PutManifest(key, m); err != nil {
		t.Fatal(err)
	}
	return built{root, st, key, m}
}

func emptyStore(t *testing.T) *cache.Store {
	st, err := cache.Open(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

type clientOpts struct {
	private    bool
	recipients []age.Recipient
	identities []age.Identity
}

func newClient(t *testing.T, url, root string, o clientOpts, w *warnings) *remote.Client {
	t.Helper()
	c, err := remote.New(remote.Options{
		URL: url, Upload: true, Root: root,
		Recipients: o.recipients, Identities: o.identities,
		Private: func(string) bool { return o.private },
		Warn:    w.add,
		Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func identity(t *testing.T) *age.X25519Identity {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// grepServer fails the test if any file the server stores contains s.
func grepServer(t *testing.T, srv *remotetest.Server, s string) {
	t.Helper()
	for _, f := range srv.Files(t) {
		b, err := os.ReadFile(filepath.Join(srv.Data, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) || strings.Contains(f, s) {
			t.Errorf("server file %s holds a private value in clear", f)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	srv := remotetest.Start(t, "/team/bethel")
	id := identity(t)
	other := identity(t)
	for _, tc := range []struct {
		name       string
		o          clientOpts
		fetchIDs   []age.Identity
		uploaded   int
		keptLocal  int
		hit        bool
		missReason string
	}{
		{name: "internal", o: clientOpts{}, uploaded: 1, hit: true},
		{name: "private sealed, member", o: clientOpts{private: true, recipients: []age.Recipient{id.Recipient()}}, fetchIDs: []age.Identity{id}, uploaded: 1, hit: true},
		{name: "private sealed, no identity", o: clientOpts{private: true, recipients: []age.Recipient{id.Recipient()}}, uploaded: 1, missReason: "no identity"},
		{name: "private sealed, other identity", o: clientOpts{private: true, recipients: []age.Recipient{id.Recipient()}}, fetchIDs: []age.Identity{other}, uploaded: 1, missReason: "other recipients"},
		{name: "private without recipients", o: clientOpts{private: true}, fetchIDs: []age.Identity{id}, keptLocal: 1, missReason: "not in the shared cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w warnings
			content := "bethel,count\n12,40\n" + tc.name
			if tc.o.private {
				content = secret + tc.name
			}
			a := buildOne(t, content)
			up := newClient(t, srv.URL, a.root, tc.o, &w)
			up.Upload("x", a.key, a.m, a.store)
			s := up.Wait(30 * time.Second)
			if s.Uploaded != tc.uploaded || s.KeptLocal != tc.keptLocal || s.GivenUp != 0 {
				t.Fatalf("stats %+v, want %d uploaded, %d kept local", s, tc.uploaded, tc.keptLocal)
			}
			b := emptyStore(t)
			o := tc.o
			o.identities = tc.fetchIDs
			down := newClient(t, srv.URL, t.TempDir(), o, &w)
			err := down.Fetch(context.Background(), "x", a.key, b)
			if tc.hit {
				if err != nil {
					t.Fatalf("fetch: %v", err)
				}
				m, err := b.GetManifest(a.key)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range m.Blobs() {
					if _, err := b.ReadBlob(h); err != nil {
						t.Errorf("blob %s: %v", h.Short(), err)
					}
				}
				filepath.WalkDir(b.Dir(), func(p string, d os.DirEntry, err error) error {
					if err == nil && cache.IsTemp(d.Name()) {
						t.Errorf("temporary file %s left in the store", d.Name())
					}
					return nil
				})
				got, _ := b.ReadBlob(m.Outputs[0].Hash)
				if string(got) != content {
					t.Errorf("restored %q", got)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.missReason) {
				t.Fatalf("fetch: %v, want a miss saying %q", err, tc.missReason)
			}
			if tc.o.private {
				grepServer(t, srv, "Avery")
				grepServer(t, srv, "avery@example.org")
			}
			if msgs := w.list(); len(msgs) > 0 {
				t.Errorf("warnings: %q", msgs)
			}
			// A second upload finds the entry there.
			if tc.uploaded > 0 {
				up.Upload("x", a.key, a.m, a.store)
				if s := up.Wait(30 * time.Second); s.Present != 1 {
					t.Errorf("second upload: %+v, want the entry present", s)
				}
			}
		})
	}
}

// TestWrongBody: a blob whose bytes the server changed is a miss with one
// warning, and nothing of it enters the local store.
func TestWrongBody(t *testing.T) {
	srv := remotetest.Start(t, "")
	var w warnings
	a := buildOne(t, "bethel,count\n12,40\n")
	up := newClient(t, srv.URL, a.root, clientOpts{}, &w)
	up.Upload("x", a.key, a.m, a.store)
	up.Wait(30 * time.Second)
	var cas []string
	for _, f := range srv.Files(t) {
		if strings.HasPrefix(f, "cas/") {
			cas = append(cas, f)
		}
	}
	if len(cas) != 2 {
		t.Fatalf("server holds %v, want 2 blobs", srv.Files(t))
	}
	os.WriteFile(filepath.Join(srv.Data, cas[0]), []byte("bethel,count\n12,41\n"), 0o644)
	b := emptyStore(t)
	down := newClient(t, srv.URL, t.TempDir(), clientOpts{}, &w)
	err := down.Fetch(context.Background(), "x", a.key, b)
	if err == nil {
		t.Fatal("fetch of a wrong body succeeded")
	}
	if msgs := w.list(); len(msgs) != 1 || !strings.Contains(msgs[0], "does not match its hash") {
		t.Fatalf("warnings %q, want one about the hash", msgs)
	}
	if _, err := b.GetManifest(a.key); err == nil {
		t.Error("a manifest entered the store")
	}
	for _, h := range a.m.Blobs() {
		if b.HasBlob(h) {
			if got, err := b.ReadBlob(h); err != nil || cache.Sum(got) != h {
				t.Errorf("blob %s entered the store wrong", h.Short())
			}
		}
	}
}

// TestServerFailing: a server answering 500, not at all, or accepting
// connections and then saying nothing costs a few retries (none for the
// silent one), one warning, and then nothing more for the rest of the
// build.
func TestServerFailing(t *testing.T) {
	for _, mode := range []string{"500", "stopped", "silent"} {
		t.Run(mode, func(t *testing.T) {
			url := ""
			switch mode {
			case "silent":
				url = silentServer(t)
			default:
				srv := remotetest.Start(t, "")
				if mode == "500" {
					srv.Restart(t, remotetest.Fail)
				} else {
					srv.Stop()
				}
				url = srv.URL
			}
			var w warnings
			a := buildOne(t, "x,1\n")
			c := newClient(t, url, a.root, clientOpts{}, &w)
			t0 := time.Now()
			for i := 0; i < 5; i++ {
				if err := c.Fetch(context.Background(), "x", cache.Sum([]byte{byte(i)}), emptyStore(t)); err == nil {
					t.Fatal("fetch from a failing server succeeded")
				}
				c.Upload("x", a.key, a.m, a.store)
			}
			s := c.Wait(30 * time.Second)
			if d := time.Since(t0); d > 10*time.Second {
				t.Errorf("a failing server held the client %v", d)
			}
			if !c.Down() {
				t.Error("client did not give the server up")
			}
			if s.Uploaded != 0 {
				t.Errorf("stats %+v", s)
			}
			if msgs := w.list(); len(msgs) != 1 || !strings.Contains(msgs[0], "local cache only") {
				t.Fatalf("warnings %q, want exactly one", msgs)
			}
			if mode == "silent" && !strings.Contains(w.list()[0], "no answer for 2s") {
				t.Errorf("warning %q does not say the server went silent", w.list()[0])
			}
			if err := c.Ping(context.Background()); err == nil {
				t.Error("ping of a failing server succeeded")
			}
		})
	}
}

// silentServer is a TCP server that accepts connections and never
// answers: a cache server that hangs. It returns its URL.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + l.Addr().String()
}

// TestWaitGivesUp: uploads still running when Wait's limit passes are
// given up, counted, and stopped.
func TestWaitGivesUp(t *testing.T) {
	url := silentServer(t)
	var w warnings
	a := buildOne(t, "x,1\n")
	c, err := remote.New(remote.Options{URL: url, Upload: true, Root: a.root, Private: func(string) bool { return false },
		Warn: w.add, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		c.Upload("x", a.key, a.m, a.store)
	}
	s := c.Wait(100 * time.Millisecond)
	if s.GivenUp != 6 || s.Uploaded != 0 {
		t.Errorf("stats %+v, want all 6 given up", s)
	}
}

// TestConcurrentUploads: the engine hands over nodes from its workers at
// once (run with -race).
func TestConcurrentUploads(t *testing.T) {
	srv := remotetest.Start(t, "")
	var w warnings
	var built []built
	for i := 0; i < 8; i++ {
		built = append(built, buildOne(t, "bethel,count\n12,"+strings.Repeat("4", i+1)+"\n"))
	}
	c := newClient(t, srv.URL, built[0].root, clientOpts{}, &w)
	var wg sync.WaitGroup
	for _, b := range built {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Upload("x", b.key, b.m, b.store)
		}()
	}
	wg.Wait()
	if s := c.Wait(30 * time.Second); s.Uploaded != len(built) {
		t.Errorf("stats %+v, warnings %q", s, w.list())
	}
}
