package graph

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"

	"bethel/pkg/cache"
)

// tmpDirs lends each running command its private temporary directory
// (HOME and TMPDIR). Making and removing a directory is a journalled
// metadata update that costs more than a small command itself, so a
// build keeps the directories its commands left empty and lends them
// again: a command is only ever given a directory that is empty, with
// the mode bethel made it with, and that no other command holds. One
// that a command left anything in (or changed) is removed and never lent
// again, so what one command wrote there is never seen by another. At
// most as many directories exist as commands ran at once, and one more;
// close removes them when the build ends.
//
// The check that a directory is as it was lent waits until tidy, which a
// command calls while it runs: between two commands a directory is only
// taken back (put) and another, checked one lent (get), so at -j 1 two
// directories take turns and no directory is read on the way from one
// command to the next.
//
// They live in the workspace's .bethel/tmp (0700), not the system's
// temporary directory: what a command writes there may be as private as
// what it reads, and a build killed with them in use leaves them where
// the next build removes them before it runs anything (sweepTmp).
type tmpDirs struct {
	root string // .bethel/tmp, made on first use
	mu   sync.Mutex
	free []string // checked: pristine
	back []string // given back, not checked yet (tidy)
	lent map[string]bool
}

// mkdirTemp makes a new directory under t.root, and t.root first if need
// be.
func (t *tmpDirs) mkdirTemp(prefix string) (string, error) {
	d, err := os.MkdirTemp(t.root, prefix)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(t.root, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		d, err = os.MkdirTemp(t.root, prefix)
	}
	return d, err
}

// sweepTmp removes what a killed build left in .bethel/tmp: a build that
// ends removes the directory itself, so finding it is the sign. One
// stat when there is nothing to do.
func sweepTmp(root string) {
	if _, err := os.Lstat(tmpRoot(root)); err == nil {
		os.RemoveAll(tmpRoot(root))
	}
}

// get lends a directory: a free one, else one given back that is found
// pristine now, else a new one.
func (t *tmpDirs) get() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var dir string
	for dir == "" && len(t.free) == 0 && len(t.back) > 0 {
		d := t.back[len(t.back)-1]
		t.back = t.back[:len(t.back)-1]
		if pristine(d) {
			dir = d
		} else {
			os.RemoveAll(d)
		}
	}
	if n := len(t.free); dir == "" && n > 0 {
		dir, t.free = t.free[n-1], t.free[:n-1]
	}
	if dir == "" {
		d, err := t.mkdirTemp("cmd-")
		if err != nil {
			return "", err
		}
		dir = d
	}
	if t.lent == nil {
		t.lent = make(map[string]bool)
	}
	t.lent[dir] = true
	return dir, nil
}

// put takes a directory back after its command ended (every process of
// its group killed); tidy or get checks it before it is lent again.
func (t *tmpDirs) put(dir string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.lent, dir)
	t.back = append(t.back, dir)
}

// tidy checks the directories given back: kept for a later command when
// they are as they were lent, removed otherwise. So that the next command
// need not wait for a check, it also makes one directory ahead when none
// is free.
func (t *tmpDirs) tidy() {
	t.mu.Lock()
	back := t.back
	t.back = nil
	t.mu.Unlock()
	var keep []string
	for _, d := range back {
		if pristine(d) {
			keep = append(keep, d)
		} else {
			os.RemoveAll(d)
		}
	}
	if len(keep) == 0 {
		t.mu.Lock()
		n := len(t.free)
		t.mu.Unlock()
		if n == 0 {
			if d, err := t.mkdirTemp("cmd-"); err == nil {
				keep = append(keep, d)
			}
		}
	}
	t.mu.Lock()
	t.free = append(t.free, keep...)
	t.mu.Unlock()
}

// close removes every directory, lent or free.
func (t *tmpDirs) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range append(t.free, t.back...) {
		os.RemoveAll(d)
	}
	for d := range t.lent {
		os.RemoveAll(d)
	}
	t.free, t.back, t.lent = nil, nil, nil
	// Empty unless something outside the lent directories was left
	// (a command's engine artifacts): removed with the rest.
	os.RemoveAll(t.root)
}

// pristine reports whether dir is an empty directory with the mode and
// owner MkdirTemp gave it: one read of its entries.
func pristine(dir string) bool {
	f, err := cache.OpenPlain(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.IsDir() || st.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0o700 {
		return false
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); !ok || int(sys.Uid) != uid() {
		return false
	}
	_, err = f.Readdirnames(1)
	return err == io.EOF
}

// uid is the process's user id, asked once (os.Getuid is a system call
// each time, and pristine runs after every command).
var uid = sync.OnceValue(os.Getuid)
