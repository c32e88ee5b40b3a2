// Command benchgen generates layered benchmark workspaces and times build
// tools on them, for scripts/bench-engine.sh.
//
//	benchgen gen   -n 1000 -dir DIR [-log FILE]
//	benchgen bench -n 1000 -tool bethel|ninja|make|commands [-bethel PATH] [-runs 5] [-j 2]
//	benchgen overhead -n 1000 [-bethel PATH] [-base PATH] [-runs 5]
//	benchgen time [-runs 21] [-dir DIR] -- COMMAND [ARG...]
//
// bench prints one table row: medians over -runs runs of a full build, a
// no-op build, a build after touching every source, and a build after
// changing one source, with how many commands each of those ran (counted by
// a log every command appends to). Every full build's outputs are checked
// against the simulation of the graph. The tool "commands" runs every
// node's command with /bin/sh -c one after the other: the cost of the
// commands alone, to subtract from a -j 1 full build. overhead does that
// subtraction with the runs of the three interleaved (commands, bethel -j 1,
// ninja -j 1, and again), so that all three see the same machine load.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"bethel/pkg/graph/graphtest"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "gen":
		gen(os.Args[2:])
	case "bench":
		bench(os.Args[2:])
	case "overhead":
		overhead(os.Args[2:])
	case "time":
		timeCmd(os.Args[2:])
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchgen gen -n N -dir DIR [-log FILE]\n       benchgen bench -n N -tool bethel|ninja|make|commands [-bethel PATH] [-runs R] [-j J]")
	os.Exit(2)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchgen:", err)
	os.Exit(1)
}

func gen(args []string) {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	n := fs.Int("n", 1000, "number of nodes")
	dir := fs.String("dir", "", "directory to write the workspace into")
	log := fs.String("log", "", "file every command appends its node name to")
	fs.Parse(args)
	if *dir == "" {
		usage()
	}
	g := graphtest.Sized(*n)
	g.Log = *log
	if err := g.Write(*dir); err != nil {
		fatal(err)
	}
}

type tool struct {
	name   string
	dir    string // its workspace's name under overhead's directory, when not name
	argv   func(jobs int) []string
	g      graphtest.Layered
	bethel string
	out    string // what the last run printed
}

// forTool is the graph as tool t runs it: make, ninja and the bare
// commands append every node's name to log.txt, which counts what ran;
// bethel's command nodes run sandboxed and may write only their declared
// outputs, so bethel's own summary line counts them instead.
func forTool(g graphtest.Layered, name string) graphtest.Layered {
	g.Log = "log.txt"
	if name == "bethel" {
		g.Log = ""
	}
	return g
}

var ranRE = regexp.MustCompile(`(?m)^bethel: (\d+) ran, `)

// count returns how many commands the last run in dir ran.
func (t *tool) count(dir string) int {
	if t.name != "bethel" {
		return count(dir)
	}
	m := ranRE.FindStringSubmatch(t.out)
	if m == nil {
		fatal(fmt.Errorf("bethel printed no summary line:\n%s", t.out))
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func (t *tool) run(dir string, jobs int) (time.Duration, error) {
	if t.name == "commands" {
		start := time.Now()
		for _, n := range t.g.Graph() {
			cmd := exec.Command("/bin/sh", "-c", n.Cmd+" && echo "+n.Name+" >> log.txt")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				return 0, fmt.Errorf("%s: %v\n%s", n.Name, err, out)
			}
		}
		return time.Since(start), nil
	}
	argv := t.argv(jobs)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	t.out = out.String()
	if err != nil {
		return d, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out.String())
	}
	return d, nil
}

func count(dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, "log.txt"))
	os.Remove(filepath.Join(dir, "log.txt"))
	return bytes.Count(b, []byte("\n"))
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/1e6) }

func bench(args []string) {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	n := fs.Int("n", 1000, "number of nodes")
	name := fs.String("tool", "bethel", "bethel, ninja, make or commands")
	bethel := fs.String("bethel", "bethel", "path of the bethel binary")
	runs := fs.Int("runs", 5, "runs per measurement (the median is printed)")
	jobs := fs.Int("j", 2, "parallel jobs for every tool")
	label := fs.String("label", "", "the tool's name in the table (default: -tool)")
	fs.Parse(args)
	g := forTool(graphtest.Sized(*n), *name)
	t := &tool{name: *name, g: g, bethel: *bethel}
	switch *name {
	case "bethel":
		t.argv = func(j int) []string { return []string{*bethel, "make", "-j", fmt.Sprint(j)} }
	case "ninja":
		t.argv = func(j int) []string { return []string{"ninja", "-j", fmt.Sprint(j)} }
	case "make":
		// -r: no built-in rules, as the generated Makefile needs none
		// (make would otherwise try its implicit rules on every file).
		t.argv = func(j int) []string { return []string{"make", "-r", "-s", "-j", fmt.Sprint(j)} }
	case "commands":
	default:
		usage()
	}
	base, err := os.MkdirTemp("", "bethel-bench-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(base)
	dir := filepath.Join(base, "w")

	var full []time.Duration
	for r := 0; r < *runs; r++ {
		os.RemoveAll(dir)
		if err := g.Write(dir); err != nil {
			fatal(err)
		}
		d, err := t.run(dir, *jobs)
		if err != nil {
			fatal(err)
		}
		full = append(full, d)
		if c := t.count(dir); c != *n {
			fatal(fmt.Errorf("%s full build ran %d commands, want %d", *name, c, *n))
		}
		check(g, dir)
	}
	if *name == "commands" {
		fmt.Printf("%-6d %-12s %9s\n", *n, *name, ms(median(full)))
		return
	}
	// The workspace of the last full build stays for the other measures.
	measure := func(prep func(r int)) (time.Duration, int) {
		var ds []time.Duration
		cmds := 0
		for r := 0; r < *runs; r++ {
			prep(r)
			d, err := t.run(dir, *jobs)
			if err != nil {
				fatal(err)
			}
			ds = append(ds, d)
			cmds = max(cmds, t.count(dir))
		}
		return median(ds), cmds
	}
	noop, noopCmds := measure(func(int) {})
	touch, touchCmds := measure(func(int) {
		now := time.Now()
		for _, s := range g.Sources() {
			os.Chtimes(filepath.Join(dir, s), now, now)
		}
	})
	change, changeCmds := measure(func(r int) {
		f, err := os.OpenFile(filepath.Join(dir, "src/s0.txt"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			fatal(err)
		}
		fmt.Fprintf(f, "change %d\n", r)
		f.Close()
	})
	check(g, dir)
	if *label == "" {
		*label = *name
	}
	fmt.Printf("%-6d %-12s %9s %9s %9s %6d %9s %6d %6d\n", *n, *label, ms(median(full)), ms(noop), ms(touch), touchCmds, ms(change), changeCmds, noopCmds)
}

func overhead(args []string) {
	fs := flag.NewFlagSet("overhead", flag.ExitOnError)
	n := fs.Int("n", 1000, "number of nodes")
	bethel := fs.String("bethel", "bethel", "path of the bethel binary")
	base := fs.String("base", "", "path of another bethel binary, measured in the same rounds (two more columns)")
	runs := fs.Int("runs", 5, "rounds (the median is printed)")
	fs.Parse(args)
	g := graphtest.Sized(*n)
	tools := []*tool{
		{name: "commands", g: forTool(g, "commands")},
		{name: "bethel", g: forTool(g, "bethel"), argv: func(int) []string { return []string{*bethel, "make", "-j", "1"} }},
		{name: "ninja", g: forTool(g, "ninja"), argv: func(int) []string { return []string{"ninja", "-j", "1"} }},
	}
	if *base != "" {
		// Its runs count as bethel's (the summary line); its directory
		// is its own.
		tools = append(tools, &tool{name: "bethel", dir: "bethel-base", g: forTool(g, "bethel"), argv: func(int) []string { return []string{*base, "make", "-j", "1"} }})
	}
	tmp, err := os.MkdirTemp("", "bethel-bench-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	times := make([][]time.Duration, len(tools))
	for r := 0; r < *runs; r++ {
		for i, t := range tools {
			dir := filepath.Join(tmp, t.name)
			if t.dir != "" {
				dir = filepath.Join(tmp, t.dir)
			}
			os.RemoveAll(dir)
			if err := t.g.Write(dir); err != nil {
				fatal(err)
			}
			d, err := t.run(dir, 1)
			if err != nil {
				fatal(err)
			}
			if c := t.count(dir); c != *n {
				fatal(fmt.Errorf("%s ran %d commands, want %d", t.name, c, *n))
			}
			check(g, dir)
			times[i] = append(times[i], d)
		}
	}
	cmds := median(times[0])
	per := func(d time.Duration) string {
		return fmt.Sprintf("%+.3f", float64(d-cmds)/1e6/float64(*n))
	}
	if *base == "" {
		fmt.Printf("%-6d %9s %9s %9s %12s %12s\n", *n, ms(cmds), ms(median(times[1])), ms(median(times[2])), per(median(times[1])), per(median(times[2])))
		return
	}
	fmt.Printf("%-6d %9s %9s %9s %9s %12s %12s %12s\n", *n, ms(cmds), ms(median(times[1])), ms(median(times[3])), ms(median(times[2])),
		per(median(times[1])), per(median(times[3])), per(median(times[2])))
}

// timeCmd prints the median wall time of running a command (fork, exec,
// run, wait), with /bin/true's for reference.
func timeCmd(args []string) {
	fs := flag.NewFlagSet("time", flag.ExitOnError)
	runs := fs.Int("runs", 21, "runs (the median is printed)")
	dir := fs.String("dir", ".", "directory to run in")
	ref := fs.String("ref", "/bin/true", "the reference command to compare with (split at spaces)")
	prep := fs.String("prep", "", "a command (split at spaces) run untimed before every timed one")
	fs.Parse(args)
	argv := fs.Args()
	if len(argv) == 0 {
		usage()
	}
	// Alternate the two so that both see the same machine load.
	var ds, bs []time.Duration
	refArgv := strings.Fields(*ref)
	timed := func(argv []string) time.Duration {
		if *prep != "" {
			timeOnce(*dir, strings.Fields(*prep))
		}
		return timeOnce(*dir, argv)
	}
	for r := 0; r < *runs; r++ {
		bs = append(bs, timed(refArgv))
		ds = append(ds, timed(argv))
	}
	base, d := median(bs), median(ds)
	refName := strings.Join(append([]string{filepath.Base(refArgv[0])}, refArgv[1:]...), " ")
	fmt.Printf("%-40s %8s ms  (%s %s ms, difference %s ms)\n", strings.Join(argv, " "), ms(d), refName, ms(base), ms(d-base))
}

// timeOnce is one timed run of argv in dir.
func timeOnce(dir string, argv []string) time.Duration {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		fatal(fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out))
	}
	return time.Since(start)
}

func check(g graphtest.Layered, dir string) {
	want, err := g.Expected(dir)
	if err != nil {
		fatal(err)
	}
	for p, c := range want {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || string(b) != c {
			fatal(fmt.Errorf("%s: wrong content after the build", p))
		}
	}
}
