package cache

import (
	"os"
	"syscall"
)

// statFile stats path without the allocation os.Stat makes: a no-op build
// stats every file of the pipeline.
func statFile(path string) (e statEntry, regular bool, err error) {
	var st syscall.Stat_t
	for {
		err = syscall.Stat(path, &st)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return e, false, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	e = statEntry{size: st.Size, mtime: st.Mtim.Nano(), ino: int64(st.Ino), ctime: st.Ctim.Nano()}
	return e, st.Mode&syscall.S_IFMT == syscall.S_IFREG, nil
}

// fstatEntry is statFile for an open file.
func fstatEntry(f *os.File) (statEntry, error) {
	fi, err := f.Stat()
	if err != nil {
		return statEntry{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return statEntry{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, nil
	}
	return statEntry{size: st.Size, mtime: st.Mtim.Nano(), ino: int64(st.Ino), ctime: st.Ctim.Nano()}, nil
}
