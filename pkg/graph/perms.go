package graph

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

// Permissions. Private outputs are written 0600 and bethel's state
// directories created 0700; a later chmod (or a restore from a backup, an
// editor's save) can widen them without changing a byte, which no action
// key sees. Every build that decides nodes puts them back, and says so.

// stateDirs are the directories of bethel's state, relative to the root.
var stateDirs = []string{StateDir, StateDir + "/cache", StateDir + "/state"}

// tightenState puts the state directories back to 0700 and returns a
// warning for each that was wider.
func tightenState(root string) []string {
	var warn []string
	for _, d := range stateDirs {
		abs := filepath.Join(root, filepath.FromSlash(d))
		fi, err := os.Lstat(abs)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() == 0o700 {
			continue
		}
		if err := os.Chmod(abs, 0o700); err == nil {
			warn = append(warn, fmt.Sprintf("%s/ was mode %04o: bethel's cache and state are the owner's alone; set back to 0700", d, fi.Mode().Perm()))
		}
	}
	return warn
}

// permNotes holds warnings of the whole build, given to the first node
// decided so that the CLI shows them.
type permNotes struct {
	mu   sync.Mutex
	list []string
}

func (p *permNotes) add(w ...string) {
	p.mu.Lock()
	p.list = append(p.list, w...)
	p.mu.Unlock()
}

func (p *permNotes) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.list
	p.list = nil
	return w
}

// tightenOutputs puts an up-to-date private node's outputs back to 0600
// and returns a warning for each that was wider.
func (e *engine) tightenOutputs(n *pipeline.Node) []string {
	w := e.notes.take()
	if n.Visibility != stage.Private {
		return w
	}
	for _, o := range n.Outputs {
		abs := e.abs(o)
		fi, err := os.Lstat(abs)
		if err != nil || fi.Mode()&fs.ModeType != 0 || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(abs, 0o600); err == nil {
			w = append(w, fmt.Sprintf("%s is private but was mode %04o: set back to 0600", o, fi.Mode().Perm()))
		}
	}
	return w
}
