package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"bethel/pkg/pos"
	"bethel/pkg/schema"
	"bethel/pkg/stage"
)

// Declaration is the workspace's privacy declaration as the engine reads
// it: the level of every source file, which fields are sensitive, and the
// private artifacts that list sensitive values for the leak gate. It comes
// from the privacy file (config/privacy.toml; pkg/schema's Privacy reads
// it, for the engine and the stages alike) and the field model
// (config/fields.toml, whose [[fields]] tables mark fields `sensitive =
// true` and `countable = true`; pkg/schema reads it too).
//
// Source levels: the most specific [sources] pattern wins (a path beats a
// glob, a glob with more elements one with fewer), then the most private
// level. Without a [sources] private list, inputs/** and patches/** are
// private; a source no pattern matches is internal.
type Declaration struct {
	// Privacy and Fields are the files read; empty when absent.
	Privacy, Fields string
	// MinCell is the smallest count a public output may show.
	MinCell int
	// SensitiveValues are the private artifacts listing every sensitive
	// value of the inputs (pkg/scrub's set format), in declared order.
	SensitiveValues []string
	// Unsandboxed is the workspace's stated reason to run command nodes
	// that read private files where no sandbox is available; empty when
	// it did not opt out.
	Unsandboxed string

	sensitive map[string]bool
	countable map[string]bool
	sources   []sourceRule
}

// sourceRule is one pattern of [sources].
type sourceRule struct {
	pattern string
	level   stage.Visibility
	line    int
}

// defaultPrivate are the private sources when the declaration names none:
// the raw exports and the corrections, which quote them.
var defaultPrivate = []string{"inputs/**", "patches/**"}

// Sensitive reports whether a canonical field is sensitive.
func (d *Declaration) Sensitive(field string) bool { return d.sensitive[field] }

// Countable reports whether a sensitive field's categories may be counted.
func (d *Declaration) Countable(field string) bool { return d.countable[field] }

// SourceLevel is the level of a source file and the rule that gave it.
func (d *Declaration) SourceLevel(p string) (stage.Visibility, string) {
	var best *sourceRule
	for i := range d.sources {
		r := &d.sources[i]
		if !matchGlob(r.pattern, p) {
			continue
		}
		if best == nil || specificity(r.pattern) > specificity(best.pattern) ||
			specificity(r.pattern) == specificity(best.pattern) && rank(r.level) > rank(best.level) {
			best = r
		}
	}
	if best == nil {
		return stage.Internal, "internal (in no [sources] list)"
	}
	where := "by default"
	if best.line > 0 {
		where = fmt.Sprintf("by %s:%d", d.Privacy, best.line)
	}
	return best.level, fmt.Sprintf("%s %s (%s)", best.level, where, best.pattern)
}

// specificity orders patterns: a path without wildcards first, then globs
// by their number of elements other than "**".
func specificity(pattern string) int {
	if !hasMeta(pattern) {
		return 1 << 20
	}
	n := 0
	for _, e := range strings.Split(pattern, "/") {
		if e != "**" {
			n++
		}
	}
	return n
}

// rank orders the levels: public < internal < private.
func rank(v stage.Visibility) int {
	switch v {
	case stage.Private:
		return 2
	case stage.Public:
		return 0
	}
	return 1
}

// matchGlob matches a workspace path against a pattern whose elements
// match as path.Match does, "**" matching any number of elements.
func matchGlob(pattern, p string) bool {
	return matchParts(strings.Split(pattern, "/"), strings.Split(p, "/"))
}

func matchParts(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for k := 0; k <= len(parts); k++ {
				if matchParts(pat[1:], parts[k:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], parts[0]); !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}

// LoadDeclaration reads the pipeline's privacy declaration. Missing files
// give the defaults: raw exports and patches private, nothing sensitive.
func LoadDeclaration(p *Pipeline) (*Declaration, error) {
	d := &Declaration{Privacy: p.Privacy, Fields: p.Fields, MinCell: 5,
		sensitive: map[string]bool{}, countable: map[string]bool{}}
	var errs pos.List
	if p.Fields != "" {
		if err := d.readFields(p.Root); err != nil {
			errs = append(errs, err)
		}
	}
	if p.Privacy != "" {
		errs = append(errs, d.readPrivacy(p.Root)...)
	}
	hasPrivate := false
	for _, r := range d.sources {
		hasPrivate = hasPrivate || r.level == stage.Private
	}
	if !hasPrivate {
		for _, g := range defaultPrivate {
			d.sources = append(d.sources, sourceRule{pattern: g, level: stage.Private})
		}
	}
	return d, errs.Err()
}

func (d *Declaration) readPrivacy(root string) pos.List {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(d.Privacy)))
	if err != nil {
		return pos.List{fmt.Errorf("%s: %w", d.Privacy, err)}
	}
	return d.parsePrivacy(data)
}

// parsePrivacy reads the privacy file's keys from its bytes, through the
// one reader of the file (pkg/schema), and checks its paths.
func (d *Declaration) parsePrivacy(data []byte) pos.List {
	file := d.Privacy
	pr, err := schema.ParsePrivacy(file, data)
	if err != nil {
		var l pos.List
		if errors.As(err, &l) {
			return l
		}
		return pos.List{err}
	}
	d.MinCell, d.Unsandboxed = pr.MinCell, pr.Unsandboxed
	var errs pos.List
	for _, f := range pr.SensitiveValues {
		at := pos.Pos{File: file, Line: pr.SensitiveValuesLine}
		c, why := cleanPath(f)
		switch {
		case why != "":
			errs = append(errs, pos.Errorf(at, "sensitive_values: %q: %s", f, why))
		case !under(c, "out"):
			errs = append(errs, pos.Errorf(at, "sensitive_values: %s must be an output under out/ (a private artifact a node writes)", c))
		default:
			d.SensitiveValues = append(d.SensitiveValues, c)
		}
	}
	for _, r := range pr.Sources {
		c, why := cleanPath(r.Pattern)
		if why != "" {
			errs = append(errs, pos.Errorf(pos.Pos{File: file, Line: r.Line}, "sources.%s: %q: %s", r.Level, r.Pattern, why))
			continue
		}
		d.sources = append(d.sources, sourceRule{pattern: c, level: stage.Visibility(r.Level), line: r.Line})
	}
	return errs
}

// readFields takes the sensitive and countable marks of the field model;
// the rest of the file is the stages'.
func (d *Declaration) readFields(root string) error {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(d.Fields)))
	if err != nil {
		return fmt.Errorf("%s: %w", d.Fields, err)
	}
	return d.parseFields(data)
}

// parseFields takes the sensitive and countable marks from the field
// model's bytes, read by the one reader of the field model (pkg/schema),
// so that the engine and the stages see the same fields.
func (d *Declaration) parseFields(data []byte) error {
	s, err := schema.Parse(d.Fields, data)
	if err != nil {
		return err
	}
	for _, f := range s.Fields {
		if f.Sensitive {
			d.sensitive[f.Name] = true
		}
		if f.Countable {
			d.countable[f.Name] = true
		}
	}
	return nil
}

// DeclassifyFunc returns a stage node's declassification, or nil when its
// stage is not a declassifier.
type DeclassifyFunc func(n *Node) (*stage.Declassification, error)

// Classify computes every node's visibility, in Order: a node's outputs are
// at least as private as the most private file it reads (a source's level
// comes from the declaration, an output's from the node that writes it).
// Only a declassifier stage (lowered to internal, to public when it
// suppresses small counts) or a command node with a declassify reason
// (lowered to what it declares) may produce outputs less private than
// that. A node that declares no visibility gets the computed one (at least
// internal); one that declares a level below it is an error naming the
// chain of files and nodes that makes it private. Classify sets each
// node's Visibility.
func Classify(p *Pipeline, d *Declaration, declass DeclassifyFunc) error {
	var errs pos.List
	why := map[string]string{} // path -> why it has its level
	level := func(f string) (stage.Visibility, string) {
		if w := p.Producer[f]; w != nil {
			return w.Visibility, fmt.Sprintf("%s as written by node %q", w.Visibility, w.Name)
		}
		if w := producerAboveP(p, f); w != nil {
			return w.Visibility, fmt.Sprintf("%s as written by node %q", w.Visibility, w.Name)
		}
		return d.SourceLevel(f)
	}
	// cause[node] is the read that set the node's level, for the chain.
	cause := map[*Node]string{}
	for _, n := range p.Order {
		top, from := stage.Public, ""
		for _, f := range n.reads() {
			l, w := level(f)
			why[f] = w
			if rank(l) > rank(top) || from == "" && rank(l) == rank(top) {
				top, from = l, f
			}
		}
		for _, a := range n.EngineInputs {
			l, w := artifactLevel(p, n, a)
			why[a] = w
			if rank(l) > rank(top) || from == "" && rank(l) == rank(top) {
				top, from = l, a
			}
		}
		floor, lowered := top, false
		switch {
		case n.Run != "" && n.Declassify != "":
			floor, lowered = stage.Public, true
		case n.Stage != "" && declass != nil:
			dc, err := declass(n)
			if err != nil {
				errs = append(errs, pos.Errorf(n.Pos, "node %q: %v", n.Name, err))
				continue
			}
			if dc == nil {
				break
			}
			if bad := checkDeclassification(d, dc); bad != "" {
				errs = append(errs, &pos.Error{Pos: n.Pos, Msg: fmt.Sprintf("node %q: stage %s %s", n.Name, n.Stage, bad),
					Hint: "make the node private, or count other fields"})
				continue
			}
			floor, lowered = stage.Internal, true
			if dc.Suppressed {
				floor = stage.Public
			}
			if rank(top) < rank(floor) {
				floor = top
			}
		}
		cause[n] = from
		switch {
		case !n.VisibilityDeclared && lowered:
			n.Visibility = stage.Internal
			if rank(floor) > rank(stage.Internal) {
				n.Visibility = floor
			}
		case !n.VisibilityDeclared:
			n.Visibility = top
			if rank(top) < rank(stage.Internal) {
				n.Visibility = stage.Internal
			}
		case rank(n.Visibility) < rank(floor):
			hint := "make the node " + string(floor)
			switch {
			case n.Run != "":
				hint += `, or state why its outputs hold no private values with declassify = "<reason>"`
			case lowered:
				hint += "; the stage's outputs are not suppressed for publication"
			default:
				hint += "; stage " + n.Stage + " is not a declassifier (it does not only count)"
			}
			// The node keeps its declared level, so that the nodes
			// after it report only their own faults.
			errs = append(errs, &pos.Error{Pos: n.Pos, Hint: hint,
				Msg: fmt.Sprintf("node %q declares visibility %q but its outputs are %s: %s", n.Name, n.Visibility, floor, chain(p, n, cause, why))})
		}
	}
	return errs.Err()
}

// artifactLevel is the level of an engine artifact n reads. The graph is
// internal (it names every node, command and declassify reason). Cell
// lineage names record keys, so it is internal at least; a command node,
// which may do anything with what it reads, gets the lineage of an output
// at that output's level, so that the lineage of a private output makes
// it private. A built-in stage's use of lineage is known: it links counts
// to record keys, and the loader keeps such a node off public.
func artifactLevel(p *Pipeline, n *Node, a string) (stage.Visibility, string) {
	o, ok := strings.CutPrefix(a, stage.LineagePrefix)
	if !ok {
		return stage.Internal, "internal as the pipeline's graph"
	}
	if w := p.Producer[o]; w != nil && n.Run != "" && rank(w.Visibility) > rank(stage.Internal) {
		return w.Visibility, fmt.Sprintf("%s as the lineage of an output of node %q", w.Visibility, w.Name)
	}
	return stage.Internal, "internal as cell lineage (it names record keys)"
}

// checkDeclassification returns what is wrong with a stage's declaration
// under the workspace's field model, or "".
func checkDeclassification(d *Declaration, dc *stage.Declassification) string {
	for _, f := range dc.Values {
		if d.Sensitive(f) {
			return fmt.Sprintf("copies the values of sensitive field %q into its outputs", f)
		}
	}
	for _, f := range dc.Counts {
		if d.Sensitive(f) && !d.Countable(f) {
			return fmt.Sprintf("counts sensitive field %q, which the field model does not mark countable", f)
		}
	}
	return ""
}

// chain explains why node n's outputs are at their level: the read that
// made them so, the node that wrote it, and so on back to a source.
func chain(p *Pipeline, n *Node, cause map[*Node]string, why map[string]string) string {
	var b strings.Builder
	seen := map[*Node]bool{}
	for n != nil && !seen[n] {
		seen[n] = true
		f := cause[n]
		if f == "" {
			b.WriteString("it reads nothing private")
			break
		}
		if b.Len() > 0 {
			b.WriteString(", which ")
		} else {
			b.WriteString("it ")
		}
		fmt.Fprintf(&b, "reads %s, %s", f, why[f])
		w := p.Producer[f]
		if w == nil {
			w = producerAboveP(p, f)
		}
		if w == nil || cause[w] == "" || !strings.HasPrefix(why[cause[w]], string(w.Visibility)+" ") {
			break // a source, or a level w declares rather than inherits
		}
		n = w
	}
	return b.String()
}

// producerAboveP returns the node writing a directory that holds f.
func producerAboveP(p *Pipeline, f string) *Node {
	for {
		k := strings.LastIndexByte(f, '/')
		if k < 0 {
			return nil
		}
		f = f[:k]
		if w := p.Producer[f]; w != nil {
			return w
		}
	}
}
