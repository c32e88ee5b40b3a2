package cache

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zeebo/blake3"
)

// StatCache remembers the content hash of files together with their stat
// data (size, modification time in nanoseconds, inode, change time), so that
// a file whose stat data did not change is not read again: `touch` changes
// the times, the file is rehashed once, its content is the same, nothing
// reruns, and the new stat data is remembered.
//
// Racy entries: file times come from a coarse clock, so a file modified
// again within the same clock tick right after it was hashed can keep its
// stat data. An entry whose modification time is less than RacyWindow
// before the moment it was hashed is therefore never trusted; such a file is
// rehashed until it has aged (as git does with its index). Files bethel
// writes itself are backdated past that window when they are committed
// (File.Backdate) and recorded only while they keep that time
// (RecordWritten), so that their entries are trusted at once.
//
// Crashes: the entries are trusted only in the boot they were recorded in
// (see BootID). After a power cut a file's metadata can survive while its
// data does not; a power cut always means a reboot, and after a reboot
// every file is hashed again once. Within one boot the page cache keeps
// stat data and content consistent, so neither outputs nor this file need
// an fsync. Where the boot cannot be identified, the caller must make
// recorded files durable itself.
//
// On disk (one file, replaced atomically by Save):
//
//	bethel-stat 2 <boot id>
//	<size> <mtime ns> <inode> <ctime ns> <hashed-at ns> <hash hex> <path>
//
// It is safe for concurrent use.
type StatCache struct {
	mu    sync.Mutex
	path  string
	m     map[string]statEntry
	dirty bool
}

// RacyWindow is how recent a modification may be, relative to hashing, for
// the stat data not to be trusted. File systems with whole-second times get
// a two-second window (see racy).
var RacyWindow = 100 * time.Millisecond

type statEntry struct {
	size, mtime, ino, ctime, hashedAt int64
	hash                              Hash
}

const statMagic = "bethel-stat 2 "

func statHeader() string { return statMagic + BootID() + "\n" }

// LoadStatCache reads the stat cache at path. A missing or damaged file is
// an empty cache: the worst outcome is that files are hashed again.
func LoadStatCache(path string) *StatCache {
	c := &StatCache{path: path, m: make(map[string]statEntry)}
	b, err := os.ReadFile(path)
	h := statHeader()
	if err != nil || BootID() == "" && !bytes.HasPrefix(b, []byte(statMagic)) || BootID() != "" && !bytes.HasPrefix(b, []byte(h)) {
		return c
	}
	b = b[bytes.IndexByte(b, '\n')+1:]
	c.m = make(map[string]statEntry, bytes.Count(b, []byte{'\n'}))
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break // torn last line: ignore
		}
		line := string(b[:i])
		b = b[i+1:]
		var e statEntry
		var nums [5]int64
		ok := true
		for k := range nums {
			f, rest, found := strings.Cut(line, " ")
			n, err := strconv.ParseInt(f, 10, 64)
			if !found || err != nil {
				ok = false
				break
			}
			nums[k], line = n, rest
		}
		hx, p, found := strings.Cut(line, " ")
		if !ok || !found || p == "" {
			continue
		}
		h, err := ParseHash(hx)
		if err != nil {
			continue
		}
		e.size, e.mtime, e.ino, e.ctime, e.hashedAt = nums[0], nums[1], nums[2], nums[3], nums[4]
		e.hash = h
		c.m[p] = e
	}
	return c
}

// Len is the number of remembered files.
func (c *StatCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func racy(e statEntry) bool {
	w := RacyWindow.Nanoseconds()
	if e.mtime%int64(time.Second) == 0 {
		w = 2 * int64(time.Second)
	}
	return e.mtime > e.hashedAt-w
}

// FileStat is the result of stat(2) on one file, as the stat cache
// compares it. Taking it apart from hashing lets a caller stat many files
// in parallel and hash (or not) afterwards.
type FileStat struct {
	e       statEntry
	regular bool
	err     error
}

// Err is the error stat returned (nil when the file exists).
func (s FileStat) Err() error { return s.err }

// AppendTo appends a fixed-size binary form of s (size, modification
// time, inode, change time; or a missing-file marker) to b, for callers
// that fingerprint many stats at once.
func (s FileStat) AppendTo(b []byte) []byte {
	if s.err != nil || !s.regular {
		return append(b, 0)
	}
	b = append(b, 1)
	for _, v := range [4]int64{s.e.size, s.e.mtime, s.e.ino, s.e.ctime} {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

// ChangedSince reports whether the file's modification or change time is
// at or after ref (nanoseconds, as the file system reports times). With
// ref the time stamp of a file written just before s was taken, this is
// git's racy-clean rule: a file changed in the same clock tick as ref might
// change again in that tick without its stat data showing it.
func (s FileStat) ChangedSince(ref int64) bool {
	return s.err == nil && (s.e.mtime >= ref || s.e.ctime >= ref)
}

// Stat stats the file at path.
func Stat(path string) FileStat {
	e, regular, err := statFile(path)
	return FileStat{e, regular, err}
}

// Hash returns the content hash and size of the file at abs, remembered
// under key (the workspace-relative path). A missing file is an error
// satisfying errors.Is(err, fs.ErrNotExist).
func (c *StatCache) Hash(key, abs string) (Hash, int64, error) {
	return c.HashStat(key, abs, Stat(abs))
}

// HashStat is Hash for a file the caller has just stat'ed (st): the file is
// read only when st differs from what is remembered, or the entry is racy.
func (c *StatCache) HashStat(key, abs string, fst FileStat) (Hash, int64, error) {
	if fst.err != nil {
		return Hash{}, 0, fst.err
	}
	if !fst.regular {
		return Hash{}, 0, fmt.Errorf("%s: not a regular file", key)
	}
	st := fst.e
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && e.size == st.size && e.mtime == st.mtime && e.ino == st.ino && e.ctime == st.ctime && !racy(e) {
		return e.hash, e.size, nil
	}
	now := time.Now().UnixNano()
	h, n, err := hashPath(abs, st.size)
	if err != nil {
		return Hash{}, 0, err
	}
	// Trust the entry only if the file did not change while it was read.
	st2, _, err := statFile(abs)
	if err != nil {
		return Hash{}, 0, err
	}
	if st2 == st && n == st.size {
		st.hashedAt = now
		st.hash = h
		c.mu.Lock()
		c.m[key] = st
		c.dirty = true
		c.mu.Unlock()
	}
	return h, n, nil
}

// Record remembers that the file at abs (whose content the caller just
// wrote or verified) has hash h, saving a read next time. It returns the
// stat data it recorded (for Store.PutWritten).
func (c *StatCache) Record(key, abs string, h Hash) FileStat {
	now := time.Now().UnixNano()
	st, regular, err := statFile(abs)
	if err != nil || !regular {
		return FileStat{st, regular, err}
	}
	c.store(key, st, h, now)
	return FileStat{st, regular, nil}
}

// store records st, just hashed as h at time now, under key.
func (c *StatCache) store(key string, st statEntry, h Hash, now int64) {
	st.hashedAt = now
	st.hash = h
	c.mu.Lock()
	c.m[key] = st
	c.dirty = true
	c.mu.Unlock()
}

// errChangedSinceWritten is RecordWritten's answer for a file that is no
// longer what its writer committed.
var errChangedSinceWritten = errors.New("changed since it was written")

// RecordWritten is Record for a file the caller committed with
// File.Backdate, stamp being File.Stamp: its stat data is recorded only
// while its modification time is still that stamp. Record alone would
// pair the hash with whatever the file holds when it is called, and a
// write between the commit and that call (a person saving the output at
// once) would be trusted as the caller's content once a tenth of a second
// had passed in between. A file that changed is forgotten instead (hashed
// again when next needed), and the returned FileStat carries an error.
func (c *StatCache) RecordWritten(key, abs string, h Hash, stamp int64) FileStat {
	if stamp == 0 {
		return c.Record(key, abs, h)
	}
	st, regular, err := statFile(abs)
	if err == nil && regular && st.mtime != stamp {
		err = &os.PathError{Op: "record", Path: abs, Err: errChangedSinceWritten}
	}
	if err != nil || !regular {
		c.Forget(key)
		return FileStat{st, regular, err}
	}
	c.store(key, st, h, time.Now().UnixNano())
	return FileStat{st, regular, nil}
}

var (
	bufPool    = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
	hasherPool = sync.Pool{New: func() any { return blake3.New() }}
)

// hashPath is HashFile with pooled buffers, for a file stat gave size:
// hashing many small files is dominated by system calls and allocation,
// not by BLAKE3. The file is read through its bare descriptor (an
// *os.File would ask for its flags first), and once size bytes have come
// the read that would return end of file is skipped: a small output costs
// open, one read and close. Whether the file changed meanwhile is the
// caller's stat afterwards to tell.
func hashPath(path string, size int64) (Hash, int64, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return Hash{}, 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	x := hasherPool.Get().(*blake3.Hasher)
	defer hasherPool.Put(x)
	x.Reset()
	var n int64
	for n != size || size == 0 {
		k, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return Hash{}, n, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if k == 0 {
			break
		}
		x.Write(buf[:k])
		n += int64(k)
	}
	var h Hash
	x.Digest().Read(h[:])
	return h, n, nil
}

// Forget drops what is remembered about key.
func (c *StatCache) Forget(key string) {
	c.mu.Lock()
	if _, ok := c.m[key]; ok {
		delete(c.m, key)
		c.dirty = true
	}
	c.mu.Unlock()
}

// Prune drops every entry whose key keep rejects (files no pipeline node
// reads or writes any more), so that the file does not grow forever.
func (c *StatCache) Prune(keep func(key string) bool) {
	c.mu.Lock()
	for k := range c.m {
		if !keep(k) {
			delete(c.m, k)
			c.dirty = true
		}
	}
	c.mu.Unlock()
}

// Save writes the cache back if anything changed.
func (c *StatCache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	keys := make([]string, 0, len(c.m))
	for k := range c.m {
		if !strings.ContainsRune(k, '\n') {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	w.WriteString(statHeader())
	for _, k := range keys {
		e := c.m[k]
		fmt.Fprintf(w, "%d %d %d %d %d %s %s\n", e.size, e.mtime, e.ino, e.ctime, e.hashedAt, e.hash, k)
	}
	w.Flush()
	// No fsync needed where the boot is known (see above): a lost write
	// is an empty cache, and after a reboot the entries are not trusted.
	if err := writeFile(c.path, buf.Bytes(), 0o600, BootID() == ""); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("stat cache: %w", err)
		}
		return err
	}
	c.dirty = false
	return nil
}
