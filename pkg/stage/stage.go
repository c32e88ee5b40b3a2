// Package stage is the contract between the build engine (pkg/graph) and the
// built-in stages (pkg/stages). The engine sees a stage only through the
// Stage interface, found by name in a Registry; a stage sees its node only
// through a Run: opened inputs, decoded params and the writers of its
// declared outputs. Neither side knows the cache, the disk layout or the
// other's internals, which is what lets the engine be tested with fake
// stages and the stages be tested without an engine.
package stage

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"bethel/pkg/lineage"
)

// Stage is one built-in transform.
type Stage interface {
	// Name is the name pipeline.toml uses (`stage = "registrations.normalize"`).
	Name() string
	// Version is part of every action key of every node using the stage: bump
	// it whenever the stage's output for the same inputs and params changes,
	// so that caches built by an older bethel are not reused.
	Version() string
	// Run reads r's inputs and writes every one of r's outputs. It must be
	// deterministic: the same inputs, patches and params give byte-identical
	// outputs. A returned error fails the node and nothing it wrote is kept.
	Run(ctx context.Context, r *Run) error
}

// Visibility says who may see a node's outputs.
type Visibility string

const (
	// Private outputs hold personal data; written 0600 and never published.
	Private Visibility = "private"
	// Internal outputs are for organizers: aggregates, no personal values.
	Internal Visibility = "internal"
	// Public outputs may be published: small counts suppressed.
	Public Visibility = "public"
)

// Valid reports whether v is one of the three visibilities.
func (v Visibility) Valid() bool { return v == Private || v == Internal || v == Public }

// Run is everything a stage may touch while it runs. Paths are
// workspace-relative and use forward slashes.
type Run struct {
	// Node is the name of the pipeline node being built, for messages.
	Node string
	// Inputs are the node's declared inputs after glob expansion, in
	// pipeline.toml order (each glob's matches sorted), then the engine
	// artifacts it declares (IsEngineInput). A stage finds its files here
	// by path or by suffix; it must not read anything else.
	Inputs []string
	// Patches are the node's patch files after glob expansion, sorted by
	// path: the order patches apply in.
	Patches []string
	// Outputs are the node's declared outputs in pipeline.toml order. A
	// stage must write every one of them through Create.
	Outputs []string
	// Visibility is the node's declared visibility.
	Visibility Visibility
	// Declassify is the node's stated reason for publishing aggregates of
	// private inputs (`declassify = "..."` in pipeline.toml); empty when
	// none was given. Stages pass it to their privacy check.
	Declassify string
	// Fields and Privacy are the workspace's privacy declaration: the
	// field model and the privacy file (workspace paths; empty when the
	// workspace has none). The engine adds both to every node's inputs,
	// so a stage opens them through FS.
	Fields, Privacy string
	// Params are the node's `[node.params]` table as decoded TOML values
	// (string, int64, float64, bool, time types, []any, map[string]any).
	Params map[string]any
	// FS reads the workspace. Only Inputs and Patches may be opened: the
	// engine's FS refuses other paths, because an undeclared read would make
	// the action key incomplete.
	FS fs.FS
	// Sum returns the BLAKE3-256 hash of an input (an engine artifact
	// too) or patch as the engine read it for the node's action key (and,
	// for a file, checks again after the run),
	// so that a stage can key an in-memory cache by content without reading
	// the file a second time. ok is false when the hash is not known (Sum
	// is nil, or the path is not an input); the stage must then read the
	// file itself.
	Sum func(path string) (sum [32]byte, ok bool)
	// Create returns the writer for a declared output. The engine writes it
	// to a temporary file and renames it into place only if Run succeeds.
	// The engine's writer is a Summer.
	Create func(path string) (io.Writer, error)
	// Lineage returns the recorder for a declared output's cell lineage, or
	// nil when lineage is switched off. Recording is optional per output;
	// a stage that records must record every cell of that output.
	Lineage func(path string) *lineage.Recorder
	// Warnf reports a non-fatal finding (a redundant patch, a possible
	// duplicate). It is shown with the node's name and never fails the
	// build. Like errors, warnings must not carry private values.
	Warnf func(format string, args ...any)
}

// Input returns the input whose path is path, or whose path ends in
// "/"+suffix, so that a stage can find "config/bethels.csv" however the
// workspace is laid out. It is an error for none or several to match.
func (r *Run) Input(suffix string) (string, error) {
	var found []string
	for _, p := range r.Inputs {
		if IsEngineInput(p) {
			continue
		}
		if p == suffix || (len(p) > len(suffix) && p[len(p)-len(suffix)-1] == '/' && p[len(p)-len(suffix):] == suffix) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("node %s: stage needs an input %q; add it to the node's inputs", r.Node, suffix)
	default:
		return "", fmt.Errorf("node %s: several inputs match %q: %v", r.Node, suffix, found)
	}
}

// Registry maps stage names to stages.
type Registry struct {
	m map[string]Stage
}

// NewRegistry returns a registry holding stages; a duplicate name panics,
// as it is a programming error.
func NewRegistry(stages ...Stage) *Registry {
	r := &Registry{m: make(map[string]Stage)}
	for _, s := range stages {
		if _, dup := r.m[s.Name()]; dup {
			panic("stage: duplicate stage name " + s.Name())
		}
		r.m[s.Name()] = s
	}
	return r
}

// Lookup returns the stage called name.
func (r *Registry) Lookup(name string) (Stage, bool) {
	s, ok := r.m[name]
	return s, ok
}

// Names returns every registered name, sorted, for "did you mean" hints and
// help text.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Summer is a writer that knows the BLAKE3-256 of what was written to it:
// the hash Run.Sum gives later stages for that file.
type Summer interface {
	Sum256() [32]byte
}

// Engine artifacts. Besides files, a node's inputs may name what the
// engine itself knows, as ordinary declared inputs: their hashes enter the
// node's action key like a file's, a stage opens them through Run.FS
// like a file, and reading one that is not declared is refused like any
// other undeclared read. They follow the node's files in Run.Inputs. (A
// command node finds them as read-only files the engine writes for it.)
const (
	// GraphInput is the pipeline's static graph: every node's name,
	// stage and version or command, paths, visibility and dependencies,
	// as JSON in pkg/graphfile's form.
	GraphInput = "graph:"
	// LineagePrefix followed by an output path names that output's cell
	// lineage as its node's last build recorded it, in pkg/lineage's
	// binary form; an empty file when the node recorded none (lineage
	// switched off, or an output the stage records no lineage for).
	// Declaring the lineage of one output brings the lineage of every
	// output of a stage node upstream of it, which a walk to the raw
	// records needs.
	LineagePrefix = "lineage:"
)

// IsEngineInput reports whether an input names an engine artifact
// (GraphInput or LineagePrefix+path) rather than a file.
func IsEngineInput(p string) bool {
	return p == GraphInput || strings.HasPrefix(p, LineagePrefix)
}
