//go:build linux && (amd64 || arm64)

package cache

import (
	"os"
	"syscall"
	"unsafe"
)

// openDir opens dir for fstatat (O_PATH: no read permission needed);
// -1 when it cannot be opened, and statAt then uses the full path.
func openDir(dir string) int {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC|oPath, 0)
	if err != nil {
		return -1
	}
	return fd
}

func closeDir(fd int) {
	if fd >= 0 {
		syscall.Close(fd)
	}
}

const oPath = 0x200000 // O_PATH on linux (amd64, arm64)

// statAt stats name in the directory fd (following symbolic links, as
// stat does), or full when fd is -1.
func statAt(fd int, full, name string) (statEntry, bool, error) {
	if fd < 0 {
		return statFile(full)
	}
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return statEntry{}, false, &os.PathError{Op: "stat", Path: full, Err: err}
	}
	var st syscall.Stat_t
	for {
		_, _, e := syscall.Syscall6(sysFstatat, uintptr(fd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&st)), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return statEntry{}, false, &os.PathError{Op: "stat", Path: full, Err: e}
		}
		break
	}
	return statEntry{size: st.Size, mtime: st.Mtim.Nano(), ino: int64(st.Ino), ctime: st.Ctim.Nano()},
		st.Mode&syscall.S_IFMT == syscall.S_IFREG, nil
}
