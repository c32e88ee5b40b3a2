package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"bethel/pkg/cache"
	"bethel/pkg/pipeline"
	"bethel/pkg/sandbox"
	"bethel/pkg/stage"
)

// runCommand runs a command node with /bin/sh -c from the workspace root,
// confined (see commandFor). Its declared outputs are removed first, so
// that "exit 0 and every output exists" proves the command wrote them. The command writes its outputs
// itself, so bethel cannot make those writes atomic; the journal's start
// record makes the next build rerun a node whose run did not finish.
func (e *engine) runCommand(ctx context.Context, n *pipeline.Node) (map[string]cache.Hash, nodeOutput, error) {
	for _, o := range n.Outputs {
		abs := e.abs(o)
		if err := e.mkdirOnce(filepath.Dir(abs)); err != nil {
			return nil, nodeOutput{}, fmt.Errorf("node %s: %v", n.Name, err)
		}
		// A bare unlink first: os.Remove also tries rmdir when unlink
		// fails, which for the usual missing output is a second call.
		if err := syscall.Unlink(abs); err != nil && err != syscall.ENOENT {
			if err := os.Remove(abs); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, nodeOutput{}, fmt.Errorf("node %s: %v", n.Name, err)
			}
		}
	}
	cmd, spec, done, note, err := e.commandFor(ctx, n)
	if err != nil {
		return nil, nodeOutput{}, fmt.Errorf("node %s: %w", n.Name, err)
	}
	var buf bytes.Buffer
	buf.WriteString(note)
	err = e.runGroup(cmd, spec, &buf, func() {
		if spec != nil {
			// The rules every command shares, made ahead.
			sandbox.Prime()
		}
		if spec != nil && e.inline {
			// The next command's outputs, made while this one runs
			// (-j 1: a processor is free for it meanwhile; with more
			// jobs the other commands keep every processor busy, and a
			// spare would only add its rename).
			e.spares.fill(outputPerm(n), len(n.Outputs))
		}
		// And its temporary directory, checked.
		e.tmp.tidy()
	})
	done()
	if err == nil {
		// Its group is gone, so nothing of the command writes its outputs
		// any more: backdated, their stat data is trusted from the hash
		// below on, and the nodes that read them do not hash them again.
		for _, o := range n.Outputs {
			cache.Backdate(e.abs(o))
		}
	}
	out := nodeOutput{stderr: buf.Bytes()}
	hashes := make(map[string]cache.Hash, len(n.Outputs))
	for _, o := range n.Outputs {
		h, _, herr := e.stat.Hash(o, e.abs(o))
		if herr == nil {
			hashes[o] = h
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return hashes, out, fmt.Errorf("node %s: interrupted", n.Name)
		}
		return hashes, out, fmt.Errorf("node %s: command failed: %v", n.Name, err)
	}
	var missing []string
	for _, o := range n.Outputs {
		if _, ok := hashes[o]; !ok {
			missing = append(missing, o)
		}
	}
	if len(missing) > 0 {
		return hashes, out, fmt.Errorf("node %s: command exited 0 but did not write declared output %s", n.Name, joinPaths(missing))
	}
	if n.Visibility == stage.Private {
		for _, o := range n.Outputs {
			if err := os.Chmod(e.abs(o), 0o600); err != nil {
				return hashes, out, fmt.Errorf("node %s: %v", n.Name, err)
			}
		}
	}
	return hashes, out, nil
}

func joinPaths(ps []string) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += p
	}
	return s
}

// runStage runs a built-in stage. Its outputs go to temporary files that
// are renamed into place only if the stage succeeds and wrote all of them.
//
// reads are the node's inputs and patches with the hashes its key was made
// of; the stage may ask for them (stage.Run.Sum) instead of rehashing.
//
// stamps are the outputs' modification times as committed (see
// cache.File.Backdate), for the stat cache.
func (e *engine) runStage(ctx context.Context, n *pipeline.Node, reads []readFile) (hashes map[string]cache.Hash, stamps map[string]int64, out nodeOutput, err error) {
	st, ok := e.opts.Registry.Lookup(n.Stage)
	if !ok {
		return nil, nil, out, fmt.Errorf("%s: node %s: unknown stage %q", n.Pos, n.Name, n.Stage)
	}
	declared := make(map[string]bool, len(n.Outputs))
	for _, o := range n.Outputs {
		declared[o] = true
	}
	var (
		mu    sync.Mutex
		files = make(map[string]*cache.File, len(n.Outputs))
		warn  bytes.Buffer
	)
	defer func() {
		for _, f := range files {
			f.Abort() // no-op for committed files
		}
	}()
	allowed := make(map[string]bool, len(n.InputFiles)+len(n.PatchFiles)+len(n.EngineInputs))
	inputs := n.InputFiles
	if len(n.EngineInputs) > 0 {
		inputs = append(slices.Clip(n.InputFiles), n.EngineInputs...)
	}
	for _, p := range inputs {
		allowed[p] = true
	}
	for _, p := range n.PatchFiles {
		allowed[p] = true
	}
	run := &stage.Run{
		Node:       n.Name,
		Inputs:     inputs,
		Patches:    n.PatchFiles,
		Outputs:    n.Outputs,
		Visibility: n.Visibility,
		Params:     n.Params,
		Declassify: n.Declassify,
		Fields:     e.p.Fields,
		Privacy:    e.p.Privacy,
		FS:         &nodeFS{root: e.root, node: n.Name, allowed: allowed, e: e, n: n},
		Create: func(p string) (io.Writer, error) {
			mu.Lock()
			defer mu.Unlock()
			if !declared[p] {
				return nil, fmt.Errorf("node %s: stage tried to write %s, which is not a declared output", n.Name, p)
			}
			if files[p] != nil {
				return nil, fmt.Errorf("node %s: stage created output %s twice", n.Name, p)
			}
			abs := e.abs(p)
			if err := e.mkdirOnce(filepath.Dir(abs)); err != nil {
				return nil, err
			}
			f, err := cache.Create(abs, outputPerm(n))
			if err != nil {
				return nil, err
			}
			f.NoSync = true
			f.Backdate = true // recorded in the stat cache right after the run
			files[p] = f
			return f, nil
		},
		Sum: func(p string) ([32]byte, bool) {
			for _, f := range reads {
				if f.path == p {
					return f.h, true
				}
			}
			if allowed[p] && stage.IsEngineInput(p) {
				if h, pending, err := e.engineInput(n, p); err == nil && pending == "" {
					return h, true
				}
			}
			return [32]byte{}, false
		},
		Lineage: e.lineageFunc(n, declared),
		Warnf: func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(&warn, "warning: "+format+"\n", args...)
		},
	}
	err = runSafely(ctx, st, run)
	out.stderr = warn.Bytes()
	if err != nil {
		return nil, nil, out, fmt.Errorf("node %s: %w", n.Name, err)
	}
	var missing []string
	for _, o := range n.Outputs {
		if files[o] == nil {
			missing = append(missing, o)
		}
	}
	if len(missing) > 0 {
		return nil, nil, out, fmt.Errorf("node %s: stage %s did not write declared output %s", n.Name, n.Stage, joinPaths(missing))
	}
	hashes = make(map[string]cache.Hash, len(n.Outputs))
	stamps = make(map[string]int64, len(n.Outputs))
	for _, o := range n.Outputs {
		f := files[o]
		h, _ := f.Sum()
		if err := f.Commit(); err != nil {
			return hashes, stamps, out, fmt.Errorf("node %s: output %s: %v", n.Name, o, err)
		}
		hashes[o] = h
		stamps[o] = f.Stamp()
	}
	return hashes, stamps, out, nil
}

// runSafely turns a stage's panic into an error naming the stage, so one
// buggy stage fails its node instead of the whole build.
func runSafely(ctx context.Context, st stage.Stage, r *stage.Run) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("stage %s panicked: %v", st.Name(), p)
		}
	}()
	return st.Run(ctx, r)
}

// nodeFS is the workspace as a stage sees it: only the node's declared
// inputs and patches can be opened, because a read the action key does not
// cover would let a stale result pass for up to date.
type nodeFS struct {
	root    string
	node    string
	allowed map[string]bool
	// e and n serve the node's engine artifacts; nil outside a build.
	e *engine
	n *pipeline.Node
}

var _ fs.FS = (*nodeFS)(nil)

func (f *nodeFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) || !f.allowed[name] {
		return nil, &fs.PathError{Op: "open", Path: name,
			Err: fmt.Errorf("node %s may read only its declared inputs and patches; add %s to the node's inputs", f.node, name)}
	}
	if f.e != nil && stage.IsEngineInput(name) {
		return f.e.openEngineInput(f.n, name)
	}
	return os.Open(filepath.Join(f.root, filepath.FromSlash(name)))
}

func killGroup(pid int) error {
	return syscall.Kill(-pid, syscall.SIGKILL)
}

// runGroup runs cmd in a process group of its own, recorded while it runs
// in the build's process log (procs.go), with its output collected into
// buf. When the command exits, whatever it left running in its group is
// killed: a command's work ends when it does, and a straggler must not
// write its outputs later. With a spec, the command is started from a
// thread confined to it (sandbox.Start) and waited for here, unconfined,
// like everything else. during runs once the command has started, while
// it runs.
//
// The command's stdout and stderr go to one file in memory (outputFile),
// read once the command has exited: unlike a pipe it needs no goroutine
// copying while the command runs, and no waiting for the end of the stream
// that a process which left the group (setsid) could hold open.
func (e *engine) runGroup(cmd *exec.Cmd, spec *sandbox.Spec, buf *bytes.Buffer, during func()) error {
	out, err := outputFile()
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if in, err := devNull(); err == nil {
		cmd.Stdin = in
	}
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	if spec == nil {
		err = cmd.Start()
	} else {
		err = sandbox.Start(spec, func() (int, error) {
			if err := cmd.Start(); err != nil {
				return 0, err
			}
			return cmd.Process.Pid, nil
		})
	}
	if err != nil {
		return err
	}
	rerr := e.procs.started(cmd.Process.Pid)
	// While the command runs: during, then the last node's recording,
	// held at -j 1.
	during()
	e.bg.runHeld()
	err = cmd.Wait()
	if rerr == nil {
		e.procs.end(cmd.Process.Pid)
	} else {
		killGroup(cmd.Process.Pid)
	}
	// Read at offsets (pread): no seek back first, and a command that
	// printed nothing costs one read.
	var chunk [4096]byte
	for off := int64(0); ; {
		k, rerr := out.ReadAt(chunk[:], off)
		buf.Write(chunk[:k])
		off += int64(k)
		if rerr != nil {
			break
		}
	}
	return err
}

// devNull is every command's standard input, opened once for the process
// and shared (each child gets its own copy of the descriptor). Left nil,
// os/exec would open and close /dev/null for every command: six system
// calls on the path between two commands.
var devNull = sync.OnceValues(func() (*os.File, error) { return os.Open(os.DevNull) })

// outputFile is a file for a command's output, removed from the file
// system (or never in it) so that closing it frees it: a memory file
// where the kernel has them (memfd_create), an unlinked temporary file
// otherwise.
func outputFile() (*os.File, error) {
	if f := memfd("bethel-output"); f != nil {
		return f, nil
	}
	f, err := os.CreateTemp("", "bethel-output-")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return f, nil
}
