//go:build !linux

package cache

import "os"

// statOf without inode and change time: size and modification time only.
func statOf(fi os.FileInfo) statEntry {
	return statEntry{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}
