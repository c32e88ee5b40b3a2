package cache

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
)

// TrimResult says what Trim did. Sizes are bytes on disk (file sizes).
type TrimResult struct {
	Before, After  int64
	Entries, Blobs int // removed
	Temp           int // leftover temporary files removed
}

// Trim shrinks the store to at most maxSize bytes, dropping action entries
// least recently used first (see Used) and every blob no remaining entry
// refers to. Entries in keepKeys and blobs in keepBlobs (what the current
// outputs need) are never removed, even if the store stays above maxSize.
// Blobs no entry refers to, unreadable entries and leftover temporary files
// are removed whatever the size. The action log is rewritten with the
// surviving entries. The caller holds the workspace lock.
func (s *Store) Trim(maxSize int64, keepKeys, keepBlobs map[Hash]bool) (TrimResult, error) {
	var res TrimResult
	a := &s.actions
	a.mu.Lock()
	defer a.mu.Unlock()
	s.loadActions()

	type entry struct {
		key   Hash
		e     *actionEntry
		blobs []Hash
	}
	var entries []entry
	refs := map[Hash]int{}
	var total int64
	for key, e := range a.idx {
		var m Manifest
		if e.bad || json.Unmarshal(e.raw, &m) != nil {
			e.bad = true
			res.Entries++
			continue
		}
		en := entry{key, e, m.Blobs()}
		for _, b := range en.blobs {
			refs[b]++
		}
		entries = append(entries, en)
		total += int64(e.size)
	}
	blobSize := map[Hash]int64{}
	if err := s.walkBlobs(func(h Hash, size int64) { blobSize[h] = size }, &res); err != nil {
		return res, err
	}
	for _, n := range blobSize {
		total += n
	}
	res.Before = total
	removeBlob := func(h Hash) {
		if err := os.Remove(s.blobPath(h)); err == nil {
			total -= blobSize[h]
			res.Blobs++
		}
		delete(blobSize, h)
	}
	for h := range blobSize {
		if refs[h] == 0 && !keepBlobs[h] {
			removeBlob(h)
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].e.used != entries[j].e.used {
			return entries[i].e.used < entries[j].e.used
		}
		return string(entries[i].key[:]) < string(entries[j].key[:])
	})
	gone := map[Hash]bool{}
	for _, en := range entries {
		if total <= maxSize {
			break
		}
		if keepKeys[en.key] {
			continue
		}
		gone[en.key] = true
		total -= int64(en.e.size)
		res.Entries++
		for _, b := range en.blobs {
			refs[b]--
			if _, ok := blobSize[b]; ok && refs[b] == 0 && !keepBlobs[b] {
				removeBlob(b)
			}
		}
	}
	err := s.rewriteActions(func(key Hash, e *actionEntry) bool { return !e.bad && !gone[key] })
	if err != nil {
		return res, err
	}
	res.After = total
	return res, nil
}

// walkBlobs calls fn for every well-named blob, removing temporary files
// on the way.
func (s *Store) walkBlobs(fn func(h Hash, size int64), res *TrimResult) error {
	n, _ := SweepTemp(s.dir)
	res.Temp += n
	top := filepath.Join(s.dir, "blobs")
	n, _ = SweepTemp(top)
	res.Temp += n
	shards, err := os.ReadDir(top)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	for _, sh := range shards {
		if !sh.IsDir() {
			continue
		}
		d := filepath.Join(top, sh.Name())
		ents, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if IsTemp(e.Name()) {
				if os.Remove(filepath.Join(d, e.Name())) == nil {
					res.Temp++
				}
				continue
			}
			h, err := ParseHash(e.Name())
			if err != nil {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			fn(h, fi.Size())
		}
	}
	return nil
}
