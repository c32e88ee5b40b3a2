package graph

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// No process of a build outlives it. A command node runs in a process
// group of its own; while it runs, .bethel/state/procs/<pgid> records the
// group (the boot and the leader's start time, so that a reused number is
// never mistaken for it). When the command exits, whatever it left running
// in its group is killed. If bethel itself is killed, the records stay, and
// the next build ends those groups before anything is decided: a
// grandchild that kept appending to an output must not race the rebuild of
// its node (the journal shows that node unfinished, so it runs again).

func procsDir(root string) string { return filepath.Join(root, StateDir, "state", "procs") }

// procRecord is one running command's record.
type procRecord struct {
	path  string
	pgid  int
	boot  string
	start uint64 // the leader's start time in clock ticks after boot; 0: unknown
}

// recordGroup notes a started command's process group.
func recordGroup(root string, pgid int) (*procRecord, error) {
	r := &procRecord{path: filepath.Join(procsDir(root), strconv.Itoa(pgid)), pgid: pgid, boot: bootID(), start: procStart(pgid)}
	data := fmt.Sprintf("%d %s %d\n", pgid, r.boot, r.start)
	err := os.WriteFile(r.path, []byte(data), 0o600)
	if os.IsNotExist(err) {
		if err = os.MkdirAll(procsDir(root), 0o700); err == nil {
			err = os.WriteFile(r.path, []byte(data), 0o600)
		}
	}
	return r, err
}

// end kills what is left of the group, just after its leader was reaped,
// and removes the record. While any process is in the group its number
// cannot be given to another, so signalling the group needs no check.
func (r *procRecord) end() {
	killGroup(r.pgid)
	os.Remove(r.path)
}

// endSurvivors ends the process groups a killed build left running and
// reports how many processes it killed.
func endSurvivors(root string) int {
	ents, err := os.ReadDir(procsDir(root))
	if err != nil {
		return 0
	}
	killed := 0
	boot := bootID()
	for _, ent := range ents {
		p := filepath.Join(procsDir(root), ent.Name())
		b, err := os.ReadFile(p)
		if err == nil {
			f := strings.Fields(string(b))
			if len(f) == 3 && f[1] == boot {
				pgid, _ := strconv.Atoi(f[0])
				start, _ := strconv.ParseUint(f[2], 10, 64)
				if pgid > 1 {
					killed += endGroup(pgid, start)
				}
			}
		}
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
