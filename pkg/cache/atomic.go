package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tempMarker is in the name of every temporary file bethel creates, so that
// a sweep after a crash (kill -9, power loss) can find and remove the ones
// left behind without touching anything else.
const tempMarker = ".bethel-tmp-"

// IsTemp reports whether a base name is one of bethel's temporary files.
func IsTemp(name string) bool { return strings.Contains(name, tempMarker) }

// File is a file being written atomically: the bytes go to a temporary file
// in the target's directory (so that the final rename never crosses a file
// system) and are hashed on the way; Commit renames it into place, Abort
// removes it. Readers therefore see the old file or the new one, never a
// torn one.
type File struct {
	// NoSync skips the fsync of the file and of its directory. Callers set
	// it only for files whose content is re-hashed before it is trusted
	// (cache blobs and manifests), or that they fsync later themselves in a
	// batch (build outputs): a lost write then shows up as a hash mismatch,
	// i.e. a rebuild, never as wrong data accepted.
	NoSync bool
	// Backdate sets the file's modification time to a little more than
	// RacyWindow before Commit, for files whose stat data the caller
	// records right after (build outputs). Without it such an entry is
	// racy (the file was modified within RacyWindow of being hashed), and
	// every reader until it ages hashes the whole file again: after a
	// one-patch rebuild of 100,000 registrations, the input check of each
	// node that read the 18 MB registrations table, the build report, and
	// the next build's check of every output. With it, any later write to
	// the file, even within the same clock tick, sets a modification time
	// that differs from the recorded one, which is what racy entries guard
	// against. (A file system with whole-second times rounds it to a racy
	// value again: nothing is gained there, and nothing lost.)
	Backdate bool

	f     *os.File
	path  string
	perm  os.FileMode
	h     *Hasher
	n     int64
	done  bool
	stamp int64 // the modification time Backdate set, as the file system keeps it
}

// backdateMargin is how much further back than RacyWindow Backdate goes:
// more than a tick of the coarse clock file times are taken from, so that
// no later write can be stamped with the same time.
const backdateMargin = 20 * time.Millisecond

// Create starts writing path atomically; perm is applied before the rename.
// The parent directory must exist.
func Create(path string, perm os.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := createTemp(dir, "."+base+tempMarker)
	if err != nil {
		return nil, err
	}
	return &File{f: f, path: path, perm: perm, h: NewHasher()}, nil
}

// Write writes to the temporary file and feeds the hash.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	f.h.Write(p[:n])
	f.n += int64(n)
	return n, err
}

// Path is the final path of the file.
func (f *File) Path() string { return f.path }

// Sum is the hash and size of everything written so far.
func (f *File) Sum() (Hash, int64) { return f.h.Sum(), f.n }

// Sum256 is the hash of everything written so far, as stage.Summer has
// it: a stage that must name its output's content (to hand it to the next
// stages in the same process) need not hash it a second time.
func (f *File) Sum256() [32]byte { return f.h.Sum() }

// Stamp is the modification time Commit gave a Backdate file (in
// nanoseconds, as the file system keeps it; 0 otherwise), for
// StatCache.RecordWritten.
func (f *File) Stamp() int64 { return f.stamp }

// Commit makes the written bytes the content of the final path: fsync
// (unless NoSync), chmod, close, rename, fsync the directory.
func (f *File) Commit() error {
	if f.done {
		return errors.New("cache: file committed or aborted twice")
	}
	f.done = true
	tmp := f.f.Name()
	var err error
	if f.perm != 0o600 { // createTemp already made it 0600
		err = f.f.Chmod(f.perm)
	}
	if err == nil && f.Backdate {
		err = os.Chtimes(tmp, time.Time{}, time.Now().Add(-RacyWindow-backdateMargin))
		if err == nil {
			var st statEntry
			if st, err = fstatEntry(f.f); err == nil {
				f.stamp = st.mtime
			}
		}
	}
	if err == nil && !f.NoSync {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if !f.NoSync {
		return syncDir(filepath.Dir(f.path))
	}
	return nil
}

// Abort discards the temporary file. It is safe after Commit (a no-op), so
// that callers can defer it.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.f.Close()
	os.Remove(f.f.Name())
}

// WriteFile replaces path with data atomically and durably: temporary file
// in the same directory, write, fsync, rename, fsync the directory.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return writeFile(path, data, perm, true)
}

func writeFile(path string, data []byte, perm os.FileMode, sync bool) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	f.NoSync = !sync
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// SweepTemp removes bethel's temporary files directly inside dir (not in
// subdirectories) and returns how many it removed. A missing dir is not an
// error. Only call it while holding the workspace lock: another bethel's
// temporary files are live.
func SweepTemp(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if IsTemp(e.Name()) && !e.IsDir() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
				n++
			}
		}
	}
	return n, nil
}
