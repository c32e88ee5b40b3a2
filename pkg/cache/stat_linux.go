package cache

import (
	"os"
	"syscall"
)

func statOf(fi os.FileInfo) statEntry {
	e := statEntry{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.ino = int64(st.Ino)
		e.ctime = st.Ctim.Nano()
	}
	return e
}
