package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFileT(t *testing.T, path, data string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLockProgram runs lock, make and unlock with the real binary on a
// scaffolded workspace with a two-session program.
func TestLockProgram(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ev")
	if r := runBethel(t, t.TempDir(), "init", dir); r.code != 0 {
		t.Fatal(r.stderr)
	}
	writeFileT(t, filepath.Join(dir, "inputs", "program.csv"), "id,title,day,start,end,room,kind,bethels\n"+
		"S-1,Opening,Friday,09:00,10:00,Ballroom,ceremony,all\nS-2,Choir,Friday,13:00,14:00,Ballroom,music,1\n")
	lockFile := filepath.Join(dir, "config", "program.lock.json")
	unlocked, _ := os.ReadFile(lockFile)

	if r := runBethel(t, dir, "lock", "program"); r.code != 0 || !strings.Contains(r.stdout, "locked 2 sessions in config/program.lock.json") {
		t.Fatalf("lock: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBethel(t, dir, "make"); r.code != 0 {
		t.Fatalf("make after lock: %s", r.stderr)
	}
	move := `[[patch]]
id = "choir-at-2"
target = "program"
match = { id = "S-2" }
set = { start = "14:00", end = "15:00" }
reason = "director asked"
`
	writeFileT(t, filepath.Join(dir, "patches", "program", "10-move.toml"), move)
	r := runBethel(t, dir, "make")
	if r.code != 1 || !strings.Contains(r.stderr, "the program is locked and 1 session differs") || !strings.Contains(r.stderr, `S-2: start "2026-06-12T13:00:00-05:00" -> "2026-06-12T14:00:00-05:00"`) {
		t.Fatalf("make with a patch after the lock: exit %d\n%s", r.code, r.stderr)
	}
	writeFileT(t, filepath.Join(dir, "patches", "program", "10-move.toml"), strings.Replace(move, "reason", "after_lock = true\nreason", 1))
	if r := runBethel(t, dir, "make"); r.code != 0 {
		t.Fatalf("make with an after_lock patch: %s", r.stderr)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "out", "program", "schedule.csv"))
	if !strings.Contains(string(b), "S-2,Choir,music,Friday,2026-06-12,14:00,") {
		t.Errorf("the after_lock change is not in the schedule:\n%s", b)
	}
	if r := runBethel(t, dir, "unlock", "program"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if b, _ := os.ReadFile(lockFile); string(b) != string(unlocked) {
		t.Errorf("unlock left %s", b)
	}
	// Usage errors exit 2.
	if r := runBethel(t, dir, "lock"); r.code != 2 {
		t.Errorf("lock without a target: exit %d", r.code)
	}
	if r := runBethel(t, dir, "lock", "-node", "attendance", "program"); r.code != 2 || !strings.Contains(r.stderr, "reads no program lock file") {
		t.Errorf("lock of a non-program node: exit %d %s", r.code, r.stderr)
	}
}
