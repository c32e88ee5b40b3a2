package cache

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"time"
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
// Blobs no entry refers to and leftover temporary files are removed
// whatever the size. The caller holds the workspace lock.
func (s *Store) Trim(maxSize int64, keepKeys, keepBlobs map[Hash]bool) (TrimResult, error) {
	var res TrimResult
	type entry struct {
		key   Hash
		path  string
		size  int64
		used  time.Time
		blobs []Hash
	}
	var entries []entry
	blobSize := map[Hash]int64{}
	refs := map[Hash]int{}

	err := s.walk("actions", func(path string, fi os.FileInfo, h Hash) {
		b, err := os.ReadFile(path)
		var m Manifest
		if err != nil || json.Unmarshal(b, &m) != nil {
			os.Remove(path)
			return
		}
		e := entry{key: h, path: path, size: fi.Size(), used: fi.ModTime(), blobs: m.Blobs()}
		for _, b := range e.blobs {
			refs[b]++
		}
		entries = append(entries, e)
	}, &res)
	if err != nil {
		return res, err
	}
	err = s.walk("blobs", func(path string, fi os.FileInfo, h Hash) {
		blobSize[h] = fi.Size()
	}, &res)
	if err != nil {
		return res, err
	}
	var total int64
	for _, e := range entries {
		total += e.size
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
	sort.Slice(entries, func(i, j int) bool { return entries[i].used.Before(entries[j].used) })
	for _, e := range entries {
		if total <= maxSize {
			break
		}
		if keepKeys[e.key] {
			continue
		}
		if err := os.Remove(e.path); err != nil {
			continue
		}
		total -= e.size
		res.Entries++
		for _, b := range e.blobs {
			refs[b]--
			if _, ok := blobSize[b]; ok && refs[b] == 0 && !keepBlobs[b] {
				removeBlob(b)
			}
		}
	}
	res.After = total
	return res, nil
}

// walk calls fn for every well-named file in the shards of dir (actions or
// blobs), removing temporary files on the way.
func (s *Store) walk(dir string, fn func(path string, fi os.FileInfo, h Hash), res *TrimResult) error {
	top := filepath.Join(s.dir, dir)
	n, _ := SweepTemp(top)
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
			p := filepath.Join(d, e.Name())
			if IsTemp(e.Name()) {
				if os.Remove(p) == nil {
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
			fn(p, fi, h)
		}
	}
	return nil
}
