package cache

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Backdate sets the modification time of the file at path (never of a
// symlink's target) as File.Backdate does, for a file another program
// wrote and nothing writes any more (a command's output once its process
// group is gone): recorded in the stat cache right after, it is trusted
// at once, where a file modified within RacyWindow of being hashed is
// hashed again by every reader until it has aged.
func Backdate(path string) error {
	t := time.Now().Add(-RacyWindow - backdateMargin)
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.NsecToTimespec(t.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimensat", Path: path, Err: err}
	}
	return nil
}
