//go:build unix

package watch

import (
	"io/fs"
	"syscall"
)

// inode identifies the file behind a name, so that a file replaced by a
// rename with the same size and time is not taken for the old one when its
// content is too big to hash.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
