package graph

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"

	"bethel/pkg/cache"
)

// storeRemote is a shared cache made of a second local store: the engine's
// side of the Remote contract, without a server.
type storeRemote struct {
	server *cache.Store
	mu     sync.Mutex
	queued []upload
}

type upload struct {
	key cache.Hash
	m   *cache.Manifest
	st  *cache.Store
}

func (r *storeRemote) Fetch(ctx context.Context, node string, key cache.Hash, st *cache.Store) error {
	m, err := r.server.GetManifest(key)
	if err != nil {
		return err
	}
	return copyEntry(r.server, st, key, m)
}

func (r *storeRemote) Upload(node string, key cache.Hash, m *cache.Manifest, st *cache.Store) {
	r.mu.Lock()
	r.queued = append(r.queued, upload{key, m, st})
	r.mu.Unlock()
}

// flush sends what was queued, once the build (and its background copies
// into the local store) is over.
func (r *storeRemote) flush(t *testing.T) {
	for _, u := range r.queued {
		if err := copyEntry(u.st, r.server, u.key, u.m); err != nil {
			t.Fatal(err)
		}
	}
	r.queued = nil
}

func copyEntry(from, to *cache.Store, key cache.Hash, m *cache.Manifest) error {
	for _, h := range m.Blobs() {
		b, err := from.ReadBlob(h)
		if err != nil {
			return err
		}
		if _, err := to.PutBytes(b); err != nil {
			return err
		}
	}
	return to.PutManifest(key, m)
}

// TestRemoteRestores: a second workspace with the same sources restores
// every node from the remote, runs none, and says where they came from.
func TestRemoteRestores(t *testing.T) {
	server, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rem := &storeRemote{server: server}
	a, _, opts := newChain(t)
	opts.Remote = rem
	res := mustBuild(t, a, opts)
	if len(res.Ran) != 3 || len(rem.queued) != 3 {
		t.Fatalf("A ran %v and uploaded %d", res.Ran, len(rem.queued))
	}
	rem.flush(t)

	b, st, opts := newChain(t)
	opts.Remote = rem
	res = mustBuild(t, b, opts)
	if got := st.nodes(); len(got) != 0 {
		t.Fatalf("B ran %v", got)
	}
	want := []string{"last", "mid", "side"}
	got := slices.Sorted(slices.Values(res.RestoredRemote))
	if !reflect.DeepEqual(got, want) || len(res.Restored) != 3 {
		t.Fatalf("B restored %v, from the remote %v", res.Restored, res.RestoredRemote)
	}
	for _, n := range res.Nodes {
		if !n.Remote || !slices.Contains(n.Reasons, RestoredRemoteReason) {
			t.Errorf("node %s: remote %v, reasons %q", n.Name, n.Remote, n.Reasons)
		}
	}
	for _, o := range []string{"out/mid.txt", "out/last.txt"} {
		if read(t, a, o) != read(t, b, o) {
			t.Errorf("%s differs", o)
		}
	}
	if len(rem.queued) != 0 {
		t.Errorf("restored nodes were uploaded again: %d", len(rem.queued))
	}
}
