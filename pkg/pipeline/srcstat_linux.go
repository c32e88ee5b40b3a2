package pipeline

import "syscall"

// statSource is the stat data of the file at path (following links, as
// reading it does).
func statSource(path string) (srcStat, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return srcStat{}, false
	}
	return srcStat{size: st.Size, mtime: st.Mtim.Nano(), ino: int64(st.Ino), ctime: st.Ctim.Nano()}, true
}
