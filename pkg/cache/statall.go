package cache

import (
	"path"
	"sync"
)

// StatAll stats root/p for every workspace-relative, slash-separated path
// p, with up to workers goroutines (the caller's among them), and returns
// the results in the order of paths. Where the system allows it, each
// goroutine opens every directory once and stats the files relative to it
// (fstatat), which saves the kernel most of each path lookup: a no-op
// build is mostly stat calls.
//
// Each goroutine takes a contiguous share of paths, in their order: a
// pipeline names a directory's files close together (node by node), so a
// share touches few directories. Sorting the paths to group them exactly
// cost more than the directory opens it saved (about 0.1 ms at 1000
// paths, before any stat could start).
func StatAll(root string, paths []string, workers int) []FileStat {
	out := make([]FileStat, len(paths))
	if len(paths) == 0 {
		return out
	}
	workers = max(1, min(workers, len(paths)))
	chunk := (len(paths) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := chunk; lo < len(paths); lo += chunk {
		hi := min(lo+chunk, len(paths))
		wg.Add(1)
		go func() {
			defer wg.Done()
			statRange(root, paths[lo:hi], out[lo:hi])
		}()
	}
	statRange(root, paths[:chunk], out[:chunk])
	wg.Wait()
	return out
}

// statRange stats root/paths[i] into out[i], opening each directory once.
func statRange(root string, paths []string, out []FileStat) {
	dirs := make(map[string]int)
	defer func() {
		for _, fd := range dirs {
			closeDir(fd)
		}
	}()
	lastDir, lastFD := "", -1
	for i, p := range paths {
		dir, name := path.Split(p)
		fd := lastFD
		if dir != lastDir || i == 0 {
			var ok bool
			if fd, ok = dirs[dir]; !ok {
				fd = openDir(root + "/" + dir)
				dirs[dir] = fd
			}
			lastDir, lastFD = dir, fd
		}
		e, regular, err := statAt(fd, root, p, name)
		out[i] = FileStat{e, regular, err}
	}
}
