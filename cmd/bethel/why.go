package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/cellref"
	"bethel/pkg/explain"
	"bethel/pkg/graph"
	"bethel/pkg/lazyre"
	"bethel/pkg/lineage"
	"bethel/pkg/patch"
	"bethel/pkg/pipeline"
	"bethel/pkg/provenance"
	"bethel/pkg/stage"
	"bethel/pkg/stages"
)

func init() {
	register(&command{
		name:    "why",
		summary: "show where an output file, row or cell came from",
		run:     runWhy,
	})
}

// whyMaxSources is how many source records the text form lists (--all
// lists every one; --json always does).
const whyMaxSources = 20

// withheld stands for a private value that was not asked for.
const withheld = "(withheld: private; --show-private shows it)"

// whyTarget is a parsed TARGET.
type whyTarget struct {
	path    string
	row     int    // the row as a spreadsheet shows it (the header is row 1, data from 2); 0 = not given
	col     string // header name or 1-based number; "" = not given
	keyCol  string // PATH@KEYCOL=VALUE:COL
	keyVal  string
	pointer string // PATH#/json/pointer
	// WORKBOOK.xlsx!SHEET!A1: a cell of a workbook, answered as the cell
	// of the CSV input it shows (stage.CellMapper).
	book, sheet, ref string
}

var rowColRE = lazyre.New(`^(.+):([0-9]+):([^:]+)$`)

func parseWhyTarget(s string) (whyTarget, error) {
	var t whyTarget
	switch {
	case strings.Contains(s, ".xlsx!"):
		i := strings.Index(s, ".xlsx!") + len(".xlsx")
		j := strings.LastIndex(s, "!")
		if j <= i {
			return t, usagef("why: %q: expected WORKBOOK.xlsx!SHEET!CELL (summary.xlsx!Meals!C3)", s)
		}
		t.book, t.sheet, t.ref = s[:i], s[i+1:j], s[j+1:]
		t.path = t.book
	case strings.Contains(s, "#"):
		i := strings.Index(s, "#")
		t.path, t.pointer = s[:i], s[i+1:]
		if !strings.HasPrefix(t.pointer, "/") {
			return t, usagef("why: %q: a JSON pointer starts with / (PATH#/meals/0/total)", s)
		}
	case strings.Contains(s, "@"):
		i := strings.Index(s, "@")
		t.path = s[:i]
		rest := s[i+1:]
		j := strings.LastIndex(rest, ":")
		k := strings.Index(rest, "=")
		if j < 0 || k < 0 || k > j {
			return t, usagef("why: %q: expected PATH@KEYCOL=VALUE:COL", s)
		}
		t.keyCol, t.keyVal, t.col = rest[:k], rest[k+1:j], rest[j+1:]
	default:
		if m := rowColRE().FindStringSubmatch(s); m != nil {
			t.path, t.col = m[1], m[3]
			n, err := strconv.Atoi(m[2])
			if err != nil || n < 2 {
				return t, usagef("why: %q: ROW counts rows as a spreadsheet shows them: the header is row 1, the first data row is row 2", s)
			}
			t.row = n
		} else {
			t.path = s
		}
	}
	if t.path == "" {
		return t, usagef("why: %q: no path", s)
	}
	return t, nil
}

// whySource, whyPatch and whyNode are the JSON form of an answer's parts.
type whySource struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Key  string `json:"key"`
}

type whyPatch struct {
	ID     string   `json:"id"`
	File   string   `json:"file"`
	Line   int      `json:"line"`
	Reason string   `json:"reason"`
	Fields []string `json:"fields,omitempty"`
}

type whyNode struct {
	Node         string `json:"node"`
	Stage        string `json:"stage,omitempty"`
	StageVersion string `json:"stage_version,omitempty"`
	Command      string `json:"command,omitempty"`
	Output       string `json:"output"`
	Status       string `json:"status"`
}

// whyAnswer is what `bethel why --json` prints.
type whyAnswer struct {
	Path       string             `json:"path"`
	Target     string             `json:"target"`
	Row        int                `json:"row,omitempty"`
	Column     string             `json:"column,omitempty"`
	Value      *string            `json:"value"`
	Withheld   bool               `json:"withheld,omitempty"`
	Derivation string             `json:"derivation"`
	Fields     []string           `json:"fields,omitempty"`
	Nodes      []whyNode          `json:"nodes"`
	Raw        []string           `json:"raw_inputs"`
	Sources    []whySource        `json:"sources"`
	Patches    []whyPatch         `json:"patches"`
	Artifact   *provenance.Record `json:"artifact"`
	Note       string             `json:"note,omitempty"`
	// Suppressed marks a hidden cell of a public output, whose sources
	// and patches are left out (unless --show-private).
	Suppressed bool `json:"suppressed,omitempty"`
}

// suppressedCell reports whether the answer is a cell a public output
// hides: its stage recorded a suppression as the cell's derivation, or
// the cell shows the suppression mark.
func suppressedCell(a *whyAnswer) bool {
	if a.Artifact == nil || a.Artifact.Visibility != string(stage.Public) || a.Column == "" {
		return false
	}
	return strings.HasPrefix(a.Derivation, "suppressed") || (a.Value != nil && *a.Value == stages.SuppressedMark)
}

// scrubWhyReasons withholds private data from the patch reasons and ids
// an answer quotes, as the corrections report does.
func scrubWhyReasons(p *pipeline.Pipeline, root string, a *whyAnswer) error {
	if len(a.Patches) == 0 {
		return nil
	}
	set, err := builtScrubSet(p, root)
	if err != nil {
		return err
	}
	for i := range a.Patches {
		a.Patches[i].Reason, _ = set.Scrub(a.Patches[i].Reason)
		a.Patches[i].ID, _ = set.Scrub(a.Patches[i].ID)
	}
	return nil
}

func runWhy(ctx context.Context, env *Env, args []string) error {
	fset := flag.NewFlagSet("why", flag.ContinueOnError)
	ws := addWorkspaceFlags(fset)
	asJSON := fset.Bool("json", false, "print one JSON object")
	showPrivate := fset.Bool("show-private", false, "print private values")
	all := fset.Bool("all", false, "list every source record (the text form lists the first 20)")
	fset.Usage = usageFunc(fset, "bethel why TARGET [-C DIR] [--json] [--show-private] [--all]",
		"Shows where an output came from: the value, its derivation, the chain of nodes from\n"+
			"the raw inputs, the patches (id, file:line, reason) and the source records (file:line\n"+
			"and record key). TARGET is PATH:ROW:COL (ROW as a spreadsheet shows it: the header is row 1; COL a number\n"+
			"from 1 or a header name), PATH@KEYCOL=VALUE:COL, PATH#/json/pointer, or PATH alone\n"+
			"(the artifact). Reads only; writes nothing.")
	rest, err := parseFlags(fset, env, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("why takes one TARGET, have %d arguments", len(rest))
	}
	t, err := parseWhyTarget(rest[0])
	if err != nil {
		return err
	}
	p, err := ws.loadReadOnly(env)
	if err != nil {
		return err
	}
	if t.book != "" {
		if t, err = workbookCell(p, t); err != nil {
			return err
		}
	}
	w := newWhy(p, ws.root(env))
	a, err := w.answer(t, rest[0])
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	if !*showPrivate && a.Value != nil && w.private(a) {
		a.Value, a.Withheld = nil, true
	}
	if !*showPrivate && suppressedCell(a) {
		// Its records, their number, the patches that touched them and
		// even why it was hidden (small, or hidden to protect a small
		// one) would give back what the public output withholds.
		a.Suppressed = true
		a.Derivation = "suppressed in this public output; its count, records and patches are not shown (--show-private shows them)"
		a.Sources, a.Patches, a.Fields = []whySource{}, []whyPatch{}, nil
	}
	if !*showPrivate {
		if err := scrubWhyReasons(p, ws.root(env), a); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(a)
	}
	printWhy(env.Stdout, a, *all)
	return nil
}

// why answers questions about one workspace, reading only: the engine's
// records of the last builds (graph.Records) and the current files. The
// lineage walk itself is pkg/explain's.
type why struct {
	p    *pipeline.Pipeline
	root string
	ws   *wsArtifacts
	w    *explain.Walker
	priv map[string]bool // sensitive fields

	// res is what the cell's walk reached; nodes and raw collect an
	// artifact-level answer's upstream.
	res   *explain.Resolved
	nodes map[string]*whyNode
	raw   map[string]bool
}

func newWhy(p *pipeline.Pipeline, root string) *why {
	ws := &wsArtifacts{p: p, root: root, recs: graph.OpenRecords(p)}
	return &why{p: p, root: root, ws: ws, w: explain.New(ws),
		nodes: map[string]*whyNode{}, raw: map[string]bool{}}
}

// wsArtifacts is the engine's records as pkg/explain asks for artifacts,
// and the patch reasons the walk quotes.
type wsArtifacts struct {
	p       *pipeline.Pipeline
	root    string
	recs    *graph.Records
	reasons map[string]map[string]string // patch file -> id -> reason
}

func (s *wsArtifacts) abs(p string) string { return filepath.Join(s.root, filepath.FromSlash(p)) }

func (s *wsArtifacts) IsOutput(path string) bool { return s.p.Producer[path] != nil }

// Reason reads a patch's reason from its file as it is now (freshness
// checks have shown the file unchanged since the build).
func (s *wsArtifacts) Reason(file, id string) string {
	if s.reasons == nil {
		s.reasons = map[string]map[string]string{}
	}
	m, ok := s.reasons[file]
	if !ok {
		m = map[string]string{}
		s.reasons[file] = m
		if data, err := os.ReadFile(s.abs(file)); err == nil {
			if ps, err := patch.Parse(file, data); err == nil {
				for _, p := range ps {
					m[p.ID] = p.Reason
				}
			}
		}
	}
	return m[id]
}

func (s *wsArtifacts) Artifact(path string, h [32]byte) (*explain.Artifact, error) {
	rec, err := s.recs.Record(path, h)
	if errors.Is(err, provenance.ErrNoRecord) {
		return nil, explain.NotFound(err)
	}
	if err != nil {
		return nil, err
	}
	a := &explain.Artifact{Path: path, Hash: h, Node: rec.Node, Stage: rec.Stage, StageVersion: rec.StageVersion,
		Command: rec.Command, Status: rec.Status, Record: rec, Reads: map[string][32]byte{}}
	for _, l := range [][]provenance.FileHash{rec.Inputs, rec.Config, rec.Patches} {
		for _, f := range l {
			a.Reads[f.Path] = f.Hash
		}
	}
	b, err := s.recs.Lineage(rec)
	if err != nil {
		return nil, err
	}
	if b != nil {
		if a.Table, err = lineage.Open(b); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return a, nil
}

func (w *why) node(a *explain.Artifact) { w.nodeOf(record(a)) }

func (w *why) nodeOf(r *provenance.Record) {
	if w.nodes[r.Path] == nil {
		w.nodes[r.Path] = &whyNode{Node: r.Node, Stage: r.Stage, StageVersion: r.StageVersion,
			Command: r.Command, Output: r.Path, Status: r.Status}
	}
}

// answer resolves t.
func (w *why) answer(t whyTarget, target string) (*whyAnswer, error) {
	path := filepath.ToSlash(filepath.Clean(t.path))
	if filepath.IsAbs(t.path) {
		if rel, err := filepath.Rel(w.root, t.path); err == nil {
			path = filepath.ToSlash(rel)
		}
	}
	h, err := w.ws.recs.Current(path)
	if err != nil {
		if os.IsNotExist(err) {
			if w.p.Producer[path] != nil {
				return nil, fmt.Errorf("%s does not exist: node %s writes it; run bethel make", path, w.p.Producer[path].Name)
			}
			return nil, fmt.Errorf("%s does not exist", path)
		}
		return nil, err
	}
	a, err := w.w.Artifact(path, h)
	if errors.Is(err, provenance.ErrNoRecord) {
		if w.p.Producer[path] == nil {
			return nil, fmt.Errorf("%s is not an output of any node: a raw input has no provenance (it is where lineage ends)", path)
		}
		return nil, fmt.Errorf("%s has no provenance record for its current content: it was never built by bethel, or was edited by hand since (run bethel make; corrections belong in patches/)", path)
	}
	if err != nil {
		return nil, err
	}
	ans := &whyAnswer{Path: path, Target: target, Artifact: record(a)}
	w.node(a)
	cell := t.row > 0 || t.keyCol != "" || t.pointer != ""
	switch {
	case !cell:
		ans.Derivation = artifactDerivation(record(a))
		if err := w.upstream(a); err != nil {
			return nil, err
		}
	case a.Command != "":
		ans.Derivation = artifactDerivation(record(a))
		ans.Note = fmt.Sprintf("cell lineage is not available for opaque commands: node %s runs a shell command, so bethel knows which files it read but not which of their rows made this cell; this is the artifact's provenance", a.Node)
		if err := w.upstream(a); err != nil {
			return nil, err
		}
	case t.pointer != "":
		if err := w.jsonCell(a, t, ans); err != nil {
			return nil, err
		}
	default:
		if err := w.csvCell(a, t, ans); err != nil {
			return nil, err
		}
	}
	ans.Sources = []whySource{}
	ans.Patches = []whyPatch{}
	if r := w.res; r != nil {
		all := w.w.Sources()
		for _, i := range r.Sources {
			s := all[i]
			ans.Sources = append(ans.Sources, whySource{File: s.File, Line: s.Line, Key: s.Key})
		}
		for _, i := range r.Patches {
			p := w.w.Patch(i)
			ans.Patches = append(ans.Patches, whyPatch{ID: p.ID, File: p.File, Line: p.Line, Reason: p.Reason, Fields: p.Fields})
		}
		for _, x := range w.w.Artifacts(r) {
			w.node(x)
		}
		for _, f := range w.w.Raw() {
			w.raw[f] = true
		}
	}
	sort.Slice(ans.Patches, func(i, j int) bool {
		if ans.Patches[i].File != ans.Patches[j].File {
			return ans.Patches[i].File < ans.Patches[j].File
		}
		return ans.Patches[i].Line < ans.Patches[j].Line
	})
	for _, n := range w.nodes {
		ans.Nodes = append(ans.Nodes, *n)
	}
	order := map[string]int{}
	for i, n := range w.p.Order {
		order[n.Name] = i
	}
	sort.Slice(ans.Nodes, func(i, j int) bool {
		a, b := ans.Nodes[i], ans.Nodes[j]
		if order[a.Node] != order[b.Node] {
			return order[a.Node] < order[b.Node]
		}
		return a.Output < b.Output
	})
	for r := range w.raw {
		ans.Raw = append(ans.Raw, r)
	}
	sort.Strings(ans.Raw)
	if ans.Raw == nil {
		ans.Raw = []string{}
	}
	if op := w.w.Opaque(); len(op) > 0 && ans.Note == "" {
		ans.Note = "lineage stops at the output of command node " + strings.Join(op, ", ") + ": cell lineage is not available for opaque commands"
	}
	return ans, nil
}

func artifactDerivation(r *provenance.Record) string {
	if r.Command != "" {
		return fmt.Sprintf("written by node %s running the command %q", r.Node, r.Command)
	}
	return fmt.Sprintf("written by node %s with stage %s %s", r.Node, r.Stage, r.StageVersion)
}

// record is the provenance record wsArtifacts found a by.
func record(a *explain.Artifact) *provenance.Record { return a.Record.(*provenance.Record) }

// upstream adds the nodes that wrote a's inputs, recursively, and the
// sources they read, for an artifact-level answer.
func (w *why) upstream(a *explain.Artifact) error {
	return w.ws.recs.Upstream(record(a), w.nodeOf, func(p string) { w.raw[p] = true })
}

// csvCell answers PATH:ROW:COL and PATH@KEYCOL=VALUE:COL.
func (w *why) csvCell(a *explain.Artifact, t whyTarget, ans *whyAnswer) error {
	data, err := os.ReadFile(w.ws.abs(ans.Path))
	if err != nil {
		return err
	}
	c, err := cellref.CSV(ans.Path, data, cellref.CSVQuery{Row: t.row, Col: t.col, KeyCol: t.keyCol, KeyVal: t.keyVal})
	if err != nil {
		return err
	}
	ans.Row, ans.Column, ans.Value = c.Row, c.Column, c.Value
	if a.Table == nil {
		return fmt.Errorf("%s: node %s recorded no cell lineage for this output", ans.Path, a.Node)
	}
	return w.resolveCell(a, c.LineageRow, c.Column, ans)
}

// resolveCell follows the lineage of one recorded cell, or of the row
// when the stage records rows (one record per row).
func (w *why) resolveCell(a *explain.Artifact, row int, col string, ans *whyAnswer) error {
	c, ok, err := a.Table.Cell(row, col)
	if err != nil {
		return fmt.Errorf("%s: %w", ans.Path, err)
	}
	if ok {
		ans.Derivation, ans.Fields = c.Derivation, c.Fields
		w.res, err = w.w.Cell(a.Path, a.Hash, c)
		return err
	}
	if row < a.Table.NumRows() {
		ans.Derivation = fmt.Sprintf("field %s of one record, as node %s wrote it (after patches)", col, a.Node)
		ans.Fields = []string{col}
		w.res, err = w.w.RowFields(a.Path, a.Hash, row, []string{col})
		return err
	}
	return fmt.Errorf("%s: node %s recorded no lineage for row %d, column %s", ans.Path, a.Node, row+1, col)
}

// jsonCell answers PATH#/pointer.
func (w *why) jsonCell(a *explain.Artifact, t whyTarget, ans *whyAnswer) error {
	data, err := os.ReadFile(w.ws.abs(ans.Path))
	if err != nil {
		return err
	}
	v, err := cellref.JSON(ans.Path, data, t.pointer)
	if err != nil {
		return err
	}
	ans.Column, ans.Value = v.Column, v.Value
	if a.Table == nil {
		return fmt.Errorf("%s: node %s recorded no lineage for this output", ans.Path, a.Node)
	}
	c, ok, err := a.Table.Cell(v.LineageRow, v.Column)
	if err != nil {
		return fmt.Errorf("%s: %w", ans.Path, err)
	}
	if !ok {
		return fmt.Errorf("%s: node %s recorded no lineage for %s", ans.Path, a.Node, v.Column)
	}
	ans.Derivation, ans.Fields = c.Derivation, c.Fields
	w.res, err = w.w.Cell(a.Path, a.Hash, c)
	return err
}

// private reports whether the answer's value may hold personal data: any
// value of a private output, or a sensitive column of any output.
func (w *why) private(a *whyAnswer) bool {
	if a.Artifact != nil && a.Artifact.Visibility == "private" {
		return true
	}
	if w.priv == nil {
		// The workspace's one field model, as the engine hands it to
		// every node: never a file a node happened to read.
		w.priv = map[string]bool{}
		if set, err := stages.LoadSensitive(os.DirFS(w.root), w.p.Fields); err == nil {
			w.priv = set
		}
	}
	return w.priv[a.Column]
}

// printWhySources prints an answer's patches and source records.
func printWhySources(b *strings.Builder, a *whyAnswer, all bool) {
	fmt.Fprintf(b, "patches:     %d\n", len(a.Patches))
	for _, p := range a.Patches {
		fmt.Fprintf(b, "  %s  %s:%d  %s\n", p.ID, p.File, p.Line, p.Reason)
	}
	fmt.Fprintf(b, "sources:     %d records\n", len(a.Sources))
	for i, s := range a.Sources {
		if i == whyMaxSources && !all {
			fmt.Fprintf(b, "  ... and %d more (--all lists them)\n", len(a.Sources)-i)
			break
		}
		fmt.Fprintf(b, "  %s:%d  %s\n", s.File, s.Line, s.Key)
	}
}

func printWhy(out io.Writer, a *whyAnswer, all bool) {
	var b strings.Builder
	switch {
	case a.Row > 0:
		fmt.Fprintf(&b, "%s row %d, column %s\n", a.Path, a.Row, a.Column)
	case a.Column != "":
		fmt.Fprintf(&b, "%s value %s\n", a.Path, a.Column)
	default:
		fmt.Fprintf(&b, "%s (the whole file)\n", a.Path)
	}
	switch {
	case a.Value != nil:
		fmt.Fprintf(&b, "value:       %s\n", *a.Value)
	case a.Withheld:
		fmt.Fprintf(&b, "value:       %s\n", withheld)
	}
	fmt.Fprintf(&b, "derivation:  %s\n", a.Derivation)
	if a.Note != "" {
		fmt.Fprintf(&b, "note:        %s\n", a.Note)
	}
	var chain []string
	if len(a.Raw) > 0 {
		chain = append(chain, strings.Join(a.Raw, ", "))
	}
	for _, n := range a.Nodes {
		what := n.Stage + " " + n.StageVersion
		if n.Command != "" {
			what = "command"
		}
		chain = append(chain, fmt.Sprintf("[%s: %s, %s] %s", n.Node, what, n.Status, n.Output))
	}
	fmt.Fprintf(&b, "chain:       %s\n", strings.Join(chain, "\n             -> "))
	if a.Suppressed {
		fmt.Fprintf(&b, "patches:     not shown (a suppressed cell)\n")
		fmt.Fprintf(&b, "sources:     not shown (a suppressed cell)\n")
	} else {
		printWhySources(&b, a, all)
	}
	r := a.Artifact

	fmt.Fprintf(&b, "artifact:    %s %s, %d bytes, node %s, %s %s, action %s, bethel %s\n",
		r.Path, r.Hash.Short(), r.Size, r.Node, r.Status, r.Built, r.ActionKey.Short(), r.Bethel)
	for _, l := range []struct {
		name string
		fs   []provenance.FileHash
	}{{"inputs", r.Inputs}, {"config", r.Config}, {"patches", r.Patches}} {
		if len(l.fs) == 0 {
			continue
		}
		var s []string
		for _, f := range l.fs {
			s = append(s, f.Path+" "+f.Hash.Short())
		}
		fmt.Fprintf(&b, "  %-8s   %s\n", l.name+":", strings.Join(s, ", "))
	}
	if r.HasLineage() {
		fmt.Fprintf(&b, "  lineage:   %s\n", r.Lineage.Short())
	}
	io.WriteString(out, b.String())
}

// workbookCell turns WORKBOOK.xlsx!SHEET!C3 into the CSV cell it shows,
// as the workbook's stage says (stage.CellMapper). WORKBOOK may be the
// output's path or its file name.
func workbookCell(p *pipeline.Pipeline, t whyTarget) (whyTarget, error) {
	var n *pipeline.Node
	for path, prod := range p.Producer {
		if path == t.book || strings.HasSuffix(path, "/"+t.book) {
			if n != nil && n != prod {
				return t, usagef("why: several outputs are named %s: give its path", t.book)
			}
			n, t.book = prod, path
		}
	}
	if n == nil {
		return t, usagef("why: no node writes %s", t.book)
	}
	row, col, ok := cellref.A1(t.ref)
	if !ok {
		return t, usagef("why: %q is not a cell (a column's letters and a row number: C3)", t.ref)
	}
	if row < 2 {
		return t, usagef("why: %s row %d is the header; ask about a data row (from 2)", t.ref, row)
	}
	st, _ := stages.Registry().Lookup(n.Stage)
	cm, ok := st.(stage.CellMapper)
	if !ok || !n.IsStage() {
		return t, usagef("why: %s is written by node %s, whose stage does not say which cell of its inputs a cell shows", t.book, n.Name)
	}
	r, err := graph.QueryRun(p, n, graph.Query{Outputs: true})
	if err != nil {
		return t, err
	}
	c, err := cm.MapCell(r, t.book, t.sheet, row, col)
	if err != nil {
		return t, &ExitError{Code: 1, Err: fmt.Errorf("why: %s: %w", t.book, err)}
	}
	t.path, t.row, t.col = c.Path, c.Row, strconv.Itoa(c.Col)
	return t, nil
}
