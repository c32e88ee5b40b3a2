package provenance

import (
	"errors"
	"time"

	"bethel/pkg/cache"
)

// Record is the artifact provenance of one output file as it was last
// written or restored: enough to say, without rerunning anything, which
// computation made these bytes and from which files. It is stored outside
// the artifact (the time lives here, never inside an output), keyed by the
// output's path and content hash, so that a record only ever describes the
// exact bytes it was written for: a file edited by hand has no record.
type Record struct {
	Path string     `json:"path"`
	Hash cache.Hash `json:"hash"`
	Size int64      `json:"size"`
	Node string     `json:"node"`
	// Stage and StageVersion are set for built-in stages, Command for
	// command nodes.
	Stage        string         `json:"stage,omitempty"`
	StageVersion string         `json:"stage_version,omitempty"`
	Command      string         `json:"command,omitempty"`
	Params       map[string]any `json:"params,omitempty"`
	Visibility   string         `json:"visibility"`
	ActionKey    cache.Hash     `json:"action_key"`
	// Inputs, Config and Patches are every file the node read, with the
	// content hash it read; Config holds the inputs under config/.
	Inputs  []FileHash `json:"inputs"`
	Config  []FileHash `json:"config"`
	Patches []FileHash `json:"patches"`
	// Status is "ran", "restored" (from the cache) or "restored from
	// remote" (from the shared cache).
	Status string `json:"status"`
	Bethel string `json:"bethel_version"`
	Built  string `json:"built"` // RFC 3339, UTC
	// Lineage is the blob holding this output's cell lineage (see Encode),
	// zero for command nodes, whose outputs are opaque.
	Lineage cache.Hash `json:"lineage,omitzero"`
}

// FileHash is a file read by a node and the hash of what it read.
type FileHash struct {
	Path string     `json:"path"`
	Hash cache.Hash `json:"hash"`
}

// HasLineage reports whether the record has cell lineage.
func (r *Record) HasLineage() bool { return !r.Lineage.IsZero() }

// Stamp formats t as the record's Built time.
func Stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ErrNoRecord means no record describes these bytes at this path: the
// output was never built by bethel, or was changed after it was built.
var ErrNoRecord = errors.New("no provenance record for this content")
