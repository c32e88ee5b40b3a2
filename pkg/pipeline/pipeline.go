// Package pipeline loads and validates pipeline.toml: the declarative DAG of
// an event workspace. Loading is strict (unknown keys, wrong types, missing
// fields, keys that differ only in case are errors with file:line), expands
// globs in a fixed order, derives edges from paths, and rejects cycles, two
// writers of one path, outputs under inputs/ and missing source files before
// anything runs. It knows nothing of the cache or of what stages do.
package pipeline

import (
	"bethel/pkg/pos"
	"bethel/pkg/stage"
	"path/filepath"
)

// Pipeline is a loaded, validated pipeline.
type Pipeline struct {
	// Root is the absolute workspace directory; every path below is
	// relative to it, with forward slashes.
	Root string
	// File is the pipeline file, relative to Root (normally "pipeline.toml").
	File string
	// Nodes are in file order.
	Nodes []*Node
	// Order is Nodes in a topological order (dependencies first, ties broken
	// by file order), so that iteration is deterministic.
	Order []*Node
	// Producer maps an output path to the node that writes it.
	Producer map[string]*Node
	// Sources are the files no node writes, that some node reads (inputs
	// and patches after glob expansion), sorted.
	Sources []string
	// Globs are every input and patch glob pattern, for watchers that must
	// notice a new file that matches one.
	Globs []string
	// Report is where the CLI writes the build report after every build
	// (top-level `report = "out/site/build.js"`); empty for none.
	Report string
	// Fields and Privacy are the workspace's one privacy declaration:
	// the field model (top-level `fields`, default config/fields.toml)
	// and the privacy file (top-level `privacy`, default
	// config/privacy.toml). Each is empty when not declared and the
	// default file does not exist. Every node reads both (they are
	// added to its InputFiles), and no node may read another file of
	// the same name.
	Fields  string
	Privacy string
	// Links are the sources whose path goes through a symbolic link,
	// sorted. Where a link points can change without the pipeline
	// changing, so the engine resolves them before every build and
	// refuses one that leads outside the workspace, or into out/ or
	// .bethel/ (a private output laundered as a source).
	Links []string
	// Files and FileRefs list the files the nodes name, for the engine,
	// which stats them all at the start of every build: Files holds every
	// input, patch and output path once, in the order Order first names
	// them (each node's InputFiles, PatchFiles, then Outputs); FileRefs
	// holds, in that same order of mention, each mention's index in
	// Files. They come with the pipeline (the compiled cache stores them)
	// so that a no-op build need not find the duplicates itself: 2450
	// map lookups at 1000 nodes. Both nil when no node names a
	// file, or for a Pipeline not made by Load or LoadCached.
	Files    []string
	FileRefs []int32
	// SourceSum is the SHA-256 of the pipeline file's content as loaded
	// (zero for a Pipeline not made by Load or LoadCached): the engine's
	// no-op fingerprint names the pipeline by it instead of reading and
	// hashing the file again.
	SourceSum [32]byte
}

// Node is one [[node]] of pipeline.toml.
type Node struct {
	Name string
	// Description is free text for people (`bethel graph` shows it).
	Description string
	// Exactly one of Stage and Run is set.
	Stage string
	Run   string
	// Inputs and Patches are as written (paths or globs); InputFiles and
	// PatchFiles are after expansion: each pattern's matches sorted,
	// patterns in written order, duplicates removed. PatchFiles are then
	// sorted by path as a whole, because that is the order patches apply
	// in. A glob may match outputs of other nodes only by exact path,
	// never by pattern.
	Inputs     []string
	Patches    []string
	InputFiles []string
	PatchFiles []string
	// EngineInputs are the engine artifacts among the inputs
	// (stage.IsEngineInput), which InputFiles leaves out: the graph
	// first, then the lineage of every output the declared ones reach,
	// sorted by path. Only a stage node has them.
	EngineInputs []string
	// Outputs are cleaned workspace-relative paths, in written order.
	Outputs []string
	// Visibility is as declared, "internal" when not declared, and
	// "private" for an undeclared command node that reads a private
	// output. The engine replaces it with the computed level before a
	// build (see Classify).
	Visibility stage.Visibility
	// VisibilityDeclared is set when pipeline.toml gives visibility.
	VisibilityDeclared bool
	// Env are the names of environment variables a command node passes
	// through to its command (`env = ["PYTHONPATH"]`), beyond the
	// sandbox's own few.
	Env []string
	// Declassify is the node's stated reason for publishing aggregates of
	// private inputs (`declassify = "..."`); empty when none was given.
	Declassify string
	// Params is the node's [node.params] table.
	Params map[string]any
	// Pos is the position of the node's [[node]] header.
	Pos pos.Pos
	// Deps are the nodes that write one of this node's inputs or patches
	// (or a directory output holding one), in Order.
	Deps []*Node
	// Index is the node's position in Nodes.
	Index int
}

// IsStage reports whether the node runs a built-in stage.
func (n *Node) IsStage() bool { return n.Stage != "" }

// Lookup finds a build target: a node by name, or the node that writes an
// output path (cleaned first). It returns nil for neither.
func (p *Pipeline) Lookup(target string) *Node {
	for _, n := range p.Nodes {
		if n.Name == target {
			return n
		}
	}
	return p.Producer[filepath.ToSlash(filepath.Clean(target))]
}

// Closure returns nodes and every node they read from, directly or not, in
// Order: what building them needs.
func (p *Pipeline) Closure(nodes ...*Node) []*Node {
	seen := make(map[*Node]bool, len(p.Nodes))
	var mark func(*Node)
	mark = func(n *Node) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, d := range n.Deps {
			mark(d)
		}
	}
	for _, n := range nodes {
		mark(n)
	}
	out := make([]*Node, 0, len(seen))
	for _, n := range p.Order {
		if seen[n] {
			out = append(out, n)
		}
	}
	return out
}
