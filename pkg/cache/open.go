package cache

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// OpenPlain opens path for reading with one open(2). os.Open also offers
// every file it opens to the runtime's poller, which refuses regular files
// and directories after four more system calls (fcntl, epoll_ctl, fcntl,
// fcntl): a third of what hashing a small output costs, paid several times
// per command node. Reads block, as they do on a regular file after
// os.Open; errors are os.Open's (*fs.PathError, so fs.ErrNotExist matches).
func OpenPlain(path string) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
		}
		if err != syscall.EINTR {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
	}
}

// createTemp is os.CreateTemp(dir, prefix+"*") with a bare open(2), for
// the same reason as OpenPlain: every cache blob and provenance record
// starts as one.
func createTemp(dir, prefix string) (*os.File, error) {
	fd, name, err := openNew(dir, prefix, syscall.O_RDWR, 0o600, "createtemp")
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// CreateEmpty creates a new empty file in dir with perm (less the umask),
// under a temporary name (so SweepTemp removes it if it is left behind),
// and returns its path.
func CreateEmpty(dir, prefix string, perm os.FileMode) (string, error) {
	fd, name, err := openNew(dir, prefix+tempMarker, syscall.O_WRONLY, uint32(perm.Perm()), "create")
	if err != nil {
		return "", err
	}
	syscall.Close(fd)
	return name, nil
}

// openNew creates a file named prefix and a random number in dir with one
// open(2) (O_EXCL, mode perm less the umask), opened with flags; op names
// the operation in an error.
func openNew(dir, prefix string, flags int, perm uint32, op string) (int, string, error) {
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		fd, err := syscall.Open(name, flags|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, perm)
		if err == nil {
			return fd, name, nil
		}
		if err == syscall.EINTR || (err == syscall.EEXIST && try < 10000) {
			continue
		}
		return -1, "", &fs.PathError{Op: op, Path: filepath.Join(dir, prefix+"*"), Err: err}
	}
}
