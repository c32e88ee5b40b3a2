package cache

import (
	"path"
	"sort"
	"sync"
)

// StatAll stats root/p for every workspace-relative, slash-separated path
// p, with up to workers goroutines, and returns the results in the order
// of paths. Where the system allows it, each goroutine opens every
// directory once and stats the files relative to it (fstatat), which saves
// the kernel most of each path lookup: a no-op build is mostly stat calls.
func StatAll(root string, paths []string, workers int) []FileStat {
	out := make([]FileStat, len(paths))
	if len(paths) == 0 {
		return out
	}
	// Visit the paths grouped by directory, so that each goroutine's
	// share touches few directories.
	order := make([]int, len(paths))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return paths[order[a]] < paths[order[b]] })
	workers = max(1, min(workers, len(paths)))
	chunk := (len(order) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(order))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(idx []int) {
			defer wg.Done()
			dirs := make(map[string]int)
			defer func() {
				for _, fd := range dirs {
					closeDir(fd)
				}
			}()
			for _, i := range idx {
				dir, name := path.Split(paths[i])
				fd, ok := dirs[dir]
				if !ok {
					fd = openDir(root + "/" + dir)
					dirs[dir] = fd
				}
				e, regular, err := statAt(fd, root, paths[i], name)
				out[i] = FileStat{e, regular, err}
			}
		}(order[lo:hi])
	}
	wg.Wait()
	return out
}
