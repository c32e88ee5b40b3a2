package cache

import (
	"os"

	"golang.org/x/sys/unix"
)

// openDir opens dir for fstatat (O_PATH: no read permission needed);
// -1 when it cannot be opened, and statAt then uses the full path.
func openDir(dir string) int {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_PATH, 0)
	if err != nil {
		return -1
	}
	return fd
}

func closeDir(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// statAt stats name in the directory fd (following symbolic links, as
// stat does), or root/rel when fd is -1. Relative to an open directory the
// kernel walks one name instead of the whole path: StatAll stats a
// directory's files this way. The full path is only made for an error
// (one string per file was a thousand allocations in a 1000-node no-op).
func statAt(fd int, root, rel, name string) (statEntry, bool, error) {
	if fd < 0 {
		return statFile(root + "/" + rel)
	}
	var st unix.Stat_t
	var err error
	for {
		err = unix.Fstatat(fd, name, &st, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return statEntry{}, false, &os.PathError{Op: "stat", Path: root + "/" + rel, Err: err}
	}
	return statEntry{size: st.Size, mtime: st.Mtim.Nano(), ino: int64(st.Ino), ctime: st.Ctim.Nano()},
		st.Mode&unix.S_IFMT == unix.S_IFREG, nil
}
