// Command bethel is a Make-style incremental build system with a
// content-addressed cache, made for event operations. See README.md.
//
// main parses nothing itself: it hands the arguments to Run and maps the
// returned error to an exit code (0 success, 1 build failed or stale, 2
// usage or pipeline error), so that every subcommand can be tested in
// process and the real binary behaves the same.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// command is one subcommand. Each lives in its own file and registers
// itself in init, so that subcommands can be added without touching this
// file.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
	// lateInterrupt: the command calls env.Interruptible itself, once it
	// starts work worth stopping cleanly (make: when a node is first
	// restored or run), instead of Run calling it first.
	lateInterrupt bool
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

// Env is the process environment a command runs in, so that tests can run
// commands in process with their own streams and directory.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Dir    string // working directory ("" = the process's)
	// IsTerminal reports whether Stdout is a terminal (progress lines are
	// only drawn on a terminal).
	IsTerminal bool
	// Interruptible, when set, makes SIGINT and SIGTERM cancel the
	// command's context from then on (see onInterrupt); nil in process.
	Interruptible func()
}

// ExitError carries an exit code; a command returns it to exit with a code
// other than the default for its error kind.
type ExitError struct {
	Code int
	Err  error // may be nil: the command already printed what it had to say
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// UsageError is a bad command line; it exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// defaultMemoryLimit is the soft heap limit bethel sets for itself when
// GOMEMLIMIT is not given. Stages hold a whole registration table in memory;
// without a limit the collector lets the heap grow to twice the live data
// before it runs, which at a million rows is most of the peak. A soft limit
// only makes the collector run sooner: a build that really needs more still
// gets it. Set too low, it costs time for nothing: with the review site a
// million-row build's live heap passes 768 MiB, the collector then runs
// without pause, and the build took 16.0 s at 970 MiB peak against 13.9 s
// at 953 MiB with 900 MiB (scripts/bench-stages.sh, SIZES=1000000).
const defaultMemoryLimit = 900 << 20

func main() {
	// `bethel version` and `bethel help` answer before anything else is
	// set up: they are what scripts run to find out whether bethel is
	// there, and what start-up is measured by.
	if len(os.Args) == 2 {
		switch os.Args[1] {
		case "version", "--version", "help", "-h", "-help", "--help":
			env := &Env{Stdout: os.Stdout, Stderr: os.Stderr}
			os.Exit(exitCode(env, Run(context.Background(), env, os.Args[1:])))
		}
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	// BETHEL_CPUPROFILE=FILE profiles a whole run (go tool pprof FILE):
	// the only way to see inside a build the way a user runs it.
	if f := os.Getenv("BETHEL_CPUPROFILE"); f != "" {
		if w, err := os.Create(f); err == nil {
			pprof.StartCPUProfile(w)
			defer w.Close()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	interruptible, stop := onInterrupt(cancel)
	env := &Env{Stdout: os.Stdout, Stderr: os.Stderr, IsTerminal: isTerminal(os.Stdout), Interruptible: interruptible}
	err := Run(ctx, env, os.Args[1:])
	stop()
	cancel()
	pprof.StopCPUProfile()
	code := exitCode(env, err)
	if f := os.Getenv("BETHEL_CPUPROFILE"); f != "" {
		fmt.Fprintf(env.Stderr, "bethel: CPU profile in %s\n", f)
	}
	os.Exit(code)
}

// onInterrupt returns interruptible, which makes SIGINT and SIGTERM
// cancel the context that cancel belongs to (as signal.NotifyContext
// does, later signals are then ignored), and stop, which gives them back
// their default action. Until interruptible is called they keep it: the
// process just ends, which is safe before a build writes anything.
// Installing the handler starts a locked thread and a goroutine, and the
// threads they need cost 0.3 to 0.45 ms of every start on a 2-CPU
// machine: more than `bethel version` or a small no-op make does.
func onInterrupt(cancel context.CancelFunc) (interruptible, stop func()) {
	var (
		once sync.Once
		ch   chan os.Signal
	)
	interruptible = func() {
		once.Do(func() {
			ch = make(chan os.Signal, 1)
			signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
			go func() {
				if _, ok := <-ch; ok {
					cancel()
				}
			}()
		})
	}
	stop = func() {
		once.Do(func() {}) // no handler from now on
		if ch != nil {
			signal.Stop(ch)
		}
	}
	return interruptible, stop
}

// exitCode prints err (unless it is a silent ExitError) and maps it to the
// process exit code.
func exitCode(env *Env, err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(env.Stderr, "bethel: %v\n", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(env.Stderr, "bethel: %v\n", err)
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintln(env.Stderr, "run 'bethel help' for usage")
		return 2
	}
	return 1
}

// Run runs the bethel command line args (without the program name).
func Run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		printHelp(env.Stderr)
		return &ExitError{Code: 2}
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		printHelp(env.Stdout)
		return nil
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "bethel", Version)
		return nil
	}
	c, ok := commands[name]
	if !ok {
		return usagef("unknown command %q", name)
	}
	if env.Interruptible != nil && !c.lateInterrupt {
		env.Interruptible()
	}
	return c.run(ctx, env, args[1:])
}

// Version is bethel's version; it salts every action key, so that a new
// bethel never trusts an older one's cache entries blindly.
const Version = "0.1.0"

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "bethel: incremental, content-addressed builds for event data")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: bethel <command> [flags] [args]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'bethel <command> -h' for a command's flags.")
}

// isTerminal reports whether f is a terminal. A character device is not
// enough (/dev/null is one); asking for the terminal's attributes is what
// tells them apart.
func isTerminal(f *os.File) bool {
	if strings.EqualFold(os.Getenv("TERM"), "dumb") {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	return err == nil
}
