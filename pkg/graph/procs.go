package graph

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// No process of a build outlives it. A command node runs in a process
// group of its own, and the build's process log,
// .bethel/state/procs/build, records the group while it runs: a line
// "<pgid> <boot id> <leader start>" when it starts (the boot and the
// leader's start time, so that a reused number is never mistaken for it),
// a line "-<pgid>" once it has been ended (written with the next group's
// line). Each write appends whole lines, so recording a command creates
// no file: a build opens the log once and removes it when it ends. When a command exits, whatever it left
// running in its group is killed. If bethel itself is killed, the log
// stays, and the next build ends the groups it shows running before
// anything is decided: a grandchild that kept appending to an output must
// not race the rebuild of its node (the journal shows that node
// unfinished, so it runs again).

func procsDir(root string) string { return filepath.Join(root, StateDir, "state", "procs") }

// procLog is a build's process log.
type procLog struct {
	root  string
	mu    sync.Mutex
	f     *os.File
	err   error  // opening failed: every command is refused a record
	ended []byte // "-<pgid>" lines not yet written (end)
}

// started records a started command's process group, with the groups
// ended since the last record in the same write.
func (l *procLog) started(pgid int) error {
	line := fmt.Sprintf("%d %s %d\n", pgid, bootID(), procStart(pgid))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil && l.err == nil {
		l.f, l.err = l.open()
	}
	if l.err != nil {
		return l.err
	}
	b := append(l.ended, line...)
	l.ended = l.ended[:0]
	_, err := l.f.Write(b)
	return err
}

func (l *procLog) open() (*os.File, error) {
	p := filepath.Join(procsDir(l.root), "build")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if os.IsNotExist(err) {
		if err = os.MkdirAll(procsDir(l.root), 0o700); err == nil {
			f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		}
	}
	return f, err
}

// end kills what is left of a recorded group, just after its leader was
// reaped, and records it ended. While any process is in the group its
// number cannot be given to another, so signalling the group needs no
// check. The record goes out with the next command's (started), saving a
// write between two commands: a build killed before that leaves the group
// listed as running, and the next build, which finds no process with its
// number or one started at another time, ends nothing (endGroup).
func (l *procLog) end(pgid int) {
	killGroup(pgid)
	l.mu.Lock()
	l.ended = strconv.AppendInt(append(l.ended, '-'), int64(pgid), 10)
	l.ended = append(l.ended, '\n')
	l.mu.Unlock()
}

// close removes the log once every command of the build has ended.
func (l *procLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		os.Remove(l.f.Name())
		l.f = nil
	}
}

// runningGroups reads the process logs a killed build left (and the one
// file per group of older bethels): the groups started and never ended,
// by pgid, with their leaders' start times; only those of this boot.
func runningGroups(root string) (map[int]uint64, []string) {
	ents, err := os.ReadDir(procsDir(root))
	if err != nil {
		return nil, nil
	}
	running := map[int]uint64{}
	var files []string
	boot := bootID()
	for _, ent := range ents {
		p := filepath.Join(procsDir(root), ent.Name())
		files = append(files, p)
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 1 && strings.HasPrefix(f[0], "-"):
				pgid, _ := strconv.Atoi(f[0][1:])
				delete(running, pgid)
			case len(f) == 3 && f[1] == boot:
				pgid, _ := strconv.Atoi(f[0])
				start, _ := strconv.ParseUint(f[2], 10, 64)
				if pgid > 1 {
					running[pgid] = start
				}
			}
		}
	}
	return running, files
}

// endSurvivors ends the process groups a killed build left running and
// reports how many processes it killed.
func endSurvivors(root string) int {
	running, files := runningGroups(root)
	killed := 0
	for pgid, start := range running {
		killed += endGroup(pgid, start)
	}
	for _, p := range files {
		os.Remove(p)
	}
	return killed
}

// waitGone polls until none of pids exists, for at most d.
func waitGone(pids []int, d time.Duration) {
	deadline := time.Now().Add(d)
	for _, pid := range pids {
		for processExists(pid) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
}
