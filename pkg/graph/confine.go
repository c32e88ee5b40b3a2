package graph

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"syscall"

	"bethel/pkg/cache"
	"bethel/pkg/pipeline"
	"bethel/pkg/sandbox"
	"bethel/pkg/stage"
)

// commandFor prepares a command node's process: confined by pkg/sandbox
// (its declared inputs and patches readable, its declared outputs
// writable, a private temporary directory, an environment of the
// sandbox's allowlist and the node's `env`). Where the kernel cannot
// confine it, a node that reads a private file is refused unless the
// privacy declaration says `unsandboxed = "reason"`; others run unconfined
// with a note. done removes the temporary directory and any declared
// output the command never wrote (the sandbox creates them empty
// beforehand, since it can allow only files that exist: renamed from
// e.spares where one is ready), and the engine
// artifacts the node declares, written for it to read (materialize);
// they are written only once the command may run. note is printed with
// the node's output. spec is nil when the command runs unconfined.
// The temporary directory is lent by e.tmp (tmpDirs) and given back by
// done.
func (e *engine) commandFor(ctx context.Context, n *pipeline.Node) (cmd *exec.Cmd, spec *sandbox.Spec, done func(), note string, err error) {
	tmp, err := e.tmp.get()
	if err != nil {
		return nil, nil, nil, "", err
	}
	script := n.Run
	if n.Visibility == stage.Private {
		// Private outputs must never exist with a readable mode, not even
		// between the command writing them and bethel's chmod.
		script = "umask 077\n" + script
	}
	cmd = exec.CommandContext(ctx, "/bin/sh", "-c", script)
	cmd.Dir = e.root
	cmd.Env = sandbox.Environ(os.LookupEnv, n.Env, tmp)
	putTmp := func() { e.tmp.put(tmp) }
	why := sandboxAvailable()
	if why != nil {
		if f := e.privateRead(n); f != "" && e.decl.Unsandboxed == "" {
			putTmp()
			return nil, nil, nil, "", fmt.Errorf("reads private %s, and commands cannot be confined here (%v): refusing to run it unconfined; "+
				"state why it may run anyway with unsandboxed = \"<reason>\" in the privacy declaration", f, why)
		}
	}
	artifacts := ""
	if len(n.EngineInputs) > 0 {
		dir, remove, err := e.materialize(n)
		if err != nil {
			putTmp()
			return nil, nil, nil, "", fmt.Errorf("engine artifacts: %w", err)
		}
		artifacts = dir
		putTmp = func() { e.tmp.put(tmp); remove() }
		cmd.Env = append(cmd.Env, ArtifactsEnv+"="+dir)
		sort.Strings(cmd.Env)
	}
	if why != nil {
		return cmd, nil, putTmp, fmt.Sprintf("warning: command runs unconfined: %v\n", why), nil
	}
	spec = &sandbox.Spec{Tmp: tmp}
	dirs := map[string]bool{}
	for _, l := range [][]string{n.InputFiles, n.PatchFiles} {
		for _, p := range l {
			spec.Read = append(spec.Read, e.abs(p))
			dirs[path.Dir(p)] = true
		}
	}
	for _, l := range [][]string{n.Inputs, n.Patches} {
		for _, g := range l {
			if i := strings.IndexAny(g, "*?["); i >= 0 {
				dirs[path.Dir(g[:i]+"x")] = true
			}
		}
	}
	delete(dirs, ".") // the workspace's own listing stays closed
	for d := range dirs {
		spec.List = append(spec.List, e.abs(d))
	}
	if artifacts != "" {
		// Read and list beneath it; nothing there is writable.
		spec.Read = append(spec.Read, artifacts)
		spec.List = append(spec.List, artifacts)
	}
	sort.Strings(spec.List)
	perm := outputPerm(n)
	made := make([]os.FileInfo, len(n.Outputs))
	for i, o := range n.Outputs {
		abs := e.abs(o)
		var err error
		if !e.spares.take(abs, perm) {
			// A bare open and close: os.OpenFile would also try the file
			// with the poller, five more system calls for a file never
			// written here.
			var fd int
			if fd, err = syscall.Open(abs, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_CLOEXEC, uint32(perm)); err == nil {
				syscall.Close(fd)
			} else {
				err = &fs.PathError{Op: "open", Path: abs, Err: err}
			}
		}
		if err == nil {
			made[i], err = os.Lstat(abs)
		}
		if err != nil {
			putTmp()
			return nil, nil, nil, "", err
		}
		spec.Write = append(spec.Write, abs)
	}
	done = func() {
		putTmp()
		for i, o := range n.Outputs {
			if st, err := os.Lstat(e.abs(o)); err == nil && os.SameFile(st, made[i]) && st.Size() == 0 &&
				st.ModTime().Equal(made[i].ModTime()) {
				os.Remove(e.abs(o)) // never opened for writing: not written
			}
		}
	}
	return cmd, spec, done, "", nil
}

// envKey is the action key's line for a declared environment variable:
// its name and a short hash of its value, never the value itself (a token
// must not land in the cache's manifests).
func envKey(name string) string {
	if v, ok := os.LookupEnv(name); ok {
		return name + "=" + cache.Sum([]byte(name+"="+v)).Short()
	}
	return name + "=-"
}

// sandboxAvailable is sandbox.Available; tests replace it to see what
// happens on a system without Landlock.
var sandboxAvailable = sandbox.Available

// privateRead returns a file the node reads whose level is private, or "":
// the lineage of a private output counts as one.
func (e *engine) privateRead(n *pipeline.Node) string {
	for _, p := range n.EngineInputs {
		if o, ok := strings.CutPrefix(p, stage.LineagePrefix); ok {
			if w := e.p.Producer[o]; w != nil && w.Visibility == stage.Private {
				return p
			}
		}
	}
	for _, l := range [][]string{n.InputFiles, n.PatchFiles} {
		for _, f := range l {
			if w := e.p.Producer[f]; w != nil {
				if w.Visibility == stage.Private {
					return f
				}
				continue
			}
			if lv, _ := e.decl.SourceLevel(f); lv == stage.Private {
				return f
			}
		}
	}
	return ""
}
