// Package graph is bethel's build engine. It decides, for every node of a
// loaded pipeline, whether the node is up to date, can be restored from the
// content-addressed cache, or must run; it runs stale nodes in parallel in
// dependency order, records what it built, and explains every decision.
//
// The engine knows nodes, paths, hashes and the stage.Stage interface. It
// knows nothing of CSV, registrations or patches. See docs/engine.md for the
// semantics and the on-disk layout.
package graph

import (
	"context"
	"io"
	"path/filepath"
	"time"

	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

// Options control a build.
type Options struct {
	Version   string          // bethel version; salts every action key
	Registry  *stage.Registry // built-in stages (bethel/pkg/stage)
	Jobs      int             // parallel nodes; <= 0 means runtime.NumCPU()
	KeepGoing bool            // -k
	DryRun    bool            // -n: decide, report, change nothing
	Targets   []string        // node names or output paths; empty = every node
	Events    func(Event)     // optional; called from one goroutine at a time
	LockWait  time.Duration   // how long to wait for another bethel's lock; 0 = fail at once with a clear message

	// OnLockWait, when set, is called once if the build has to wait for
	// another bethel's lock (pid 0 when unknown), so the CLI can say so.
	OnLockWait func(pid int)
	// OnAct, when set, is called once, before the build first restores or
	// runs a node: the CLI installs its interrupt handling then, so that a
	// build that changes nothing (a no-op, a dry run) never pays for it.
	OnAct func()
	// DebugKey, when set, receives every line of every action key
	// description (BETHEL_DEBUG=key, --debug-key), so that a cache miss
	// explains itself.
	DebugKey io.Writer
	// NoLineage switches cell lineage off: stages get no recorders and no
	// lineage is stored (benchmarks compare against it; BETHEL_LINEAGE=off).
	// Artifact provenance records are written either way.
	NoLineage bool
	// DebugTime, when set, receives how long each phase of the build took
	// (BETHEL_DEBUG=time).
	DebugTime io.Writer
	// Remote, when set, is the shared cache consulted after a local miss
	// and given what ran (remote.go).
	Remote Remote
	// Finish, when set, is called with the build's result while the
	// workspace lock is still held (not for a dry run, nor when the build
	// could not start), so that what the caller writes about the build
	// (the build report) is not raced by another bethel, and a temporary
	// file a kill leaves behind is swept by the next build.
	Finish func(res *Result, err error)
}

// EventKind says what happened to a node.
type EventKind int

const (
	// Start: the node begins to run or to be restored from the cache.
	// Up-to-date nodes have no Start.
	Start EventKind = iota
	// Finish: the node is decided or done (every considered node gets one).
	Finish
)

func (k EventKind) String() string {
	if k == Start {
		return "start"
	}
	return "finish"
}

// Event reports progress. Done counts finished nodes, Total the nodes the
// build considers.
type Event struct {
	Kind    EventKind
	Node    string
	Status  Status // Finish only
	Reasons []string
	// Changes are the reasons that say one input or patch file changed,
	// typed (see FileChange).
	Changes []FileChange
	Err     error
	// Stderr is what the node printed: a command's combined stdout and
	// stderr, or a stage's warnings, one per line.
	Stderr []byte
	// Warnings are the engine's own notes on the node (an output edited
	// by hand and where it was moved, an input that changed while the node
	// ran). The CLI always shows them.
	Warnings    []string
	Done, Total int
}

// Status is the outcome of one node.
type Status string

const (
	Ran      Status = "ran"
	Restored Status = "restored"
	UpToDate Status = "uptodate"
	Failed   Status = "failed"
	Skipped  Status = "skipped"
	// Stale is only reported by Check: the node would run or be restored.
	Stale Status = "stale"
)

// FileChange is a reason a node is stale that one file line of its action
// key changed: an input (or engine artifact) or a patch file added,
// removed, or read with other content. Reasons[Reason] is how the engine
// tells it.
type FileChange struct {
	// Kind is the key line's kind: "input" or "patch".
	Kind string
	Path string
	// Old and New are the content hashes in hex; Old is "" for a file
	// added, New for one removed.
	Old, New string
	Reason   int
}

// NodeResult is the outcome of one node, with the reasons for it.
type NodeResult struct {
	Name    string
	Status  Status
	Reasons []string
	// Changes are the reasons that say one input or patch file changed,
	// typed, for a caller that tells more than the engine can (the CLI
	// names the patches changed in a patch file).
	Changes  []FileChange
	Err      error
	Warnings []string
	// Restorable is set by Check (and dry runs) when a stale node's outputs
	// are in the cache and would be restored rather than run.
	Restorable bool
	// Remote is set on a node restored from the shared cache
	// (Options.Remote).
	Remote bool
}

// Result is the outcome of a build. The lists hold node names in pipeline
// order; under DryRun, Ran and Restored hold what would run or be restored.
type Result struct {
	Ran, Restored, UpToDate, Failed []string
	// RestoredRemote are the nodes of Restored that came from the shared
	// cache (Options.Remote).
	RestoredRemote []string
	// Superseded are the nodes of Failed that failed while one of their
	// declared inputs changed: the failure is the change's (a command
	// confined to the old file cannot open the new one, or read a mix of
	// both), not the node's. Nothing of them was recorded and the next
	// build runs them again; a watch has already queued that build.
	Superseded []string
	Seconds    float64
	Nodes      []NodeResult
}

// Workspace layout under the root. Directories are created 0700.
const (
	// StateDir is the directory of all bethel state in a workspace.
	StateDir = ".bethel"
	// CompiledDir holds the compiled-pipeline cache (pkg/pipeline's
	// LoadCached).
	CompiledDir = StateDir + "/compiled"
)

func bethelDir(root string) string   { return filepath.Join(root, StateDir) }
func cacheDir(root string) string    { return filepath.Join(root, StateDir, "cache") }
func stateDir(root string) string    { return filepath.Join(root, StateDir, "state") }
func tmpRoot(root string) string     { return filepath.Join(root, StateDir, "tmp") }
func compiledDir(root string) string { return filepath.Join(root, filepath.FromSlash(CompiledDir)) }
func journalPath(root string) string { return filepath.Join(root, StateDir, "state", "log") }
func statPath(root string) string    { return filepath.Join(root, StateDir, "state", "stat") }
func lockPath(root string) string    { return filepath.Join(root, StateDir, "lock") }

// EditedDir is where outputs edited by hand are moved, under the root:
// .bethel/edited/<output path>.<short hash of the edited content>.
const EditedDir = StateDir + "/edited"

// Build brings the selected nodes up to date. The error is non-nil when any
// node failed or the build could not start; Result is non-nil whenever any
// node was considered.
func Build(ctx context.Context, p *pipeline.Pipeline, opts Options) (*Result, error) {
	return build(ctx, p, opts)
}
