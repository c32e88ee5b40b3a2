package graph

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

// Query adjusts the stage.Run QueryRun gives a stage.
type Query struct {
	// Patches replaces the node's patch files (bethel patch evaluates a
	// patch file it has not written yet); nil keeps the node's own.
	Patches []string
	// FS is read instead of the workspace (an overlay holding such a
	// file); nil reads the workspace. Either way the stage may open only
	// the node's inputs and its patch files.
	FS fs.FS
	// Warnf receives the stage's warnings; nil drops them.
	Warnf func(format string, args ...any)
	// Upstream lets the stage also open the files the nodes upstream of
	// it read: a report that redoes their work to show what the next
	// build will find (bethel patches maps the export again instead of
	// trusting the stored table). Anything else is still refused.
	Upstream bool
	// Outputs lets the stage also open the node's own outputs as they
	// are on disk: a question about what it wrote (which cell of its CSV
	// a cell of its workbook shows, stage.CellMapper).
	Outputs bool
}

// QueryRun returns the stage.Run the engine gives node n's stage, for a
// question the CLI asks a stage outside a build (the program to lock, the
// status of every patch): the node's declared inputs, patches, params and
// visibility, the workspace's field and privacy declarations, and a file
// system that refuses what the node does not declare, exactly as in a
// build. It writes nothing: Create fails, and there is no lineage.
func QueryRun(p *pipeline.Pipeline, n *pipeline.Node, q Query) (*stage.Run, error) {
	if !n.IsStage() {
		return nil, fmt.Errorf("%s: node %s runs a command, not a stage", n.Pos, n.Name)
	}
	patches := n.PatchFiles
	if q.Patches != nil {
		patches = q.Patches
	}
	allowed := make(map[string]bool, len(n.InputFiles)+len(patches))
	for _, l := range [][]string{n.InputFiles, patches} {
		for _, f := range l {
			allowed[f] = true
		}
	}
	if q.Upstream {
		for _, u := range p.Closure(n) {
			for _, l := range [][]string{u.InputFiles, u.PatchFiles} {
				for _, f := range l {
					allowed[f] = true
				}
			}
		}
	}
	if q.Outputs {
		for _, o := range n.Outputs {
			allowed[o] = true
		}
	}
	fsys := q.FS
	if fsys == nil {
		fsys = os.DirFS(p.Root)
	}
	warnf := q.Warnf
	if warnf == nil {
		warnf = func(string, ...any) {}
	}
	return &stage.Run{
		Node:       n.Name,
		Inputs:     n.InputFiles,
		Patches:    patches,
		Outputs:    n.Outputs,
		Visibility: n.Visibility,
		Params:     n.Params,
		Declassify: n.Declassify,
		Fields:     p.Fields,
		Privacy:    p.Privacy,
		FS:         &declaredFS{fsys: fsys, node: n.Name, allowed: allowed},
		Create: func(path string) (io.Writer, error) {
			return nil, errors.New("node " + n.Name + ": a query writes no output")
		},
		Warnf: warnf,
	}, nil
}

// declaredFS is a file system that opens only the paths a node declares,
// as the engine's nodeFS does in a build.
type declaredFS struct {
	fsys    fs.FS
	node    string
	allowed map[string]bool
}

var _ fs.FS = (*declaredFS)(nil)

func (f *declaredFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) || !f.allowed[name] {
		return nil, &fs.PathError{Op: "open", Path: name,
			Err: fmt.Errorf("node %s may read only its declared inputs and patches; add %s to the node's inputs", f.node, name)}
	}
	return f.fsys.Open(name)
}
