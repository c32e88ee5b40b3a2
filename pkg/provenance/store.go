package provenance

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"bethel/pkg/cache"
)

// Store keeps the records of a workspace under one directory (the
// workspace's .bethel/provenance) in one append-only log, records, a line
// of JSON per record after a header:
//
//	bethel-provenance 1 <size>
//	{"path":"out/a.csv","hash":"<hex>",...}
//	{"path":"out/b.csv","hash":"<hex>",...}
//
// A record is appended each time its output is written or restored, so
// that its status and time are those of the last time bethel put these
// bytes there: the last line of a (path, hash) pair wins. A build appends
// each node's records with one write and creates no file for them (a new
// file per output cost an inode allocation per command, the largest part
// of the engine's own time per node). A line torn by a crash does not
// parse and reads as no record, and the next append starts on a new line.
// <size> is the file's size when it was last rewritten: Close rewrites the
// log atomically, with only the last line of each pair, once it has grown
// past twice that and 1 MiB more (compactSlack).
//
// Records of earlier versions, one JSON file per pair in 256 shard
// directories (<xx>/<key>), are still read where the log has none.
type Store struct {
	dir string
	// NoSync skips the fsync of a rewritten log: a record is checked
	// against the path and hash it describes when read, so one lost in a
	// power cut reads as "no record", never as a wrong answer. The engine
	// sets it, as it does for cache blobs. Appends are never fsynced.
	NoSync bool

	mu sync.Mutex
	// The log as read (load): its bytes, and the span of the last valid
	// line of each pair. Appends of this process are added to both.
	loaded bool
	data   []byte
	index  map[string]span
	// The log open for appending (Put), its size, and its size when it
	// was last rewritten (the header's).
	f         *os.File
	size      int64
	compacted int64
}

// span is the byte range of one line of the log, newline excluded.
type span struct{ start, end int }

const (
	logName      = "records"
	logHeader    = "bethel-provenance 1 "
	compactSlack = 1 << 20
)

// OpenStore returns the record store in dir; nothing is created until Put.
func OpenStore(dir string) *Store { return &Store{dir: dir} }

// Dir is the directory the store keeps its records in.
func (s *Store) Dir() string { return s.dir }

func (s *Store) logPath() string { return filepath.Join(s.dir, logName) }

// pairKey is the index key of the record of path with content h.
func pairKey(path string, h cache.Hash) string { return path + "\x00" + string(h[:]) }

// file is where earlier versions kept the record of path with content h.
func (s *Store) file(path string, h cache.Hash) string {
	k := cache.Sum([]byte("record\x00" + path + "\x00" + h.String())).String()
	return filepath.Join(s.dir, k[:2], k)
}

// Put appends records, one line each, in one write. The log is created
// on first use.
func (s *Store) Put(rs ...*Record) error {
	var buf []byte
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		buf = append(append(buf, b...), '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		if err := s.openLog(); err != nil {
			return err
		}
	}
	if _, err := s.f.Write(buf); err != nil {
		return err
	}
	s.size += int64(len(buf))
	if s.loaded {
		base := len(s.data)
		s.data = append(s.data, buf...)
		indexLines(s.data, base, s.index)
	}
	return nil
}

// openLog opens the log for appending: a missing or unreadable one is
// started afresh (what it held cannot be read anyway), and a torn last
// line is ended first, so that the next record starts a line of its own.
func (s *Store) openLog() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(s.logPath(), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	size := st.Size()
	head := make([]byte, min(size, 64))
	n, _ := f.ReadAt(head, 0)
	compacted, ok := parseHeader(head[:n])
	if !ok {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return err
		}
		h := header(0)
		if _, err := f.Write(h); err != nil {
			f.Close()
			return err
		}
		size, compacted = int64(len(h)), int64(len(h))
	} else if last := make([]byte, 1); size > 0 {
		if _, err := f.ReadAt(last, size-1); err != nil || last[0] != '\n' {
			if _, err := f.Write([]byte{'\n'}); err != nil {
				f.Close()
				return err
			}
			size++
		}
	}
	s.f, s.size, s.compacted = f, size, compacted
	return nil
}

// header is the log's first line for a log of body bytes after it: the
// size it gives counts the header itself.
func header(body int) []byte {
	n := len(logHeader) + 2
	for {
		h := logHeader + strconv.Itoa(body+n) + "\n"
		if len(h) == n {
			return []byte(h)
		}
		n = len(h)
	}
}

// parseHeader reads the header at the start of b: the size the log had
// when it was last rewritten.
func parseHeader(b []byte) (int64, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(logHeader))
	if !ok {
		return 0, false
	}
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// Close ends appending, and rewrites the log when it has grown enough
// (see Store). It returns the first error of either.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	grown := s.size > 2*s.compacted+compactSlack
	s.f = nil
	if err == nil && grown {
		err = s.compact()
	}
	return err
}

// compact rewrites the log with the last valid line of each pair, in the
// order of those lines.
func (s *Store) compact() error {
	b, err := os.ReadFile(s.logPath())
	if err != nil {
		return err
	}
	index := map[string]span{}
	if _, ok := parseHeader(b); ok {
		indexLines(b, bytes.IndexByte(b, '\n')+1, index)
	}
	spans := make([]span, 0, len(index))
	for _, sp := range index {
		spans = append(spans, sp)
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	size := 0
	for _, sp := range spans {
		size += sp.end - sp.start + 1
	}
	h := header(size)
	f, err := cache.Create(s.logPath(), 0o600)
	if err != nil {
		return err
	}
	defer f.Abort()
	f.NoSync = s.NoSync
	out := append(make([]byte, 0, len(h)+size), h...)
	for _, sp := range spans {
		out = append(append(out, b[sp.start:sp.end]...), '\n')
	}
	if _, err := f.Write(out); err != nil {
		return err
	}
	s.loaded, s.data, s.index = false, nil, nil
	return f.Commit()
}

// load reads the log once, for Has and Get.
func (s *Store) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	s.index = map[string]span{}
	b, err := os.ReadFile(s.logPath())
	if err != nil {
		return
	}
	if _, ok := parseHeader(b); !ok {
		return
	}
	s.data = b
	indexLines(b, bytes.IndexByte(b, '\n')+1, s.index)
}

// indexLines adds the complete, valid lines of b from offset start to
// index, each under its pair; a later line replaces an earlier one.
func indexLines(b []byte, start int, index map[string]span) {
	for start < len(b) {
		i := bytes.IndexByte(b[start:], '\n')
		if i < 0 {
			return // torn: the crash came before its end
		}
		line := b[start : start+i]
		if k, ok := lineKey(line); ok && json.Valid(line) {
			index[k] = span{start, start + i}
		}
		start += i + 1
	}
}

// lineKey reads the pair a record line describes from its start, which
// json.Marshal writes as {"path":<string>,"hash":"<hex>", ...}.
func lineKey(line []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(`{"path":"`))
	if !ok {
		return "", false
	}
	end, escaped := -1, false
	for i := 0; i < len(rest); i++ {
		if rest[i] == '\\' {
			escaped = true
			i++
			continue
		}
		if rest[i] == '"' {
			end = i
			break
		}
	}
	if end < 0 {
		return "", false
	}
	path := string(rest[:end])
	if escaped {
		if err := json.Unmarshal(line[len(`{"path":`):len(`{"path":"`)+end+1], &path); err != nil {
			return "", false
		}
	}
	rest, ok = bytes.CutPrefix(rest[end+1:], []byte(`,"hash":"`))
	if !ok || len(rest) < 2*len(cache.Hash{})+1 || rest[2*len(cache.Hash{})] != '"' {
		return "", false
	}
	var h cache.Hash
	if _, err := hex.Decode(h[:], rest[:2*len(h)]); err != nil {
		return "", false
	}
	return pairKey(path, h), true
}

// Has reports whether a record of the output at path with content hash h
// is stored, without decoding it.
func (s *Store) Has(path string, h cache.Hash) bool {
	s.mu.Lock()
	s.load()
	_, ok := s.index[pairKey(path, h)]
	s.mu.Unlock()
	if ok {
		return true
	}
	_, err := os.Stat(s.file(path, h))
	return err == nil
}

// Get returns the record of the output at path whose content hash is h.
func (s *Store) Get(path string, h cache.Hash) (*Record, error) {
	s.mu.Lock()
	s.load()
	var line []byte
	if sp, ok := s.index[pairKey(path, h)]; ok {
		line = s.data[sp.start:sp.end]
	}
	s.mu.Unlock()
	if line == nil {
		b, err := os.ReadFile(s.file(path, h))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, ErrNoRecord
			}
			return nil, err
		}
		line = b
	}
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		// A torn write (records are not fsynced) is as good as none.
		return nil, ErrNoRecord
	}
	if r.Path != path || r.Hash != h {
		return nil, fmt.Errorf("provenance record for %s: describes %s %s", path, r.Path, r.Hash.Short())
	}
	return &r, nil
}
