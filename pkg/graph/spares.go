package graph

import (
	"errors"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"bethel/pkg/cache"
)

// spareFiles are empty files made ahead for the declared outputs of the
// commands to come. A confined command's outputs must exist before it
// starts (Landlock allows only files that exist), and creating a file is
// the costliest step between two commands: a new inode, which on ext4
// without a journal means a scan past every inode deleted in the last
// minute (after a `rm -rf` of a previous tree, hundreds of microseconds).
// At -j 1 a spare is made while a command runs (a processor is free for
// it meanwhile) and renamed into place for the next one, which costs a
// rename only; under make or ninja the command creates its outputs itself,
// on its own time. With more jobs the commands keep the processors busy,
// and outputs are created in place.
//
// Spares live in the state directory under temporary names: a build killed
// meanwhile leaves them to the next one's sweep, and close removes those
// left at the end. Where an output lies on another file system than the
// state directory (the rename fails), outputs are created in place again.
type spareFiles struct {
	mu   sync.Mutex
	dir  string
	free map[os.FileMode][]string // by permission
	off  bool                     // renaming across file systems failed
}

// take moves a spare of permission perm to path, which must not exist. It
// reports false (and path is untouched) when there is none, or the rename
// failed: the caller creates path itself.
func (s *spareFiles) take(path string, perm os.FileMode) bool {
	s.mu.Lock()
	if s.off {
		s.mu.Unlock()
		return false
	}
	l := s.free[perm]
	if len(l) == 0 {
		s.mu.Unlock()
		return false
	}
	spare := l[len(l)-1]
	s.free[perm] = l[:len(l)-1]
	s.mu.Unlock()
	// No replacing: like O_EXCL, a file that appeared at path since it
	// was removed is an error, not something to overwrite.
	err := unix.Renameat2(unix.AT_FDCWD, spare, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
	if err == nil {
		return true
	}
	os.Remove(spare)
	if errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EINVAL) {
		s.mu.Lock()
		s.off = true
		s.mu.Unlock()
	}
	return false
}

// fill makes spares until n of permission perm are ready.
func (s *spareFiles) fill(perm os.FileMode, n int) {
	for {
		s.mu.Lock()
		if s.off || s.dir == "" || len(s.free[perm]) >= n {
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		p, err := cache.CreateEmpty(s.dir, "spare", perm)
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.free == nil {
			s.free = make(map[os.FileMode][]string)
		}
		s.free[perm] = append(s.free[perm], p)
		s.mu.Unlock()
	}
}

// close removes the spares left.
func (s *spareFiles) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.free {
		for _, p := range l {
			os.Remove(p)
		}
	}
	s.free = nil
}
