// Package site renders the review site: static HTML pages, a stylesheet, a
// small script and the precomputed lineage of every number, from a Site
// value the caller fills in. It knows nothing of the engine, the stages or
// CSV files: whatever builds a Site decides where the numbers come from,
// and this package only decides how they look and how they explain
// themselves. Rendering is deterministic: the same Site gives the same
// bytes.
//
// The DOM contract the browser tests rely on (docs/site.md has it in full):
// every count cell is `<td class="count" data-cell="PATH:ROW:COL">` holding
// a `<button type="button" class="why">`; a click fills the one
// `<section id="lineage">` of the page, whose `<span class="lineage-count">`
// is the number of distinct source records; overview totals are
// `<dd data-total="NAME">`.
package site

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Page file names, fixed so that links, the engine's outputs and the tests
// can rely on them.
const (
	IndexPage       = "index.html"
	BethelsPage     = "bethels.html"
	ProgramPage     = "program.html"
	CorrectionsPage = "corrections.html"
	PipelinePage    = "pipeline.html"
	StyleFile       = "site.css"
	ScriptFile      = "site.js"
	LineageFile     = "lineage.js"
	// BuildFile is written by the CLI after every build, not by the site
	// stage: it holds volatile facts (times, ran or restored) that would
	// make the site's own bytes change on every build.
	BuildFile = "build.js"
)

// Files are the files Write creates, in the order it creates them.
var Files = []string{IndexPage, BethelsPage, ProgramPage, CorrectionsPage, PipelinePage, StyleFile, ScriptFile, LineageFile}

// Site is everything the pages show.
type Site struct {
	// Title is the event's name ("Grand Bethel 2026").
	Title string
	// Export is the time of the registration export (the latest
	// submission it holds), as text; empty when unknown.
	Export string
	// ExportNote says how Export was found, for the reader.
	ExportNote string
	// Totals are the overview's headline numbers.
	Totals []Total
	// Overview are the overview's tables, each drawn as a chart as well
	// when Table.Chart is set.
	Overview []*Table
	// Bethels is the attendance by bethel (sortable); nil when absent.
	Bethels *Table
	// Extra tables shown on the overview after the charts (possible
	// duplicates), without charts.
	Extra []*Table
	// Program is nil when the pipeline builds no program.
	Program *Program
	// Corrections is nil when the pipeline has no corrections report.
	Corrections *Corrections
	// Nodes are the pipeline's nodes in pipeline order.
	Nodes []Node
	// Lineage explains the count cells; cells it lacks say so when clicked.
	Lineage *Lineage
}

// Total is one headline number of the overview.
type Total struct {
	// Name is the data-total attribute: registrations, daughters, adults,
	// guests, bethels.
	Name  string
	Label string
	Value int
	Note  string
}

// Table is one table of counts.
type Table struct {
	// ID is the element id (unique across the site).
	ID      string
	Heading string
	Caption string
	// Path is the artifact the count cells belong to (their data-cell
	// prefix); the table's source line names it.
	Path string
	Cols []Col
	Rows []Row
	// Foot rows (TOTAL) go into <tfoot>: they stay last when sorting and
	// print once.
	Foot     []Row
	Sortable bool
	// Chart draws the table as a horizontal bar chart: ChartStacked by
	// member type (daughters, adults, guests columns), ChartBars by the
	// ChartCol column.
	Chart    ChartKind
	ChartCol string
	// Print marks the tables organizers print (attendance, meals).
	Print bool
	// Empty is said when there are no rows.
	Empty string
}

// ChartKind selects how a table is drawn.
type ChartKind int

const (
	NoChart ChartKind = iota
	ChartStacked
	ChartBars
)

// Col is one column of a Table.
type Col struct {
	// Name is the artifact's header name, the COL of data-cell ids.
	Name  string
	Label string
	// Count columns hold counts with lineage: their cells are buttons.
	Count bool
	// Numeric columns sort as numbers and align right.
	Numeric bool
	// Header marks the column whose cell heads the row (<th scope=row>).
	Header bool
}

// Row is one row of a Table.
type Row struct {
	// N is the 1-based data row of the artifact, the ROW of data-cell ids.
	N     int
	Cells []string
	Class string
}

// Program is the program page.
type Program struct {
	Event    string
	TimeZone string
	Days     []Day
	Rooms    []Room
	// Path is the artifact whose expected column the sessions' counts
	// belong to (out/program/schedule.csv).
	Path      string
	Sessions  []Session
	Cancelled []Session
	Issues    []Issue
	// ICS is the calendar's file name inside the site; empty when none.
	ICS string
}

// Day is one event day.
type Day struct{ Name, Date string }

// Room is one room with its capacity.
type Room struct {
	Name     string
	Capacity int
}

// Session is one session of the program.
type Session struct {
	// N is the 1-based data row in Program.Path; 0 for a cancelled one.
	N                    int
	ID, Title, Kind, Day string
	Start, End           string // HH:MM local time
	Room                 string
	Capacity             int
	Bethels              string
	Expected             string // empty when not computed
	OverCapacity         bool
	Issues               []string // rules this session violates
	Patches              []string
}

// Issue is one schedule-rule finding.
type Issue struct{ Rule, Level, Session, Other, Detail string }

// Corrections is the corrections log.
type Corrections struct {
	// Source names the report the log was read from.
	Source string
	Files  []PatchFile
	// Counts are record counts per target ("registrations: 1534 read").
	Counts []string
}

// PatchFile is the patches of one file, in file order.
type PatchFile struct {
	File    string
	Patches []Patch
}

// Patch is one correction.
type Patch struct {
	ID, File     string
	Line         int
	Target, Kind string
	Status       string
	Message      string
	Reason       string
	Author, Date string
	Changes      []Change
	// Cells are the data-cell ids of the count cells whose lineage lists
	// the patch, sorted.
	Cells []string
}

// Change is one field of one record a patch changed.
type Change struct {
	Key, Op, Field string
	Old, New       string
	// Withheld: the field is sensitive and its values are not shown.
	Withheld bool
}

// Attention reports whether the status fails the build (conflict,
// orphan, ambiguous, invalid): those patches are listed first.
func (p *Patch) Attention() bool {
	switch p.Status {
	case "applied", "redundant", "shadowed":
		return false
	}
	return true
}

// Node is one pipeline node, statically.
type Node struct {
	Name, Stage, Version, Command string
	Inputs, Patches, Outputs      []string
	Visibility, Declassify        string
	Deps                          []string
}

// Lineage is the precomputed lineage of every count cell of the site.
type Lineage struct {
	// Sources and Patches are shared tables that cells name by index.
	Sources []Source
	Patches []PatchRef
	// Cells by data-cell id.
	Cells map[string]*Cell
}

// Source is one raw source record.
type Source struct {
	File string
	Line int
	Key  string
}

// PatchRef is one patch a cell's lineage names.
type PatchRef struct {
	ID, File string
	Line     int
	Reason   string
}

// Cell is the lineage of one count cell.
type Cell struct {
	Value      string
	Derivation string
	Fields     []string
	Nodes      []string
	Sources    []int32 // ascending indexes into Lineage.Sources
	Patches    []int32 // ascending indexes into Lineage.Patches
}

// CellID is the data-cell id of a cell: PATH:ROW:COL, the target `bethel
// why` takes, whose ROW counts rows as a spreadsheet shows them (the
// header is row 1). row is the 1-based data row.
func CellID(path string, row int, col string) string {
	return fmt.Sprintf("%s:%d:%s", path, row+1, col)
}

// Write renders every file of Files through create, which returns the
// writer of one file name.
func Write(s *Site, create func(name string) (io.Writer, error)) error {
	if s.Lineage == nil {
		s.Lineage = &Lineage{}
	}
	if err := s.check(); err != nil {
		return err
	}
	w, err := Begin(s, create)
	if err != nil {
		return err
	}
	return w.Finish()
}

// Writing is a site being written. Begin starts rendering the files that
// show no lineage; the caller fills s.Lineage and the corrections' Cells
// meanwhile (resolving lineage is most of the site's time, and the pages
// need none of it), then calls Finish.
type Writing struct {
	s    *Site
	ws   []io.Writer
	errs []error
	wg   sync.WaitGroup
}

// lineageFile tells the files that show what Finish waits for: the
// lineage itself and the cells each patch changed.
func lineageFile(name string) bool { return name == LineageFile || name == CorrectionsPage }

// Begin checks s (all but its lineage), creates every file of Files
// through create, in order, and renders the files that show no lineage
// in the background. Until Finish returns, the caller may change only
// s.Lineage, s.Corrections and what they point to.
func Begin(s *Site, create func(name string) (io.Writer, error)) (*Writing, error) {
	if err := s.checkPages(); err != nil {
		return nil, err
	}
	w := &Writing{s: s, ws: make([]io.Writer, len(Files)), errs: make([]error, len(Files))}
	for i, name := range Files {
		f, err := create(name)
		if err != nil {
			return nil, err
		}
		w.ws[i] = f
	}
	// One goroutine for all of them: they need a fraction of the time the
	// caller's lineage takes, which is what the other core is for.
	w.wg.Go(func() {
		for i, name := range Files {
			if !lineageFile(name) {
				w.renderNow(i, name)
			}
		}
	})
	return w, nil
}

// render writes file i in the background: Finish renders the two that
// show lineage side by side (the site is usually the last node of a build,
// when the other cores are idle).
func (w *Writing) render(i int, name string) {
	w.wg.Go(func() { w.renderNow(i, name) })
}

func (w *Writing) renderNow(i int, name string) {
	// Templates write in small pieces; one system call per piece was a
	// third of the rendering time at 100,000 rows.
	bw := bufio.NewWriterSize(w.ws[i], 64<<10)
	err := w.s.writeFile(bw, name)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		w.errs[i] = fmt.Errorf("site: %s: %w", name, err)
	}
}

// Finish checks the lineage, renders the files that show it, and waits
// for every file.
func (w *Writing) Finish() error {
	if w.s.Lineage == nil {
		w.s.Lineage = &Lineage{}
	}
	if err := w.s.checkLineage(); err != nil {
		w.Wait()
		return err
	}
	for i, name := range Files {
		if lineageFile(name) {
			w.render(i, name)
		}
	}
	w.wg.Wait()
	return errors.Join(w.errs...)
}

// Wait waits for the files Begin started, for a caller that gives up
// before Finish: the writers must not be written after it returns.
func (w *Writing) Wait() { w.wg.Wait() }

// check refuses a Site whose ids would collide or whose lineage names
// indexes it does not have: either would make a page lie quietly.
func (s *Site) check() error {
	if err := s.checkPages(); err != nil {
		return err
	}
	return s.checkLineage()
}

func (s *Site) checkPages() error {
	ids := map[string]bool{}
	for _, t := range s.tables() {
		if t.ID == "" || ids[t.ID] {
			return fmt.Errorf("site: table id %q is empty or used twice", t.ID)
		}
		ids[t.ID] = true
	}
	ids = map[string]bool{}
	for _, n := range s.Nodes {
		if ids[n.Name] {
			return fmt.Errorf("site: node %q listed twice", n.Name)
		}
		ids[n.Name] = true
	}
	return nil
}

func (s *Site) checkLineage() error {
	// Cells share lists (list): each is read once.
	sorted := map[list]bool{}
	ascending := func(l []int32) bool {
		if len(l) == 0 {
			return true
		}
		k := list{&l[0], len(l)}
		ok, seen := sorted[k]
		if !seen {
			ok = slices.IsSorted(l)
			sorted[k] = ok
		}
		return ok
	}
	for id, c := range s.Lineage.Cells {
		if !ascending(c.Sources) || !ascending(c.Patches) {
			return fmt.Errorf("site: lineage of %s: indexes not ascending", id)
		}
		if len(c.Sources) > 0 && (c.Sources[0] < 0 || int(c.Sources[len(c.Sources)-1]) >= len(s.Lineage.Sources)) {
			return fmt.Errorf("site: lineage of %s: source index out of range", id)
		}
		if len(c.Patches) > 0 && (c.Patches[0] < 0 || int(c.Patches[len(c.Patches)-1]) >= len(s.Lineage.Patches)) {
			return fmt.Errorf("site: lineage of %s: patch index out of range", id)
		}
	}
	return nil
}

// tables lists every table of the site.
func (s *Site) tables() []*Table {
	var ts []*Table
	ts = append(ts, s.Overview...)
	if s.Bethels != nil {
		ts = append(ts, s.Bethels)
	}
	ts = append(ts, s.Extra...)
	return ts
}

// cellPages maps each data-cell id shown on a page to that page and the
// id of the element holding it, so that the corrections log can link a
// patch's cells.
func (s *Site) cellPages() map[string]string {
	m := map[string]string{}
	add := func(page string, t *Table) {
		for _, rows := range [][]Row{t.Rows, t.Foot} {
			for _, r := range rows {
				for _, c := range t.Cols {
					if c.Count {
						m[CellID(t.Path, r.N, c.Name)] = page + "#" + t.ID
					}
				}
			}
		}
	}
	for _, t := range s.Overview {
		add(IndexPage, t)
	}
	for _, t := range s.Extra {
		add(IndexPage, t)
	}
	if s.Bethels != nil {
		add(BethelsPage, s.Bethels)
	}
	if p := s.Program; p != nil {
		for _, ss := range p.Sessions {
			if ss.Expected != "" {
				m[CellID(p.Path, ss.N, "expected")] = ProgramPage + "#sessions"
			}
		}
	}
	return m
}
