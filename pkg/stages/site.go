package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"bethel/pkg/csvio"
	"bethel/pkg/explain"
	"bethel/pkg/graphfile"
	"bethel/pkg/scrub"
	"bethel/pkg/site"
	"bethel/pkg/stage"
)

// siteStage is the `site` stage: the review site (pkg/site renders it;
// this file gathers what it shows). It reads only internal and public
// artifacts, which it checks against the pipeline graph, and reads two
// kinds of engine artifacts among its inputs: the static graph
// ("graph:", required) and the cell lineage of the summaries whose cells
// link to their records ("lineage:out/summary/attendance.csv", ...), which
// it follows to the raw source records with pkg/explain.
//
// Inputs, found by base name, each optional unless said otherwise:
// attendance.csv (required: the totals), days.csv, meals.csv,
// tshirts.csv, housing.csv, dietary.csv, duplicates.csv (summaries);
// bethels.csv (city and district of each bethel); schedule.csv (the
// sessions and their expected attendance), schedule.json (event name,
// days, cancelled sessions), issues.csv, schedule.ics (copied); patches.json
// (the corrections report of the patches.report stage, which also gives
// the time of the export).
//
// Outputs: every file of site.Files, found by base name, plus
// schedule.ics when the calendar is an input. build.js is not an output:
// the CLI writes it after every build, and keeping build times out of the
// stage's inputs is what keeps the site deterministic.
//
// No params. The node must not be public: lineage names record keys.
type siteStage struct{}

func init() { register(siteStage{}) }

func (siteStage) Name() string    { return "site" }
func (siteStage) Version() string { return "2" }

// siteSummary describes how one summary input is shown on the overview.
type siteSummary struct {
	base, id, heading, caption string
}

// siteKnown are the headings and captions of the sample's summaries. Any
// other summary input is shown the same way, under a heading made from
// its file name (siteSummaryOf): a summary declared in pipeline.toml
// needs no code here.
var siteKnown = map[string]siteSummary{
	"days.csv":    {"days.csv", "days", "Attendance per day", "Active registrations attending each day, by member type"},
	"meals.csv":   {"meals.csv", "meals", "Banquet meals", "Banquet meal choices by member type"},
	"tshirts.csv": {"tshirts.csv", "tshirts", "T-shirts", "T-shirts to order by size"},
	"housing.csv": {"housing.csv", "housing", "Housing", "Active registrations by housing"},
	"dietary.csv": {"dietary.csv", "dietary", "Dietary needs and allergies", "Registrations per dietary or allergy category (one registration can be in several)"},
}

// siteNotSummaries are the CSV inputs the site reads for other parts.
var siteNotSummaries = map[string]bool{"attendance.csv": true, "duplicates.csv": true, BethelsFile: true, "schedule.csv": true, "issues.csv": true}

// siteSummaryOf is how a summary input is shown: the sample's by name,
// any other under its file name ("choir_singers.csv": "Choir singers").
func siteSummaryOf(base string) siteSummary {
	if s, ok := siteKnown[base]; ok {
		return s
	}
	id := strings.TrimSuffix(base, ".csv")
	heading := strings.NewReplacer("_", " ", "-", " ").Replace(id)
	if heading != "" {
		heading = strings.ToUpper(heading[:1]) + heading[1:]
	}
	return siteSummary{base: base, id: "summary-" + id, heading: heading, caption: "Active registrations by " + heading}
}

// summaryBases are the summary inputs in the node's input order: every
// CSV that is not config and not one the site reads for another part.
func (b *siteBuilder) summaryBases() []string {
	var out []string
	for _, in := range b.r.Inputs {
		base := path.Base(in)
		if strings.HasSuffix(base, ".csv") && !siteNotSummaries[base] && !strings.HasPrefix(in, "config/") && b.byName[base] == in {
			out = append(out, base)
		}
	}
	return out
}

// siteCountCols are the columns of summary CSVs that hold counts.
var siteCountCols = map[string]bool{"daughters": true, "adults": true, "guests": true, "total": true, "count": true, "expected": true}

// siteLabels are the display names of known columns.
var siteLabels = map[string]string{"bethel": "Bethel", "bethel_name": "Name", "city": "City", "district": "District",
	"daughters": "Daughters", "adults": "Adults", "guests": "Guests", "total": "Total", "count": "Count",
	"day": "Day", "meal": "Meal", "size": "Size", "housing": "Housing", "category": "Category",
	"registration_id_a": "Registration", "registration_id_b": "Possible duplicate of", "rule": "Rule"}

func (siteStage) Run(ctx context.Context, r *stage.Run) error {
	if r.Visibility == stage.Public {
		return fmt.Errorf("node %s: the review site shows lineage, which names record keys (internal data); its visibility must be internal, not public", r.Node)
	}
	graph, err := readGraph(r)
	if err != nil {
		return err
	}
	if err := siteCheckInputs(r, graph); err != nil {
		return err
	}
	outs := map[string]string{}
	for _, o := range r.Outputs {
		b := path.Base(o)
		if outs[b] != "" {
			return fmt.Errorf("node %s: two outputs named %s", r.Node, b)
		}
		outs[b] = o
	}
	for _, f := range site.Files {
		if outs[f] == "" {
			return fmt.Errorf("node %s: stage site writes %s; add out/site/%s to the node's outputs", r.Node, f, f)
		}
	}
	b := &siteBuilder{r: r, lin: &siteLineage{cells: map[string]*site.Cell{}}, byName: map[string]string{},
		graph: graph, ex: newSiteExplainer(r, graph)}
	for _, in := range r.Inputs {
		if !stage.IsEngineInput(in) {
			b.byName[path.Base(in)] = in
		}
	}
	// startExplain's walk may still be reading lineage when the stage
	// gives up: it must not be left reading the node's inputs on its own.
	defer b.ex.src.wait()
	defer b.waitExplain()
	b.startExplain()
	s, err := b.build()
	if err != nil {
		return err
	}
	icsIn, icsOut := b.byName["schedule.ics"], outs["schedule.ics"]
	switch {
	case icsIn != "" && icsOut == "":
		return fmt.Errorf("node %s: add out/site/schedule.ics to the outputs, so that the program's calendar link works", r.Node)
	case icsIn == "" && icsOut != "":
		return fmt.Errorf("node %s: output %s needs out/program/schedule.ics among the inputs", r.Node, icsOut)
	case icsIn != "":
		if s.Program != nil {
			s.Program.ICS = "schedule.ics"
		}
		data, err := readAll(r, icsIn)
		if err != nil {
			return err
		}
		w, err := r.Create(icsOut)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	for base, o := range outs {
		if base != "schedule.ics" && !slices.Contains(site.Files, base) {
			return fmt.Errorf("node %s: stage site does not write %s (it writes %s and schedule.ics)", r.Node, o, strings.Join(site.Files, ", "))
		}
	}
	// The pages that show no lineage are rendered on another core while
	// the engine resolves it.
	w, err := site.Begin(s, func(name string) (io.Writer, error) { return r.Create(outs[name]) })
	if err != nil {
		return err
	}
	if err := b.lineage(s); err != nil {
		w.Wait()
		return err
	}
	return w.Finish()
}

// siteCheckInputs refuses a private input: the site is published to every
// organizer, and only internal and public artifacts are fit for that.
func siteCheckInputs(r *stage.Run, graph []graphfile.Node) error {
	producer := map[string]*graphfile.Node{}
	for i := range graph {
		for _, o := range graph[i].Outputs {
			producer[o] = &graph[i]
		}
	}
	for _, in := range r.Inputs {
		if p := producer[in]; p != nil && p.Visibility == string(stage.Private) {
			return fmt.Errorf("node %s: the review site reads %s, a private output of node %s; it may read only internal and public outputs", r.Node, in, p.Name)
		}
		if strings.HasPrefix(in, "inputs/") {
			return fmt.Errorf("node %s: the review site reads the raw input %s; it may read only internal and public outputs and config", r.Node, in)
		}
	}
	return nil
}

// siteBuilder gathers a site.Site from the stage's inputs.
type siteBuilder struct {
	r       *stage.Run
	byName  map[string]string // base name -> input path
	lin     *siteLineage
	pending []sitePending
	graph   []graphfile.Node
	ex      *siteExplainer
	// explained is closed when startExplain's walk answered (ans or
	// ansErr) about asked.
	explained chan struct{}
	asked     []string
	ans       *explain.Explained
	ansErr    error
}

// siteCSV is one summary CSV: header and unescaped rows.
type siteCSV struct {
	path   string
	header []string
	rows   [][]string
	// counts are columns known to hold counts besides siteCountCols.
	counts map[string]bool
}

// countColumns marks as counts every column but the first whose cells
// are all counts: what summary.count writes after its label columns.
func (t *siteCSV) countColumns() {
	t.counts = map[string]bool{}
	for c := 1; c < len(t.header); c++ {
		all := len(t.rows) > 0
		for _, row := range t.rows {
			if n, err := strconv.Atoi(row[c]); err != nil || n < 0 || strconv.Itoa(n) != row[c] {
				all = false
				break
			}
		}
		t.counts[t.header[c]] = all
	}
}

// chart picks how a summary is drawn: stacked by member type when it has
// those columns, else bars of its total or of its one count column.
func (t *siteCSV) chart() (site.ChartKind, string) {
	if t.col("daughters") >= 0 && t.col("adults") >= 0 && t.col("guests") >= 0 {
		return site.ChartStacked, ""
	}
	if t.col("total") >= 0 {
		return site.ChartBars, "total"
	}
	var counts []string
	for _, h := range t.header {
		if t.counts[h] {
			counts = append(counts, h)
		}
	}
	if len(counts) == 1 {
		return site.ChartBars, counts[0]
	}
	return site.NoChart, ""
}

func (b *siteBuilder) readCSV(base string) (*siteCSV, error) {
	p := b.byName[base]
	if p == "" {
		return nil, nil
	}
	f, err := b.r.FS.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := &siteCSV{path: p}
	if t.header, t.rows, err = csvio.ReadAll(f, p); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *siteCSV) col(name string) int { return slices.Index(t.header, name) }

// table turns a summary CSV into a site table; count columns become
// cells with lineage (from Explain), and a TOTAL row goes into the foot.
func (b *siteBuilder) table(t *siteCSV, id, heading, caption string) (*site.Table, error) {
	st := &site.Table{ID: id, Heading: heading, Caption: caption, Path: t.path}
	for i, h := range t.header {
		label := siteLabels[h]
		if label == "" {
			label = h
		}
		c := site.Col{Name: h, Label: label, Count: siteCountCols[h] || t.counts[h], Header: i == 0}
		c.Numeric = c.Count
		st.Cols = append(st.Cols, c)
	}
	for i, row := range t.rows {
		sr := site.Row{N: i + 1, Cells: row}
		if len(row) > 0 && row[0] == "TOTAL" {
			st.Foot = append(st.Foot, sr)
		} else {
			st.Rows = append(st.Rows, sr)
		}
	}
	if err := b.explain(t, st.Cols); err != nil {
		return nil, err
	}
	return st, nil
}

// explain notes that t's count cells need their lineage; explainAll asks
// for every table's at once.
func (b *siteBuilder) explain(t *siteCSV, cols []site.Col) error {
	want := map[string]bool{}
	for _, c := range cols {
		if c.Count {
			want[c.Name] = true
		}
	}
	if len(want) > 0 {
		b.pending = append(b.pending, sitePending{t, want})
	}
	return nil
}

// sitePending is a table whose count columns need lineage.
type sitePending struct {
	t    *siteCSV
	want map[string]bool
}

// startExplain walks, on another goroutine, the lineage of every table
// the site shows at once, so that the source and patch tables come back
// shared; the stage reads its inputs and renders the pages that show no
// lineage meanwhile. It runs first, with the tables named by
// earlyPaths; explainAll takes the answer, and asks again should build
// have found other tables.
func (b *siteBuilder) startExplain() {
	done := make(chan struct{})
	b.explained = done
	b.asked = b.earlyPaths()
	if len(b.asked) == 0 {
		close(done)
		return
	}
	go func() {
		defer close(done)
		b.ans, b.ansErr = b.ex.explain(b.asked...)
	}()
}

// earlyPaths lists, from their headers alone and in build's order, the
// tables whose lineage build will want (sitePending): attendance, the
// summaries and duplicates when they have a count column, the schedule
// always.
func (b *siteBuilder) earlyPaths() []string {
	var out []string
	summary := map[string]bool{}
	for _, base := range b.summaryBases() {
		summary[base] = true
	}
	for _, base := range b.lineageBases() {
		p := b.byName[base]
		if p == "" {
			continue
		}
		if base == "schedule.csv" || summary[base] {
			out = append(out, p)
			continue
		}
		f, err := b.r.FS.Open(p)
		if err != nil {
			continue // build reports it
		}
		x, err := csvio.NewReader(f, p)
		f.Close()
		if err != nil {
			continue
		}
		if slices.ContainsFunc(x.Header(), func(h string) bool { return siteCountCols[h] }) {
			out = append(out, p)
		}
	}
	return out
}

// lineageBases are the inputs build may ask lineage for, in its order.
func (b *siteBuilder) lineageBases() []string {
	out := []string{"attendance.csv"}
	out = append(out, b.summaryBases()...)
	return append(out, "duplicates.csv", "schedule.csv")
}

// siteReasked counts the runs whose early guess at the tables
// (earlyPaths) was wrong, so that they walked the lineage twice; tests
// keep it at zero.
var siteReasked atomic.Int64

// waitExplain waits for the answer startExplain asked for, if any.
func (b *siteBuilder) waitExplain() {
	if b.explained != nil {
		<-b.explained
	}
}

// explainAll keeps the answer to startExplain's question.
func (b *siteBuilder) explainAll() error {
	b.waitExplain()
	if len(b.pending) == 0 {
		return nil
	}
	paths := make([]string, len(b.pending))
	for i, p := range b.pending {
		paths[i] = p.t.path
	}
	if !slices.Equal(paths, b.asked) {
		// The headers said otherwise than the files read in full (an
		// input that could not be read early): ask for what build found.
		siteReasked.Add(1)
		b.ans, b.ansErr = b.ex.explain(paths...)
	}
	ex, err := b.ans, b.ansErr
	if err != nil {
		return fmt.Errorf("node %s: lineage: %w", b.r.Node, err)
	}
	if len(ex.Artifacts) != len(b.pending) {
		return fmt.Errorf("node %s: lineage: asked for %d inputs, answered %d", b.r.Node, len(b.pending), len(ex.Artifacts))
	}
	if err := b.lin.check(ex); err != nil {
		return fmt.Errorf("node %s: %w", b.r.Node, err)
	}
	for i, p := range b.pending {
		a := &ex.Artifacts[i]
		if a.NoLineage {
			// Lineage switched off (BETHEL_LINEAGE=off) or a command
			// node's output: the numbers still show, and a click says
			// there is no lineage to show.
			continue
		}
		t := p.t
		value := func(row int, col string) (string, bool) {
			c := t.col(col)
			if row < 0 || row >= len(t.rows) || c < 0 {
				return "", false
			}
			return t.rows[row][c], true
		}
		if err := b.lin.add(a, p.want, value); err != nil {
			return fmt.Errorf("node %s: %w", b.r.Node, err)
		}
	}
	return nil
}

func (b *siteBuilder) build() (*site.Site, error) {
	s := &site.Site{Title: "Event"}
	att, err := b.readCSV("attendance.csv")
	if err != nil {
		return nil, err
	}
	if att == nil {
		return nil, fmt.Errorf("node %s: stage site needs out/summary/attendance.csv among its inputs", b.r.Node)
	}
	if err := b.attendance(s, att); err != nil {
		return nil, err
	}
	for _, base := range b.summaryBases() {
		sum := siteSummaryOf(base)
		t, err := b.readCSV(sum.base)
		if err != nil {
			return nil, err
		}
		t.countColumns()
		st, err := b.table(t, sum.id, sum.heading, sum.caption)
		if err != nil {
			return nil, err
		}
		st.Chart, st.ChartCol = t.chart()
		st.Print = true
		s.Overview = append(s.Overview, st)
	}
	if t, err := b.readCSV("duplicates.csv"); err != nil {
		return nil, err
	} else if t != nil {
		st, err := b.table(t, "duplicates", "Possible duplicates", "Pairs of registrations that may be the same person (same name and birth date, or same email and name); an organizer decides with a drop patch")
		if err != nil {
			return nil, err
		}
		st.Empty = "No possible duplicates."
		s.Extra = append(s.Extra, st)
	}
	if err := b.program(s); err != nil {
		return nil, err
	}
	if err := b.corrections(s); err != nil {
		return nil, err
	}
	for _, n := range siteNodes(b.graph) {
		s.Nodes = append(s.Nodes, site.Node{Name: n.Name, Stage: n.Stage, Version: n.StageVersion, Command: n.Command,
			Inputs: n.Inputs, Patches: n.Patches, Outputs: n.Outputs, Visibility: n.Visibility, Declassify: n.Declassify, Deps: n.Deps})
	}
	return s, nil
}

// lineage asks for the lineage of every count cell and fills what shows
// it: the site's lineage and the cells each patch changed.
func (b *siteBuilder) lineage(s *site.Site) error {
	if err := b.explainAll(); err != nil {
		return err
	}
	s.Lineage = b.lin.result()
	// The engine reads no patch file, so reasons come from the corrections
	// report, which quotes every patch; so do the ids, which it withholds
	// where one names a person. A patch is known by its file and line.
	cells := b.lin.cellsByPatch(s.Lineage)
	shown := map[patchAt]*site.Patch{}
	if s.Corrections != nil {
		for i := range s.Corrections.Files {
			for j := range s.Corrections.Files[i].Patches {
				p := &s.Corrections.Files[i].Patches[j]
				at := patchAt{p.File, p.Line}
				p.Cells = cells[at]
				shown[at] = p
			}
		}
	}
	for i := range s.Lineage.Patches {
		lp := &s.Lineage.Patches[i]
		if p := shown[patchAt{lp.File, lp.Line}]; p != nil {
			lp.ID, lp.Reason = p.ID, p.Reason
			continue
		}
		// No report quotes it: the patterns still withhold what looks
		// like an email, a phone number or a birth date.
		var patterns *scrub.Set
		lp.ID, _ = patterns.Scrub(lp.ID)
	}
	return nil
}

// AttendanceColumns is the header of the attendance summary (a
// summary.count by bethel, and its public twin) that the site reads.
var AttendanceColumns = []string{"bethel", "bethel_name", "daughters", "adults", "guests", "total"}

// attendance fills the totals and the attendance-by-bethel table, with
// city and district from the bethel directory when it is an input.
func (b *siteBuilder) attendance(s *site.Site, att *siteCSV) error {
	for _, c := range AttendanceColumns {
		if att.col(c) < 0 {
			return fmt.Errorf("%s: no column %q (header has %s)", att.path, c, strings.Join(att.header, ", "))
		}
	}
	var dir *Bethels
	if f := b.byName[BethelsFile]; f != "" {
		var err error
		if dir, err = LoadBethels(b.r.FS, f); err != nil {
			return err
		}
	}
	// The table shows attendance.csv's columns with city and district
	// after the name; only attendance's own columns have lineage.
	st, err := b.table(att, "attendance", "Attendance by bethel", "Active registrations by bethel and member type")
	if err != nil {
		return err
	}
	st.Sortable, st.Print = true, true
	nameAt := att.col("bethel_name")
	extra := 0
	if dir != nil {
		cols := append([]site.Col(nil), st.Cols[:nameAt+1]...)
		cols = append(cols, site.Col{Name: "city", Label: "City"}, site.Col{Name: "district", Label: "District"})
		st.Cols = append(cols, st.Cols[nameAt+1:]...)
		extra = 2
	}
	st.Cols[att.col("bethel")].Numeric = true
	widen := func(rows []site.Row) {
		for i := range rows {
			row := rows[i].Cells
			if extra == 0 {
				continue
			}
			city, district := "", ""
			if n, err := strconv.Atoi(row[att.col("bethel")]); err == nil && dir.ByNumber[n] != nil {
				city, district = dir.ByNumber[n].City, dir.ByNumber[n].District
			}
			cells := append([]string(nil), row[:nameAt+1]...)
			cells = append(cells, city, district)
			rows[i].Cells = append(cells, row[nameAt+1:]...)
		}
	}
	widen(st.Rows)
	widen(st.Foot)
	s.Bethels = st

	if len(st.Foot) != 1 {
		return fmt.Errorf("%s: want one TOTAL row, have %d", att.path, len(st.Foot))
	}
	total := att.rows[st.Foot[0].N-1]
	num := func(col string) (int, error) {
		n, err := strconv.Atoi(total[att.col(col)])
		if err != nil {
			return 0, fmt.Errorf("%s: TOTAL %s %q is not a count", att.path, col, total[att.col(col)])
		}
		return n, nil
	}
	for _, t := range []struct{ name, col, label string }{
		{"registrations", "total", "Registrations"}, {"daughters", "daughters", "Daughters"}, {"adults", "adults", "Adults"}, {"guests", "guests", "Guests"},
	} {
		n, err := num(t.col)
		if err != nil {
			return err
		}
		s.Totals = append(s.Totals, site.Total{Name: t.name, Label: t.label, Value: n})
	}
	represented := 0
	for _, r := range st.Rows {
		if n, _ := strconv.Atoi(att.rows[r.N-1][att.col("total")]); n > 0 {
			represented++
		}
	}
	s.Totals = append(s.Totals, site.Total{Name: "bethels", Label: "Bethels represented", Value: represented})
	return nil
}

// program fills the program page from schedule.csv (sessions, with the
// row numbers their expected cells are named by), schedule.json (event,
// days, cancelled sessions) and issues.csv.
func (b *siteBuilder) program(s *site.Site) error {
	sched, err := b.readCSV("schedule.csv")
	if err != nil || sched == nil {
		return err
	}
	for _, c := range ScheduleColumns {
		if sched.col(c) < 0 {
			return fmt.Errorf("%s: no column %q", sched.path, c)
		}
	}
	p := &site.Program{Path: sched.path}
	var doc scheduleJSONDoc
	if f := b.byName["schedule.json"]; f != "" {
		data, err := readAll(b.r, f)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		p.Event, p.TimeZone = doc.Event.Name, doc.Event.TimeZone
		if doc.Event.Name != "" {
			s.Title = doc.Event.Name
		}
		for _, d := range doc.Days {
			p.Days = append(p.Days, site.Day{Name: d.Name, Date: d.Date})
		}
	}
	patched := map[string][]string{}
	for _, js := range doc.Sessions {
		patched[js.ID] = js.Patches
	}
	issues := map[string][]string{}
	if t, err := b.readCSV("issues.csv"); err != nil {
		return err
	} else if t != nil {
		for _, c := range IssueColumns {
			if t.col(c) < 0 {
				return fmt.Errorf("%s: no column %q", t.path, c)
			}
		}
		for _, row := range t.rows {
			is := site.Issue{Rule: row[t.col("rule")], Level: row[t.col("level")], Session: row[t.col("session")], Other: row[t.col("other")], Detail: row[t.col("detail")]}
			p.Issues = append(p.Issues, is)
			for _, id := range []string{is.Session, is.Other} {
				if id != "" && !slices.Contains(issues[id], is.Rule) {
					issues[id] = append(issues[id], is.Rule)
				}
			}
		}
	}
	rooms := map[string]int{}
	col := func(row []string, c string) string { return row[sched.col(c)] }
	for i, row := range sched.rows {
		ss := site.Session{N: i + 1, ID: col(row, "id"), Title: col(row, "title"), Kind: col(row, "kind"), Day: col(row, "day"),
			Start: clock(col(row, "start")), End: clock(col(row, "end")), Room: col(row, "room"), Bethels: col(row, "bethels"),
			Expected: col(row, "expected"), Patches: patched[col(row, "id")], Issues: issues[col(row, "id")]}
		ss.Capacity, _ = strconv.Atoi(col(row, "capacity"))
		if e, err := strconv.Atoi(ss.Expected); err == nil && ss.Capacity > 0 && e > ss.Capacity {
			ss.OverCapacity = true
		}
		if _, ok := rooms[ss.Room]; !ok {
			rooms[ss.Room] = ss.Capacity
		}
		p.Sessions = append(p.Sessions, ss)
	}
	for name, c := range rooms {
		p.Rooms = append(p.Rooms, site.Room{Name: name, Capacity: c})
	}
	// Big rooms first: the plenary hall is the column people look for.
	sort.Slice(p.Rooms, func(i, j int) bool {
		if p.Rooms[i].Capacity != p.Rooms[j].Capacity {
			return p.Rooms[i].Capacity > p.Rooms[j].Capacity
		}
		return p.Rooms[i].Name < p.Rooms[j].Name
	})
	for _, js := range doc.Cancelled {
		p.Cancelled = append(p.Cancelled, site.Session{ID: js.ID, Title: js.Title, Kind: js.Kind, Day: js.Day, Start: clock(js.Start), End: clock(js.End), Room: js.Room, Patches: js.Patches})
	}
	if err := b.explain(sched, []site.Col{{Name: "expected", Count: true}}); err != nil {
		return err
	}
	s.Program = p
	return nil
}

// clock turns an RFC 3339 time into its local HH:MM; anything else is
// shown as written.
func clock(s string) string {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Format("15:04")
	}
	return s
}

// corrections fills the corrections log from the patches.report output.
func (b *siteBuilder) corrections(s *site.Site) error {
	f := b.byName["patches.json"]
	if f == "" {
		return nil
	}
	data, err := readAll(b.r, f)
	if err != nil {
		return err
	}
	var doc PatchesReport
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("%s: not a patches.report output: %v", f, err)
	}
	if doc.Export != nil && doc.Export.Latest != "" {
		s.Export = doc.Export.Latest
		s.ExportNote = fmt.Sprintf("the latest %s in %s", doc.Export.Field, doc.Export.File)
	}
	c := &site.Corrections{Source: f}
	fileAt := map[string]int{}
	for _, rep := range doc.Reports {
		if len(rep.Counts) > 0 {
			var parts []string
			for _, k := range sortedKeys(rep.Counts) {
				parts = append(parts, fmt.Sprintf("%d %s", rep.Counts[k], strings.ReplaceAll(k, "_", " ")))
			}
			c.Counts = append(c.Counts, fmt.Sprintf("%s (%s): %s", rep.Target, rep.From, strings.Join(parts, ", ")))
		}
		for _, e := range rep.Patches {
			i, ok := fileAt[e.File]
			if !ok {
				i = len(c.Files)
				fileAt[e.File] = i
				c.Files = append(c.Files, site.PatchFile{File: e.File})
			}
			p := site.Patch{ID: e.ID, File: e.File, Line: e.Line, Target: e.Target, Kind: e.Kind, Status: e.Status, Message: e.Message,
				Reason: e.Reason, Author: e.Author, Date: e.Date}
			for _, ch := range e.Changes {
				p.Changes = append(p.Changes, site.Change{Key: ch.Key, Op: ch.Op, Field: ch.Field, Old: ch.Old, New: ch.New, Withheld: ch.Withheld})
			}
			c.Files[i].Patches = append(c.Files[i].Patches, p)
		}
	}
	sort.SliceStable(c.Files, func(i, j int) bool { return c.Files[i].File < c.Files[j].File })
	for i := range c.Files {
		sort.SliceStable(c.Files[i].Patches, func(x, y int) bool { return c.Files[i].Patches[x].Line < c.Files[i].Patches[y].Line })
	}
	s.Corrections = c
	return nil
}
