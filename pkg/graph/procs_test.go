package graph

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bethel/pkg/stage"
)

// TestKilledBuildLeavesNoWriter is the kill -9 repro: a command whose
// subshell appends to its output for 10 s (quietly: no error message that
// would end it by SIGPIPE), bethel killed early. The next build (now of 30
// lines) ends the subshell before anything runs, reruns the node, and the
// output it records is whole: 30 lines, none twice.
func TestKilledBuildLeavesNoWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	root := workspace(t, map[string]string{
		"pipeline.toml": `
[[node]]
name = "slow"
run = "(exec 2>/dev/null; for i in $(seq 1 $(cat inputs/n.txt)); do echo line$i >> out/slow.txt; sleep 0.1; done); true"
inputs = ["inputs/n.txt"]
outputs = ["out/slow.txt"]
`,
		"inputs/n.txt": "100\n",
	})
	// The helper test process runs the build, so that it can be killed
	// with -9 like a bethel.
	cmd := exec.Command(os.Args[0], "-test.run=TestHelperBuild$")
	cmd.Env = append(os.Environ(), "BETHEL_TEST_BUILD_ROOT="+root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, _ := os.ReadFile(filepath.Join(root, "out/slow.txt")); strings.Count(string(b), "\n") >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command never started writing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	recs, _ := os.ReadDir(procsDir(root))
	if len(recs) != 1 {
		t.Fatalf("%d records of running commands, want 1", len(recs))
	}
	pgid, _ := strconv.Atoi(recs[0].Name())

	write(t, root, "inputs/n.txt", "30\n") // the survivor would outlive the rebuild
	opts := testOpts()
	res := mustBuild(t, root, opts)
	if alive := groupMembers(pgid); len(alive) > 0 {
		t.Fatalf("processes %v of the killed build's command outlived it", alive)
	}
	if len(res.Ran) != 1 {
		t.Fatalf("the killed node was not rerun: %+v", res)
	}
	got := read(t, root, "out/slow.txt")
	lines := strings.Split(strings.TrimSpace(got), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		if seen[l] {
			t.Fatalf("line %s twice: a writer of the killed build kept going:\n%s", l, got)
		}
		seen[l] = true
	}
	if len(lines) != 30 {
		t.Fatalf("%d lines, want 30:\n%s", len(lines), got)
	}
	// Nothing writes it after the build either.
	time.Sleep(300 * time.Millisecond)
	if again := read(t, root, "out/slow.txt"); again != got {
		t.Fatal("out/slow.txt changed after the build")
	}
}

// TestHelperBuild is the build TestKilledBuildLeavesNoWriter kills.
func TestHelperBuild(t *testing.T) {
	root := os.Getenv("BETHEL_TEST_BUILD_ROOT")
	if root == "" {
		t.Skip("run by TestKilledBuildLeavesNoWriter")
	}
	mustBuild(t, root, testOpts())
}

// groupMembers lists the live processes of group pgid.
func groupMembers(pgid int) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if pg, _, ok := procStat(pid); ok && pg == pgid && processExists(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func testOpts() Options { return Options{Version: "t", Registry: stage.NewRegistry()} }
