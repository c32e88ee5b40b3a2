package graph

import (
	"context"

	"bethel/pkg/cache"
)

// Remote is a shared cache behind the local one (cmd/bethel wires
// bethel/pkg/remote in; the engine knows only this). The engine asks it
// before running a stale node the local cache cannot restore, and hands it
// every node it ran.
type Remote interface {
	// Fetch looks the node's action key up and, on a hit, puts the
	// manifest and every blob it names into st, verified, so that the
	// node restores like a local hit. A miss is an error saying why; a
	// remote that fails must not fail the build.
	Fetch(ctx context.Context, node string, key cache.Hash, st *cache.Store) error
	// Upload queues what the node produced for upload; it must not block.
	Upload(node string, key cache.Hash, m *cache.Manifest, st *cache.Store)
}

// RestoredRemoteReason is the reason a node restored from the shared
// cache gives (--explain).
const RestoredRemoteReason = "restored from the shared cache"

// fetchRemote asks the remote for the node's key after a local miss and
// reports whether it put an entry for it into the local store.
func (e *engine) fetchRemote(ctx context.Context, n string, key cache.Hash) bool {
	if e.opts.Remote == nil {
		return false
	}
	return e.opts.Remote.Fetch(ctx, n, key, e.store) == nil
}
