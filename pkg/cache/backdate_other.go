//go:build !linux

package cache

import (
	"errors"
	"os"
	"time"
)

// Backdate is the Linux one's: here a symlink is left alone (Chtimes
// would follow it).
func Backdate(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New(path + ": not a regular file")
	}
	return os.Chtimes(path, time.Time{}, time.Now().Add(-RacyWindow-backdateMargin))
}
