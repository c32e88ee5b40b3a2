package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Store is the content-addressed store in one directory (the workspace's
// .bethel/cache):
//
//	blobs/<xx>/<hash>   bytes of an output (or extra data), named by their
//	                    BLAKE3 hash; xx is the first byte in hex (256 shards
//	                    keep directories small)
//	actions             the action log: action key -> manifest (actions.go)
//
// Everything read back is re-hashed: a blob whose bytes do not match its
// name is a miss, with a reason, and is deleted. Blob files are written
// atomically (temporary file, rename), so a crash leaves at worst a
// temporary file that SweepTemp removes. Blobs are copies, never hard links
// to outputs: an output edited in place must not change the cache under
// it. Directories are 0700.
//
// Reading never touches anything (no last-use update, no deletion in a
// read-only store), so that status checks leave no trace.
type Store struct {
	dir string
	// ReadOnly stores never delete what they find corrupt (status checks
	// write nothing); they only report the miss.
	readOnly bool
	// shards remembers which shard directories exist, saving a stat per
	// write.
	shards sync.Map
	// NoSync skips per-file fsync for blobs and manifests: their content
	// is verified on read, so a write lost in a power cut is a miss, never
	// bad data.
	NoSync bool

	actions actionLog
}

// Open opens (creating if needed) the store in dir.
func Open(dir string) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, "blobs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}
	return &Store{dir: dir}, nil
}

// OpenReadOnly opens the store in dir without creating anything; a missing
// store behaves as an empty one.
func OpenReadOnly(dir string) *Store { return &Store{dir: dir, readOnly: true} }

// mkShard makes sure the directory of p (a blob or action path) exists.
func (s *Store) mkShard(p string) error {
	d := filepath.Dir(p)
	if _, ok := s.shards.Load(d); ok {
		return nil
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return err
	}
	s.shards.Store(d, true)
	return nil
}

// discard deletes a corrupt file, unless the store is read-only.
func (s *Store) discard(p string) {
	if !s.readOnly {
		os.Remove(p)
	}
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// BlobPath is the file of blob h, which may be missing. Whoever reads it
// re-hashes what it read (as ReadBlob does): a blob file is trusted for
// nothing but its name. The shared cache streams blobs from it.
func (s *Store) BlobPath(h Hash) string { return s.blobPath(h) }

func (s *Store) blobPath(h Hash) string {
	x := h.String()
	return filepath.Join(s.dir, "blobs", x[:2], x)
}

// MissError is a cache miss with the reason, for --explain.
type MissError struct {
	Reason string
	// Corrupt is set when the blob was there but its bytes did not match
	// its name (it has been discarded, unless the store is read-only).
	Corrupt bool
}

func (e *MissError) Error() string { return "cache miss: " + e.Reason }

// IsMiss reports whether err is a cache miss.
func IsMiss(err error) bool {
	var m *MissError
	return errors.As(err, &m)
}

// HasBlob reports whether a blob named h is stored (without verifying it).
func (s *Store) HasBlob(h Hash) bool {
	_, err := os.Stat(s.blobPath(h))
	return err == nil
}

// PutFile copies the file at path into the store and returns its hash and
// size. The copy is hashed while it is written, so a file that changes
// during the copy is stored under the hash of what was actually copied.
func (s *Store) PutFile(path string) (Hash, int64, error) {
	f, err := OpenPlain(path)
	if err != nil {
		return Hash{}, 0, err
	}
	defer f.Close()
	return s.put(f, Hash{}, false)
}

// PutFileAs stores the file at path, which the caller already hashed as
// want; when a blob named want exists nothing is copied. A file whose
// content is no longer want is an error (it changed since it was hashed).
func (s *Store) PutFileAs(path string, want Hash) error {
	if s.HasBlob(want) {
		return nil
	}
	f, err := OpenPlain(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, _, err = s.put(f, want, true)
	return err
}

// PutWritten stores the file at path, which the caller wrote itself and
// hashed on the way as want (or hashed once the command that wrote it had
// exited); st is its stat data taken right after it was put in place
// (StatCache.RecordWritten or Record). When a blob named want exists
// nothing is copied.
//
// The bytes are not hashed again: they are copied inside the kernel
// (copy_file_range where the system has it) and the file is then checked
// against st, so that a file replaced or written to since is not stored.
// (A file that was not backdated can keep its stat data through an edit in
// the same clock tick as its write; the blob is then not what its name
// says, and Restore and ReadBlob, which re-hash every blob they read, find
// it, discard it and report a miss.) A file whose stat data is unknown or
// already differs is stored through PutFileAs, which hashes what it copies.
func (s *Store) PutWritten(path string, want Hash, st FileStat) error {
	// A stored blob of another size than the file is damaged: replace it
	// (same size, it is re-hashed when read, and discarded if corrupt).
	if fi, err := os.Stat(s.blobPath(want)); err == nil && (st.err != nil || !st.regular || fi.Size() == st.e.size) {
		return nil
	}
	if st.err != nil || !st.regular {
		return s.PutFileAs(path, want)
	}
	src, err := OpenPlain(path)
	if err != nil {
		return err
	}
	defer src.Close()
	if before, err := fstatEntry(src); err != nil || !sameFile(before, st.e) {
		return s.putOpen(src, want)
	}
	tmp, err := Create(filepath.Join(s.dir, "blobs", "new"), 0o400)
	if err != nil {
		return err
	}
	tmp.NoSync = s.NoSync
	defer tmp.Abort()
	// *os.File to *os.File: io.Copy uses copy_file_range (or sendfile),
	// and the bytes never reach this process.
	n, err := io.Copy(tmp.f, src)
	if err != nil {
		return err
	}
	after, err := fstatEntry(src)
	if err != nil {
		return err
	}
	if n != st.e.size || !sameFile(after, st.e) {
		return fmt.Errorf("cache: file changed while it was stored (expected %s)", want.Short())
	}
	p := s.blobPath(want)
	if err := s.mkShard(p); err != nil {
		return err
	}
	tmp.path = p
	return tmp.Commit()
}

// sameFile reports whether two stats are of the same, unchanged file.
func sameFile(a, b statEntry) bool {
	return a.size == b.size && a.mtime == b.mtime && a.ino == b.ino && a.ctime == b.ctime
}

// putOpen is PutFileAs for a file already open.
func (s *Store) putOpen(f *os.File, want Hash) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, _, err := s.put(f, want, true)
	return err
}

// PutBytes stores b and returns its hash. A blob of that name already
// stored is read back and compared: one damaged on disk since it was
// written is replaced, so that a rerun which yields the same bytes heals
// the cache instead of keeping the damage.
func (s *Store) PutBytes(b []byte) (Hash, error) {
	h := Sum(b)
	p := s.blobPath(h)
	if old, err := os.ReadFile(p); err == nil {
		if bytes.Equal(old, b) {
			return h, nil
		}
		// Read-only blobs (0400) are replaced by rename, like any other.
	}
	if err := s.mkShard(p); err != nil {
		return Hash{}, err
	}
	return h, writeFile(p, b, 0o400, !s.NoSync)
}

func (s *Store) put(r io.Reader, want Hash, check bool) (Hash, int64, error) {
	// The name is only known after hashing, so the temporary file goes to
	// the blobs directory and is renamed into its shard.
	tmp, err := Create(filepath.Join(s.dir, "blobs", "new"), 0o400)
	if err != nil {
		return Hash{}, 0, err
	}
	tmp.NoSync = s.NoSync
	defer tmp.Abort()
	if _, err := io.Copy(tmp, r); err != nil {
		return Hash{}, 0, err
	}
	h, n := tmp.Sum()
	if check && h != want {
		return Hash{}, 0, fmt.Errorf("cache: file changed while it was stored (hash %s, expected %s)", h.Short(), want.Short())
	}
	p := s.blobPath(h)
	if err := s.mkShard(p); err != nil {
		return Hash{}, 0, err
	}
	tmp.path = p
	if err := tmp.Commit(); err != nil {
		return Hash{}, 0, err
	}
	return h, n, nil
}

// VerifyBlob re-hashes blob h: a missing blob is a miss, a corrupt one is
// discarded (unless the store is read-only) and is a miss too.
func (s *Store) VerifyBlob(h Hash) error {
	f, err := OpenPlain(s.blobPath(h))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &MissError{Reason: "blob " + h.Short() + " not in cache"}
		}
		return err
	}
	got, _, err := HashReader(f)
	f.Close()
	if err != nil {
		return err
	}
	if got != h {
		s.discard(s.blobPath(h))
		return &MissError{Reason: "blob " + h.Short() + " is corrupt (content does not match its hash); discarded", Corrupt: true}
	}
	return nil
}

// ReadBlob returns the bytes of blob h, verified.
func (s *Store) ReadBlob(h Hash) ([]byte, error) {
	b, err := os.ReadFile(s.blobPath(h))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &MissError{Reason: "blob " + h.Short() + " not in cache"}
		}
		return nil, err
	}
	if Sum(b) != h {
		s.discard(s.blobPath(h))
		return nil, &MissError{Reason: "blob " + h.Short() + " is corrupt (content does not match its hash); discarded", Corrupt: true}
	}
	return b, nil
}

// Restore writes blob h to dst atomically with mode perm (backdated: see
// File.Backdate), verifying the bytes on the way: a corrupt blob is
// deleted, dst is left as it was, and the error is a miss. With NoSync the
// caller fsyncs dst when it needs it durable.
func (s *Store) Restore(h Hash, dst string, perm os.FileMode) error {
	_, err := s.RestoreStamped(h, dst, perm)
	return err
}

// RestoreStamped is Restore, also returning the restored file's stamp
// (File.Stamp) for StatCache.RecordWritten.
func (s *Store) RestoreStamped(h Hash, dst string, perm os.FileMode) (int64, error) {
	src, err := OpenPlain(s.blobPath(h))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, &MissError{Reason: "blob " + h.Short() + " not in cache"}
		}
		return 0, err
	}
	defer src.Close()
	out, err := Create(dst, perm)
	if err != nil {
		return 0, err
	}
	out.NoSync = s.NoSync
	out.Backdate = true // an output, recorded in the stat cache next
	defer out.Abort()
	if _, err := io.Copy(out, src); err != nil {
		return 0, err
	}
	if got, _ := out.Sum(); got != h {
		out.Abort()
		s.discard(s.blobPath(h))
		return 0, &MissError{Reason: "blob " + h.Short() + " for " + filepath.Base(dst) + " is corrupt (content hash " + got.Short() + "); discarded", Corrupt: true}
	}
	if err := out.Commit(); err != nil {
		return 0, err
	}
	return out.Stamp(), nil
}

// Manifest is what an action produced: its outputs and any extra blobs
// (for example the cell lineage of an output), plus the readable
// description its key was computed from, so that a later miss can say what
// changed. Stored as JSON in actions/<xx>/<key>.
type Manifest struct {
	Outputs []Output `json:"outputs"`
	Extra   []Extra  `json:"extra,omitempty"`
	// Desc is the action key's description (see Desc); informational.
	Desc string `json:"desc,omitempty"`
}

// Output is one output file of an action.
type Output struct {
	Path string      `json:"path"` // workspace-relative, forward slashes
	Size int64       `json:"size"`
	Hash Hash        `json:"hash"`
	Mode os.FileMode `json:"mode"` // permission bits only
}

// Extra is a named blob that belongs to an action but is not an output
// file, e.g. "lineage out/summary/meals.csv".
type Extra struct {
	Name string `json:"name"`
	Hash Hash   `json:"hash"`
	Size int64  `json:"size"`
}

// Blobs lists every blob the manifest refers to.
func (m *Manifest) Blobs() []Hash {
	hs := make([]Hash, 0, len(m.Outputs)+len(m.Extra))
	for _, o := range m.Outputs {
		hs = append(hs, o.Hash)
	}
	for _, e := range m.Extra {
		hs = append(hs, e.Hash)
	}
	return hs
}
