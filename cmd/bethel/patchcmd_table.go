package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bethel/pkg/csvio"
	"bethel/pkg/pos"
)

// stageFS is what a stage reads the workspace through.
type stageFS = fs.FS

// csvTable is a built table (the target node's CSV output) read whole:
// the records as the last build left them, keyed by the first column.
type csvTable struct {
	header []string
	rows   [][]string
	byKey  map[string]int
}

// readTable reads a CSV output of the workspace, the formula guard undone
// (a phone written '+1 ... is +1 ... to a patch).
func readTable(root, rel string) (*csvTable, error) {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	header, rows, err := csvio.ReadAll(f, rel)
	if err != nil {
		return nil, err
	}
	if len(header) == 0 {
		return nil, fmt.Errorf("%s: empty table", rel)
	}
	t := &csvTable{header: header, rows: rows, byKey: make(map[string]int, len(rows))}
	for i, rec := range rows {
		if len(rec) > 0 {
			t.byKey[rec[0]] = i
		}
	}
	return t, nil
}

func (t *csvTable) find(key string) ([]string, bool) {
	i, ok := t.byKey[key]
	if !ok {
		return nil, false
	}
	rec := t.rows[i]
	for len(rec) < len(t.header) {
		rec = append(rec, "")
	}
	return rec, true
}

func (t *csvTable) col(name string) int {
	for i, h := range t.header {
		if h == name {
			return i
		}
	}
	return -1
}

// closestKey says which existing key is nearest to a mistyped one, as
// " (did you mean R-1043?)", or "".
func (t *csvTable) closestKey(key string) string {
	best, bestD := "", 3
	for k := range t.byKey {
		if d := pos.Distance(strings.ToLower(k), strings.ToLower(key)); d < bestD || (d == bestD && best != "" && k < best) {
			best, bestD = k, d
		}
	}
	if best == "" {
		return " (an inactive record, cancelled or refunded, is not in it)"
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// overlayFS is the workspace with one file replaced (or added) in memory:
// the patch file as it would be written.
type overlayFS struct {
	base fs.FS
	name string
	data []byte
}

func (o *overlayFS) Open(name string) (fs.File, error) {
	if name != o.name {
		return o.base.Open(name)
	}
	return &memFile{name: name, r: bytes.NewReader(o.data), size: int64(len(o.data))}, nil
}

// memFile is an open overlay file.
type memFile struct {
	name string
	r    *bytes.Reader
	size int64
}

func (f *memFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{f}, nil }

type memInfo struct{ f *memFile }

func (i memInfo) Name() string       { return filepath.Base(i.f.name) }
func (i memInfo) Size() int64        { return i.f.size }
func (i memInfo) Mode() fs.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// writeFileAtomic writes a patch file through a temporary file in its
// directory and a rename, so an editor or a watching bethel never reads
// half of it.
func writeFileAtomic(file string, data []byte) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".bethel-patch-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(file); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
