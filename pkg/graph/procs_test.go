package graph

import (
	"context"
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
	running, _ := runningGroups(root)
	if len(running) != 1 {
		t.Fatalf("%d records of running commands, want 1", len(running))
	}
	var pgid int
	for pgid = range running {
	}

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

// TestRunningGroups reads process logs: a group is running from its start
// line until its end line, only this boot's count, and the one-file-per-
// group records of older builds still count.
func TestRunningGroups(t *testing.T) {
	boot := bootID()
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  map[int]uint64
	}{
		{"none", nil, map[int]uint64{}},
		{"ended groups are not running", map[string]string{
			"build": "100 " + boot + " 7\n200 " + boot + " 8\n-100\n300 " + boot + " 9\n-300\n",
		}, map[int]uint64{200: 8}},
		{"a number reused after its group ended", map[string]string{
			"build": "100 " + boot + " 7\n-100\n100 " + boot + " 12\n",
		}, map[int]uint64{100: 12}},
		{"another boot's groups are gone", map[string]string{
			"build": "100 other-boot 7\n",
		}, map[int]uint64{}},
		{"a torn last line", map[string]string{
			"build": "100 " + boot + " 7\n-10",
		}, map[int]uint64{100: 7}},
		{"an older build's record", map[string]string{
			"4242": "4242 " + boot + " 5\n",
		}, map[int]uint64{4242: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for name, c := range tc.files {
				write(t, root, filepath.ToSlash(filepath.Join(StateDir, "state", "procs", name)), c)
			}
			got, files := runningGroups(root)
			if len(got) != len(tc.want) {
				t.Fatalf("running %v, want %v", got, tc.want)
			}
			for pgid, start := range tc.want {
				if got[pgid] != start {
					t.Errorf("running %v, want %v", got, tc.want)
				}
			}
			if len(files) != len(tc.files) {
				t.Errorf("files %v, want %d", files, len(tc.files))
			}
		})
	}
}

// TestEndedGroupWrittenWithNext checks the log a build writes: a group's
// end line goes out with the next group's start line, and until then the
// group reads as running, as it would to the next build had this one been
// killed in between (which finds none of its processes).
func TestEndedGroupWrittenWithNext(t *testing.T) {
	root := t.TempDir()
	l := &procLog{root: root}
	defer l.close()
	running := func() map[int]uint64 {
		got, _ := runningGroups(root)
		return got
	}
	// The numbers are only written down: end would signal the group, so
	// the test queues its line by hand.
	pid := os.Getpid()
	if err := l.started(pid); err != nil {
		t.Fatal(err)
	}
	l.ended = append(l.ended, "-"+strconv.Itoa(pid)+"\n"...)
	if _, ok := running()[pid]; !ok {
		t.Fatalf("after the end, before the next start: running %v, want %d listed", running(), pid)
	}
	if err := l.started(1 << 30); err != nil {
		t.Fatal(err)
	}
	got := running()
	if _, ok := got[pid]; ok || len(got) != 1 {
		t.Errorf("after the next start: running %v, want only %d", got, 1<<30)
	}
}

// TestProcessLogRemoved checks that a build that ended leaves no process
// log: the next one has nothing to end.
func TestProcessLogRemoved(t *testing.T) {
	root := workspace(t, map[string]string{"pipeline.toml": `
[[node]]
name = "a"
run = "echo a > out/a.txt"
outputs = ["out/a.txt"]
`})
	mustBuild(t, root, testOpts())
	if ents, err := os.ReadDir(procsDir(root)); err != nil || len(ents) != 0 {
		t.Errorf("after the build, %s holds %v (%v)", procsDir(root), ents, err)
	}
}

// TestCommandOutput checks what a command prints: stdout and stderr in the
// order written, whether it succeeds or fails; a process that left the
// command's group while holding its output (setsid) adds nothing once the
// command has exited.
func TestCommandOutput(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	root := workspace(t, map[string]string{"pipeline.toml": `
[[node]]
name = "ok"
run = "echo one; echo two >&2; echo three; (setsid sh -c 'sleep 0.5; echo late' &); echo x > out/ok.txt"
outputs = ["out/ok.txt"]

[[node]]
name = "bad"
run = "echo before failing >&2; exit 3"
outputs = ["out/bad.txt"]
`})
	opts := testOpts()
	opts.KeepGoing = true
	printed := map[string]string{}
	opts.Events = func(ev Event) {
		if ev.Kind == Finish {
			printed[ev.Node] = string(ev.Stderr)
		}
	}
	Build(context.Background(), load(t, root, opts.Registry), opts)
	if got, want := printed["ok"], "one\ntwo\nthree\n"; got != want {
		t.Errorf("ok printed %q, want %q", got, want)
	}
	if got, want := printed["bad"], "before failing\n"; got != want {
		t.Errorf("bad printed %q, want %q", got, want)
	}
}

// TestInterruptEndsCommands cancels a build while its commands run, at
// -j 1 and -j 2: each command's whole group (the shell and the loop it
// started) is killed at once, so the build returns long before the loops
// would end, and its nodes fail as interrupted.
func TestInterruptEndsCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs commands for up to seconds")
	}
	for _, jobs := range []int{1, 2} {
		t.Run(strconv.Itoa(jobs), func(t *testing.T) {
			loop := "(exec 2>/dev/null; for i in $(seq 1 300); do echo line$i >> out/%s.txt; sleep 0.1; done); true"
			root := workspace(t, map[string]string{
				"pipeline.toml": `
[[node]]
name = "a"
run = "` + strings.ReplaceAll(loop, "%s", "a") + `"
inputs = ["inputs/n.txt"]
outputs = ["out/a.txt"]

[[node]]
name = "b"
run = "` + strings.ReplaceAll(loop, "%s", "b") + `"
inputs = ["inputs/n.txt"]
outputs = ["out/b.txt"]
`,
				"inputs/n.txt": "1\n",
			})
			opts := testOpts()
			opts.Jobs = jobs
			p := load(t, root, opts.Registry)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type result struct {
				res *Result
				err error
			}
			done := make(chan result, 1)
			go func() {
				res, err := Build(ctx, p, opts)
				done <- result{res, err}
			}()
			deadline := time.Now().Add(10 * time.Second)
			for {
				b, _ := os.ReadFile(filepath.Join(root, "out/a.txt"))
				if strings.Count(string(b), "\n") >= 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the command never started writing")
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			select {
			case r := <-done:
				if r.err == nil || len(r.res.Ran) != 0 {
					t.Errorf("interrupted build: ran %v, err %v", r.res.Ran, r.err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the build did not end after the interrupt: its command was not killed")
			}
		})
	}
}
