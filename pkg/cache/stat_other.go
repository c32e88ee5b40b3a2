//go:build !linux

package cache

import "os"

// statFile without inode and change time: size and modification time only.
func statFile(path string) (statEntry, bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return statEntry{}, false, err
	}
	return statEntry{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, fi.Mode().IsRegular(), nil
}

// fstatEntry is statFile for an open file.
func fstatEntry(f *os.File) (statEntry, error) {
	fi, err := f.Stat()
	if err != nil {
		return statEntry{}, err
	}
	return statEntry{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, nil
}
