package provenance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
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

// Store keeps records under one directory (the workspace's
// .bethel/provenance), one JSON file per (path, content) pair in 256 shard
// directories. A record is rewritten each time its output is written or
// restored, so its status and time are those of the last time bethel put
// these bytes there.
type Store struct {
	dir string
	// NoSync skips the fsync of each record: a record is checked against
	// the path and hash it describes when read, so one lost in a power cut
	// reads as "no record", never as a wrong answer. The engine sets it,
	// as it does for cache blobs.
	NoSync bool
	dirs   sync.Map // shard directories known to exist
}

// OpenStore returns the record store in dir; nothing is created until Put.
func OpenStore(dir string) *Store { return &Store{dir: dir} }

// Dir is the directory the store keeps its records in.
func (s *Store) Dir() string { return s.dir }

func (s *Store) file(path string, h cache.Hash) string {
	k := cache.Sum([]byte("record\x00" + path + "\x00" + h.String())).String()
	return filepath.Join(s.dir, k[:2], k)
}

// Put stores r atomically.
func (s *Store) Put(r *Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	p := s.file(r.Path, r.Hash)
	d := filepath.Dir(p)
	if _, ok := s.dirs.Load(d); !ok {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		s.dirs.Store(d, true)
	}
	f, err := cache.Create(p, 0o600)
	if err != nil {
		return err
	}
	defer f.Abort()
	f.NoSync = s.NoSync
	if _, err := f.Write(append(b, '\n')); err != nil {
		return err
	}
	return f.Commit()
}

// Has reports whether a record of the output at path with content hash h
// is stored, without reading it (a stat).
func (s *Store) Has(path string, h cache.Hash) bool {
	_, err := os.Stat(s.file(path, h))
	return err == nil
}

// ErrNoRecord means no record describes these bytes at this path: the
// output was never built by bethel, or was changed after it was built.
var ErrNoRecord = errors.New("no provenance record for this content")

// Get returns the record of the output at path whose content hash is h.
func (s *Store) Get(path string, h cache.Hash) (*Record, error) {
	b, err := os.ReadFile(s.file(path, h))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoRecord
		}
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		// A torn write (records are not fsynced) is as good as none.
		return nil, ErrNoRecord
	}
	if r.Path != path || r.Hash != h {
		return nil, fmt.Errorf("provenance record for %s: describes %s %s", path, r.Path, r.Hash.Short())
	}
	return &r, nil
}
