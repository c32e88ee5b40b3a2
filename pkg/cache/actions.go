package cache

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// The action log maps action keys to manifests. It is one append-only file,
// not a file per action: creating and renaming a file per node was most of
// what recording a node cost (a few hundred microseconds on a busy disk,
// against one small append).
//
//	bethel-actions 1
//	M <key> <unix seconds> <manifest JSON> <crc>    action key built
//	U <key> <unix seconds> <crc>                    action key used (restored)
//
// Fields are tab-separated (JSON from encoding/json holds no raw tab or
// newline); <crc> is the CRC-32 of the line before it, in hex. A record is
// written with a single write(2) on an O_APPEND file by the one bethel that
// holds the workspace lock, so readers see whole records; a line torn by a
// crash or damaged on disk fails its CRC and is ignored (a miss). The last
// M record of a key wins; a key's last use is its latest M or U time. The
// log is read lazily, on the first lookup of a build (a no-op build never
// reads it), and rewritten atomically, keeping only live entries, by Trim.
type actionLog struct {
	mu      sync.Mutex
	loaded  bool
	idx     map[Hash]*actionEntry
	f       *os.File // append handle while writing
	torn    bool     // the file does not end in a newline
	records int
}

type actionEntry struct {
	raw  []byte // manifest JSON
	used int64  // unix seconds of the last build or use
	size int    // bytes of the M record
	bad  bool   // JSON did not decode: a miss
}

const actionsHeader = "bethel-actions 1\n"

// UseGranularity is how stale a key's last-use time may get before Used
// appends a new one: LRU order need not be exact, so restoring the same
// entry all day costs one record an hour.
var UseGranularity = time.Hour

func (s *Store) actionsPath() string { return filepath.Join(s.dir, "actions") }

// loadActions reads the log once. Callers hold s.actions.mu.
func (s *Store) loadActions() {
	a := &s.actions
	if a.loaded {
		return
	}
	a.loaded = true
	a.idx = make(map[Hash]*actionEntry)
	b, err := os.ReadFile(s.actionsPath())
	if err != nil || !bytes.HasPrefix(b, []byte(actionsHeader)) {
		return
	}
	a.torn = len(b) > 0 && b[len(b)-1] != '\n'
	b = b[len(actionsHeader):]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		a.parse(b[:i])
		b = b[i+1:]
	}
}

func (a *actionLog) parse(line []byte) {
	body, ok := CheckLine(line)
	if !ok {
		return
	}
	f := bytes.SplitN(body, []byte{'\t'}, 4)
	if len(f) < 3 || len(f[1]) != 64 {
		return
	}
	var key Hash
	if _, err := hex.Decode(key[:], f[1]); err != nil {
		return
	}
	when, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return
	}
	switch string(f[0]) {
	case "M":
		if len(f) != 4 {
			return
		}
		// raw points into the file's bytes, read once and never written:
		// copying every manifest of a long-lived log doubled its cost.
		a.idx[key] = &actionEntry{raw: f[3][:len(f[3]):len(f[3])], used: when, size: len(line) + 1}
	case "U":
		if e := a.idx[key]; e != nil && when > e.used {
			e.used = when
		}
	default:
		return
	}
	a.records++
}

// appendAction writes one record. Callers hold s.actions.mu.
func (s *Store) appendAction(kind string, key Hash, when int64, payload []byte) (int, error) {
	a := &s.actions
	if s.readOnly {
		return 0, fmt.Errorf("cache: store is read-only")
	}
	if a.f == nil {
		f, err := os.OpenFile(s.actionsPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return 0, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return 0, err
		}
		if fi.Size() == 0 {
			_, err = f.WriteString(actionsHeader)
		} else if a.torn {
			_, err = f.WriteString("\n")
			a.torn = false
		}
		if err != nil {
			f.Close()
			return 0, err
		}
		a.f = f
	}
	rec := make([]byte, 0, 96+len(payload))
	rec = append(rec, kind...)
	rec = append(rec, '\t')
	rec = hex.AppendEncode(rec, key[:])
	rec = append(rec, '\t')
	rec = strconv.AppendInt(rec, when, 10)
	if payload != nil {
		rec = append(rec, '\t')
		rec = append(rec, payload...)
	}
	rec = append(rec, ChecksumTail(rec)...)
	if _, err := a.f.Write(rec); err != nil {
		return 0, err
	}
	a.records++
	return len(rec), nil
}

// PutManifest records m as the result of action key. Its blobs must be
// stored first, so that a crash never leaves a manifest without its data.
func (s *Store) PutManifest(key Hash, m *Manifest) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	a := &s.actions
	a.mu.Lock()
	defer a.mu.Unlock()
	s.loadActions()
	now := time.Now().Unix()
	n, err := s.appendAction("M", key, now, b)
	if err != nil {
		return err
	}
	a.idx[key] = &actionEntry{raw: b, used: now, size: n}
	return nil
}

// GetManifest returns the manifest of action key, or a miss saying why. It
// does not verify the blobs (Restore does) and does not count as a use.
func (s *Store) GetManifest(key Hash) (*Manifest, error) {
	a := &s.actions
	a.mu.Lock()
	s.loadActions()
	e := a.idx[key]
	a.mu.Unlock()
	if e == nil {
		return nil, &MissError{Reason: "action " + key.Short() + " was never built (or was trimmed)"}
	}
	var m Manifest
	if e.bad || json.Unmarshal(e.raw, &m) != nil {
		e.bad = true
		return nil, &MissError{Reason: "manifest of action " + key.Short() + " is unreadable"}
	}
	return &m, nil
}

// Used marks action key as used now, for least-recently-used trimming.
func (s *Store) Used(key Hash) {
	a := &s.actions
	a.mu.Lock()
	defer a.mu.Unlock()
	s.loadActions()
	e := a.idx[key]
	now := time.Now().Unix()
	if e == nil || s.readOnly || now-e.used < int64(UseGranularity/time.Second) {
		return
	}
	if _, err := s.appendAction("U", key, now, nil); err == nil {
		e.used = now
	}
}

// Close ends appending to the action log and, unless NoSync, flushes it.
func (s *Store) Close() error {
	a := &s.actions
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	var err error
	if !s.NoSync {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	a.f = nil
	return err
}

// rewriteActions replaces the log with the entries keep accepts, one M
// record each, atomically and durably. Callers hold s.actions.mu.
func (s *Store) rewriteActions(keep func(Hash, *actionEntry) bool) error {
	a := &s.actions
	if a.f != nil {
		a.f.Close()
		a.f = nil
	}
	var buf bytes.Buffer
	buf.WriteString(actionsHeader)
	keys := make([]Hash, 0, len(a.idx))
	for key, e := range a.idx {
		if keep(key, e) {
			keys = append(keys, key)
		} else {
			delete(a.idx, key)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i][:], keys[j][:]) < 0 })
	records := 0
	for _, key := range keys {
		e := a.idx[key]
		start := buf.Len()
		buf.WriteString("M\t")
		buf.WriteString(key.String())
		buf.WriteByte('\t')
		buf.WriteString(strconv.FormatInt(e.used, 10))
		buf.WriteByte('\t')
		buf.Write(e.raw)
		buf.Write(ChecksumTail(buf.Bytes()[start:]))
		e.size = buf.Len() - start
		records++
	}
	if err := WriteFile(s.actionsPath(), buf.Bytes(), 0o600); err != nil {
		return err
	}
	a.records, a.torn = records, false
	return nil
}
