package graph

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"bethel/pkg/cache"
	"bethel/pkg/graphfile"
	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

// Engine artifacts (stage.GraphInput, stage.LineagePrefix+path): what the
// engine knows, handed to the stage nodes that declare them as ordinary
// inputs. Each has a content hash that enters the node's key as an input
// line, and bytes the node's FS serves; nothing else about them is
// special. Volatile facts (when a node ran, whether it was restored) are
// in neither, so a rerun upstream that changes nothing they hold leaves
// their readers up to date.

// emptySum is the hash of an empty artifact: an output without lineage.
var emptySum = cache.Sum(nil)

// graphDoc is the static graph in graphfile's form, made once per build.
func (e *engine) graphDoc() []byte {
	e.graphOnce.Do(func() {
		nodes := make([]graphfile.Node, 0, len(e.p.Order))
		for _, n := range e.p.Order {
			g := graphfile.Node{
				Name: n.Name, Stage: n.Stage, Command: n.Run,
				Inputs: n.InputFiles, Patches: n.PatchFiles, Outputs: n.Outputs,
				Visibility: string(n.Visibility), Declassify: n.Declassify,
			}
			if st, ok := e.opts.Registry.Lookup(n.Stage); ok && n.IsStage() {
				g.StageVersion = st.Version()
			}
			for _, d := range n.Deps {
				g.Deps = append(g.Deps, d.Name)
			}
			slices.Sort(g.Deps)
			g.Deps = slices.Compact(g.Deps)
			nodes = append(nodes, g)
		}
		e.graph = graphfile.Encode(nodes)
	})
	return e.graph
}

// engineInput returns the hash of an engine artifact as node n reads it.
// It is called once n's dependencies are decided, so the journal holds
// this build's record of every writer upstream. pending names the node a
// dry run would rebuild first, which leaves the artifact unknown.
func (e *engine) engineInput(n *pipeline.Node, p string) (h cache.Hash, pending string, err error) {
	if p == stage.GraphInput {
		return cache.Sum(e.graphDoc()), "", nil
	}
	o, ok := strings.CutPrefix(p, stage.LineagePrefix)
	u := e.p.Producer[o]
	if !ok || u == nil {
		return cache.Hash{}, "", fmt.Errorf("node %s: %s is not an engine artifact", n.Name, p)
	}
	if v := e.file(o); v.pending != "" {
		return cache.Hash{}, v.pending, nil
	}
	if h, ok := e.lineageOf(u)[o]; ok {
		return h, "", nil
	}
	return emptySum, "", nil
}

// readEngineInput returns the bytes of an engine artifact: the graph, or
// a lineage blob read from the cache (verified against its hash there).
func (e *engine) readEngineInput(n *pipeline.Node, p string) ([]byte, error) {
	if p == stage.GraphInput {
		return e.graphDoc(), nil
	}
	h, _, err := e.engineInput(n, p)
	if err != nil {
		return nil, err
	}
	if h == emptySum {
		return nil, nil
	}
	data, err := e.store.ReadBlob(h)
	if err != nil {
		return nil, fmt.Errorf("%s is not in the cache (%w); run bethel make again", p, err)
	}
	return data, nil
}

// lineageOf returns the lineage blob of each output of u as its last
// build recorded it (from the journal's key and that action's manifest).
func (e *engine) lineageOf(u *pipeline.Node) map[string]cache.Hash {
	// u's journal record and manifest are written in the background
	// after it runs (run): wait for them.
	if ch, ok := e.recorded.Load(u); ok {
		e.bg.runHeld() // -j 1: u's job may be held for this goroutine
		<-ch.(chan struct{})
	}
	st, ok := e.j.get(u.Name)
	if !ok || st.interrupted {
		return nil
	}
	m, err := e.store.GetManifest(st.key)
	if err != nil {
		return nil
	}
	out := map[string]cache.Hash{}
	for _, x := range m.Extra {
		if p, ok := strings.CutPrefix(x.Name, lineageExtraPrefix); ok {
			out[p] = x.Hash
		}
	}
	return out
}

// memFile is an engine artifact opened through a node's FS.
type memFile struct {
	name string
	*bytes.Reader
}

var _ fs.File = (*memFile)(nil)

func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{f}, nil }
func (f *memFile) Close() error               { return nil }

type memInfo struct{ f *memFile }

func (i memInfo) Name() string       { return i.f.name }
func (i memInfo) Size() int64        { return i.f.Reader.Size() }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// openEngineInput opens an engine artifact for a stage.
func (e *engine) openEngineInput(n *pipeline.Node, p string) (fs.File, error) {
	data, err := e.readEngineInput(n, p)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return &memFile{name: p, Reader: bytes.NewReader(data)}, nil
}

// ArtifactsEnv is the environment variable that tells a command node where
// its engine artifacts are: a directory that holds each one it declares as
// a read-only file, named by artifactFile.
const ArtifactsEnv = "BETHEL_ARTIFACTS"

// artifactFile is where an engine artifact lies under a command's
// ArtifactsEnv directory: graph: is "graph", lineage:PATH is
// "lineage/PATH". The artifact's name with its colon made a slash, so a
// command names it as plainly as a file.
func artifactFile(p string) string {
	if p == stage.GraphInput {
		return "graph"
	}
	return "lineage/" + strings.TrimPrefix(p, stage.LineagePrefix)
}

// materialize writes the engine artifacts command node n declares into a
// fresh directory of their own, each file read-only and holding the bytes
// whose hash is in n's key. The sandbox grants n only reading beneath
// that directory; remove deletes it once the command has ended. The
// directory's path is not in the key: it is a different one every run.
func (e *engine) materialize(n *pipeline.Node) (dir string, remove func(), err error) {
	dir, err = e.tmp.mkdirTemp("artifacts-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	for _, p := range n.EngineInputs {
		data, err := e.readEngineInput(n, p)
		if err != nil {
			remove()
			return "", nil, err
		}
		f := filepath.Join(dir, filepath.FromSlash(artifactFile(p)))
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			remove()
			return "", nil, err
		}
		if err := os.WriteFile(f, data, 0o444); err != nil {
			remove()
			return "", nil, err
		}
	}
	return dir, remove, nil
}
