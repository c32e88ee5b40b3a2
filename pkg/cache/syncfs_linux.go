package cache

import (
	"os"
	"runtime"
	"syscall"
)

// syncfsNr is the syncfs(2) system call number, which the syscall package
// does not export; the cache imports only the standard library and blake3.
var syncfsNr = map[string]uintptr{"amd64": 306, "arm64": 267, "riscv64": 267, "386": 344, "arm": 373}

// SyncFS flushes the whole file system holding dir (syncfs(2)): one call at
// the end of a build instead of an fsync per output and blob.
func SyncFS(dir string) error {
	nr, ok := syncfsNr[runtime.GOARCH]
	if !ok {
		syscall.Sync()
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, _, e := syscall.Syscall(nr, d.Fd(), 0, 0); e != 0 {
		return e
	}
	return nil
}
