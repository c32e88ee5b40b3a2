//go:build !linux

package cache

func openDir(dir string) int { return -1 }

func closeDir(fd int) {}

// statAt without fstatat: the full path.
func statAt(fd int, root, rel, name string) (statEntry, bool, error) {
	return statFile(root + "/" + rel)
}
