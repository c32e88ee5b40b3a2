package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"bethel/pkg/lazyre"
	"bethel/pkg/pos"
	"bethel/pkg/stage"
	"bethel/pkg/tomlguard"

	"github.com/BurntSushi/toml"
)

// knownKeys are the keys of a [[node]] table, in the order the reference
// documents them.
var knownKeys = []string{"name", "description", "stage", "run", "inputs", "patches", "outputs", "visibility", "declassify", "env", "params"}

var nameRE = lazyre.New(`^[A-Za-z0-9_.-]+$`)

var envNameRE = lazyre.New(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Load reads, validates and links the pipeline file of the workspace root.
// file is relative to root (or absolute). stages are the known built-in
// stage names; nil skips the check. Every error is a *pos.Error or a
// pos.List of them, positioned in the pipeline file.
func Load(root, file string, stages []string) (*Pipeline, error) {
	l, err := newLoader(root, file)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(l.path())
	if err != nil {
		return nil, &pos.Error{Pos: pos.Pos{File: l.rel}, Msg: readErrMsg(err)}
	}
	p, err := l.load(src, stages)
	if err != nil {
		return nil, err
	}
	p.SourceSum = sumOf(src)
	return p, nil
}

func readErrMsg(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "pipeline file not found"
	case errors.Is(err, fs.ErrPermission):
		return "pipeline file not readable: permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return "cannot read pipeline file: " + pe.Err.Error()
	}
	return "cannot read pipeline file: " + err.Error()
}

// loader holds the state of one Load.
type loader struct {
	root     string // absolute workspace directory
	rel      string // pipeline file relative to root, slash-separated
	e        errs
	sc       *scanResult
	p        *Pipeline
	fs       *dirCache
	declared []bool // visibility written explicitly
	declPos  []declAt
	order    []int // node indexes in topological order
	// missing gathers the source files no one has, so that each is
	// reported once, naming every node that reads it (see reportMissing).
	missing map[string]*missingSource
	// lineageOf are, per node, the writers of the outputs whose lineage
	// it declares (engineInput): it depends on them.
	lineageOf map[*Node][]*Node
}

func newLoader(root, file string) (*loader, error) {
	if root == "" {
		root = "."
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %w", root, err)
	}
	if file == "" {
		file = "pipeline.toml"
	}
	rel := file
	if filepath.IsAbs(file) {
		if r, err := filepath.Rel(abs, file); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			rel = r
		}
	}
	rel = filepath.ToSlash(filepath.Clean(rel))
	l := &loader{root: abs, rel: rel}
	l.e.file = rel
	l.fs = newDirCache(abs)
	return l, nil
}

// path is the pipeline file's absolute path. A file outside the
// workspace keeps its absolute name in rel.
func (l *loader) path() string {
	if filepath.IsAbs(l.rel) {
		return l.rel
	}
	return filepath.Join(l.root, filepath.FromSlash(l.rel))
}

func (l *loader) load(src []byte, stages []string) (*Pipeline, error) {
	// The decoder drops a byte order mark before counting offsets; do the
	// same so that its positions and ours agree.
	for _, bom := range []string{"\xef\xbb\xbf", "\xff\xfe", "\xfe\xff"} {
		if bytes.HasPrefix(src, []byte(bom)) {
			src = src[len(bom):]
			break
		}
	}
	if err := tomlguard.Check(l.rel, src); err != nil {
		return nil, err
	}
	l.e.src = string(src)
	var doc map[string]any
	if _, err := toml.Decode(l.e.src, &doc); err != nil {
		return nil, l.syntaxErr(err)
	}
	l.sc = scan(l.e.src)
	l.p = &Pipeline{Root: l.root, File: l.rel, Producer: map[string]*Node{}}
	l.decode(doc, stages)
	if err := l.e.err(); err != nil {
		return nil, err
	}
	l.checkOutputs()
	l.declFiles()
	if err := l.e.err(); err != nil {
		return nil, err
	}
	l.expand()
	if err := l.e.err(); err != nil {
		return nil, err
	}
	if err := l.link(); err != nil {
		return nil, err
	}
	l.expandEngineInputs()
	l.visibility()
	l.checkReport()
	l.links()
	if err := l.e.err(); err != nil {
		return nil, err
	}
	l.finish()
	return l.p, nil
}

// syntaxErr turns the decoder's error into a positioned one.
func (l *loader) syntaxErr(err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		l.e.at(l.syntaxPos(pe.Position), "", "TOML syntax: %s", pe.Message)
		return l.e.err()
	}
	return &pos.Error{Pos: pos.Pos{File: l.rel}, Msg: "TOML: " + err.Error()}
}

// syntaxPos recomputes the column from the byte offset: the decoder's own
// column is off when the error is at the start of a line.
func (l *loader) syntaxPos(p toml.Position) srcPos {
	src := l.e.src
	if p.Line < 1 || p.Start < 0 || p.Start > len(src) {
		return srcPos{p.Line, 0}
	}
	line, at := 1, 0
	for i := 0; i < p.Start; i++ {
		if src[i] == '\n' {
			line++
			at = i + 1
		}
	}
	if line != p.Line {
		return srcPos{p.Line, 0}
	}
	return srcPos{line, p.Start - at + 1}
}

// nodePos is where node i's [[node]] header is.
func (l *loader) nodePos(i int) srcPos {
	if i < len(l.sc.nodes) {
		return l.sc.nodes[i]
	}
	return srcPos{}
}

// keyPos is where key is written in node i (its header when absent).
func (l *loader) keyPos(i int, key string) srcPos {
	if e := l.sc.find(i, key); e != nil {
		return e.key
	}
	return l.nodePos(i)
}

// valPos is where the value of key is written in node i.
func (l *loader) valPos(i int, key string) srcPos {
	if e := l.sc.find(i, key); e != nil && e.val.line > 0 {
		return e.val
	}
	return l.keyPos(i, key)
}

// elemPos is where element j of key's array is written in node i.
func (l *loader) elemPos(i int, key string, j int) srcPos {
	if e := l.sc.find(i, key); e != nil && j < len(e.elems) {
		return e.elems[j]
	}
	return l.valPos(i, key)
}

// label names node i in messages.
func (l *loader) label(i int) string {
	if i < len(l.p.Nodes) && l.p.Nodes[i] != nil && l.p.Nodes[i].Name != "" {
		return fmt.Sprintf("node %q", l.p.Nodes[i].Name)
	}
	return fmt.Sprintf("node #%d", i+1)
}

func (l *loader) decode(doc map[string]any, stages []string) {
	top := make([]string, 0, len(doc))
	for k := range doc {
		top = append(top, k)
	}
	sort.Strings(top)
	for _, k := range top {
		if k == "node" {
			continue
		}
		if k == "report" {
			l.decodeReport(doc[k])
			continue
		}
		if k == "fields" || k == "privacy" {
			l.decodeDecl(k, doc[k])
			continue
		}
		p := srcPos{1, 0}
		if e := l.sc.find(-1, k); e != nil {
			p = e.key
		}
		hint := ""
		if strings.EqualFold(k, "node") || strings.EqualFold(k, "nodes") {
			hint = `did you mean [[node]]?`
		}
		l.e.at(p, hint, "unknown top-level key %q: a pipeline file holds [[node]] tables and the optional report, fields and privacy paths", k)
	}
	raw, ok := doc["node"]
	if !ok {
		if len(top) == 0 {
			l.e.atLine(1, "no [[node]] tables: a pipeline needs at least one node")
		}
		return
	}
	tables, ok := raw.([]map[string]any)
	if !ok {
		p := srcPos{1, 0}
		if e := l.sc.find(-1, "node"); e != nil {
			p = e.key
		}
		l.e.at(p, "", "node must be written as [[node]] tables, not as %s", typeName(raw))
		return
	}
	l.declared = make([]bool, len(tables))
	l.p.Nodes = make([]*Node, len(tables))
	stageSet := map[string]bool{}
	for _, s := range stages {
		stageSet[s] = true
	}
	names := map[string]int{}
	for i, t := range tables {
		n := &Node{Index: i, Visibility: stage.Internal}
		l.p.Nodes[i] = n
		np := l.nodePos(i)
		n.Pos = pos.Pos{File: l.rel, Line: np.line, Col: np.col}
		// The name first, so that every other message can use it.
		if v, ok := t["name"]; ok {
			if s, ok := v.(string); !ok {
				l.e.at(l.valPos(i, "name"), "", "%s: name must be a string, not %s", l.label(i), typeName(v))
			} else if !nameRE().MatchString(s) {
				l.e.at(l.valPos(i, "name"), "", "%s: invalid node name %q: use letters, digits, '_', '.' and '-'", l.label(i), s)
			} else if j, dup := names[s]; dup {
				l.e.at(l.valPos(i, "name"), "", "duplicate node name %q (first defined at %s:%d)", s, l.rel, l.nodePos(j).line)
			} else {
				names[s] = i
				n.Name = s
			}
		} else if !hasFold(t, "name") {
			l.e.at(np, "", "%s: missing name", l.label(i))
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			l.decodeKey(i, n, k, t[k])
		}
		_, hasStage := t["stage"]
		_, hasRun := t["run"]
		switch {
		case !hasStage && !hasRun && !hasFold(t, "stage") && !hasFold(t, "run"):
			l.e.at(np, "", `%s: missing stage or run: a node runs a built-in stage (stage = "...") or a command (run = "...")`, l.label(i))
		case hasStage && hasRun:
			l.e.at(l.keyPos(i, "run"), "", "%s: both stage and run are set; a node has exactly one of them", l.label(i))
		}
		if hasStage && len(n.Env) > 0 {
			l.e.at(l.keyPos(i, "env"), "", "%s: env is for command nodes; a built-in stage reads no environment", l.label(i))
		}
		if n.Stage != "" && stages != nil && !stageSet[n.Stage] {
			hint := didYouMean(closest(n.Stage, stages))
			if hint == "" && len(stages) > 0 {
				hint = "known stages: " + strings.Join(stages, ", ")
			}
			l.e.at(l.valPos(i, "stage"), hint, "%s: unknown stage %q", l.label(i), n.Stage)
		}
		if _, ok := t["outputs"]; !ok && !hasFold(t, "outputs") {
			l.e.at(np, "", "%s: missing outputs: a node must declare the files it writes", l.label(i))
		} else if len(n.Outputs) == 0 && l.isArrayOfStrings(t["outputs"]) {
			l.e.at(l.valPos(i, "outputs"), "", "%s: outputs is empty: a node must declare the files it writes", l.label(i))
		}
	}
}

// hasFold reports whether t has a misspelling of key (a different key
// that folds to it or is a likely typo of it): that key already gets its
// own "did you mean" error, and "missing key" would only add noise.
func hasFold(t map[string]any, key string) bool {
	for k := range t {
		if k != key && (strings.EqualFold(k, key) || closest(k, knownKeys) == key) {
			return true
		}
	}
	return false
}

func (l *loader) isArrayOfStrings(v any) bool {
	a, ok := v.([]any)
	if !ok {
		return false
	}
	for _, x := range a {
		if _, ok := x.(string); !ok {
			return false
		}
	}
	return true
}

// decodeKey checks and stores one key of node i.
func (l *loader) decodeKey(i int, n *Node, k string, v any) {
	str := func() (string, bool) {
		s, ok := v.(string)
		if !ok {
			l.e.at(l.valPos(i, k), "", "%s: %s must be a string, not %s", l.label(i), k, typeName(v))
		}
		return s, ok
	}
	switch k {
	case "name":
		// Done first, by decode.
	case "description":
		n.Description, _ = str()
	case "stage":
		if s, ok := str(); ok {
			if strings.TrimSpace(s) == "" {
				l.e.at(l.valPos(i, k), "", "%s: stage is empty", l.label(i))
			}
			n.Stage = s
		}
	case "run":
		if s, ok := str(); ok {
			if strings.TrimSpace(s) == "" {
				l.e.at(l.valPos(i, k), "", "%s: run is empty", l.label(i))
			}
			n.Run = s
		}
	case "inputs", "patches", "outputs":
		a, ok := v.([]any)
		if !ok {
			hint := ""
			if _, isStr := v.(string); isStr {
				hint = fmt.Sprintf("write %s = [%q]", k, v)
			}
			l.e.at(l.valPos(i, k), hint, "%s: %s must be an array of strings, not %s", l.label(i), k, typeName(v))
			return
		}
		list := make([]string, 0, len(a))
		for j, x := range a {
			s, ok := x.(string)
			if !ok {
				l.e.at(l.elemPos(i, k, j), "", "%s: %s[%d] must be a string, not %s", l.label(i), k, j, typeName(x))
				continue
			}
			list = append(list, s)
		}
		switch k {
		case "inputs":
			n.Inputs = list
		case "patches":
			n.Patches = list
		default:
			n.Outputs = list
		}
	case "visibility":
		if s, ok := str(); ok {
			vis := stage.Visibility(s)
			if !vis.Valid() {
				hint := didYouMean(closest(s, []string{"private", "internal", "public"}))
				if hint == "" {
					hint = "one of private, internal, public"
				}
				l.e.at(l.valPos(i, k), hint, "%s: invalid visibility %q", l.label(i), s)
				return
			}
			n.Visibility = vis
			n.VisibilityDeclared = true
			l.declared[i] = true
		}
	case "declassify":
		if s, ok := str(); ok {
			if strings.TrimSpace(s) == "" {
				l.e.at(l.valPos(i, k), "", `%s: declassify needs a reason, e.g. declassify = "counts only, no names"`, l.label(i))
			}
			n.Declassify = s
		}
	case "env":
		a, ok := v.([]any)
		if !ok {
			l.e.at(l.valPos(i, k), "", "%s: env must be an array of variable names, not %s", l.label(i), typeName(v))
			return
		}
		for j, x := range a {
			s, ok := x.(string)
			switch {
			case !ok:
				l.e.at(l.elemPos(i, k, j), "", "%s: env[%d] must be a string, not %s", l.label(i), j, typeName(x))
			case !envNameRE().MatchString(s):
				l.e.at(l.elemPos(i, k, j), "", "%s: env[%d]: %q is not an environment variable name", l.label(i), j, s)
			default:
				n.Env = append(n.Env, s)
			}
		}
	case "params":
		m, ok := v.(map[string]any)
		if !ok {
			l.e.at(l.valPos(i, k), "", "%s: params must be a table, not %s", l.label(i), typeName(v))
			return
		}
		n.Params = normParams(m)
	default:
		for _, known := range knownKeys {
			if strings.EqualFold(k, known) {
				l.e.at(l.keyPos(i, k), didYouMean(known), "%s: unknown key %q (keys are case-sensitive)", l.label(i), k)
				return
			}
		}
		hint := didYouMean(closest(k, knownKeys))
		if hint == "" {
			hint = "known keys: " + strings.Join(knownKeys, ", ")
		}
		l.e.at(l.keyPos(i, k), hint, "%s: unknown key %q", l.label(i), k)
	}
}

// normParams makes arrays of tables plain []any, so that stages see the
// value types the stage contract lists whatever TOML form was used.
func normParams(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = normValue(v)
	}
	return out
}

func normValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return normParams(x)
	case []map[string]any:
		a := make([]any, len(x))
		for i, m := range x {
			a[i] = normParams(m)
		}
		return a
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = normValue(e)
		}
		return a
	}
	return v
}

// typeName is the TOML name of a decoded value's type.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date/time"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

// decodeReport checks the top-level report path: the CLI writes the build
// report (volatile facts of the last build) there, beside the outputs and
// outside every node's.
func (l *loader) decodeReport(v any) {
	p := srcPos{1, 0}
	if e := l.sc.find(-1, "report"); e != nil {
		p = e.val
	}
	s, ok := v.(string)
	if !ok {
		l.e.at(p, "", "report must be a path string, not %s", typeName(v))
		return
	}
	c := path.Clean(s)
	switch {
	case s == "" || path.IsAbs(s) || strings.HasPrefix(c, "../") || c == "..":
		l.e.at(p, "", "report %q must be a relative path inside the workspace", s)
	case c != s:
		l.e.at(p, "", "report %q is not clean; write %q", s, c)
	case strings.ContainsAny(s, "*?["):
		l.e.at(p, "", "report %q must be a path, not a glob", s)
	case c == "inputs" || strings.HasPrefix(c, "inputs/"):
		l.e.at(p, "", "report %q must not be under inputs/", s)
	default:
		l.p.Report = c
	}
}

// checkReport keeps the report out of the graph: it is rewritten after
// every build, so a node writing it would race the CLI and a node reading
// it would never be up to date.
func (l *loader) checkReport() {
	r := l.p.Report
	if r == "" {
		return
	}
	p := srcPos{1, 0}
	if e := l.sc.find(-1, "report"); e != nil {
		p = e.val
	}
	if n := l.p.Producer[r]; n != nil {
		l.e.at(p, "", "report %q is an output of node %s; the build report needs a path of its own", r, n.Name)
	}
	for _, n := range l.p.Nodes {
		for _, f := range append(append([]string(nil), n.InputFiles...), n.PatchFiles...) {
			if f == r {
				l.e.at(p, "", "report %q is read by node %s; the build report changes after every build, so nothing may depend on it", r, n.Name)
			}
		}
	}
}
