package stages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"bethel/pkg/csvio"
	"bethel/pkg/ics"
	"bethel/pkg/lineage"
	"bethel/pkg/patch"
	"bethel/pkg/pos"
	"bethel/pkg/stage"
)

// program builds the enriched program: it reads inputs/program.csv
// (`id,title,day,start,end,room,kind,bethels`), applies the program
// patches (target "program", key id: time and room changes with set,
// cancellations with drop, additions with add), enriches every session
// from config/schedule.toml (absolute start and end in the event's time
// zone, room capacity) and from the normalized registrations (expected
// attendance: active registrations attending that day from the bethels
// involved), checks the schedule rules, checks the program lock, and
// writes:
//
//   - schedule.csv: id,title,kind,day,date,start_time,end_time,start,end,time_zone,room,capacity,bethels,expected
//     (start and end in RFC 3339 with the zone's offset), sorted by start,
//     end, room order, id;
//   - schedule.json: the event, its days and the same sessions, plus the
//     cancelled ones;
//   - schedule.ics: the calendar (pkg/ics), cancelled sessions kept with
//     STATUS:CANCELLED so that subscribers drop them; UID
//     "<session id>.<event id>@<uid_domain>", SEQUENCE the number of
//     patches that touched the session, DTSTAMP event.stamp;
//   - issues.csv: rule,level,session,other,detail, one row per finding.
//
// Outputs are found by suffix; each is optional, at least one is needed.
//
// Inputs (found by name): program.csv, schedule.toml, and optionally
// registrations.csv with privacy.toml (expected attendance; without them
// the expected column is empty), bethels.csv (bethel numbers checked) and
// program.lock.json (the lock: see ProgramLockFile).
//
// Cells of program.csv: day is a configured day name; start and end are
// HH:MM local times; room is a configured room; bethels is `all` or bethel
// numbers separated by ';' (also ',' or spaces); kind is free text.
// Names compare case-insensitively and are written as configured.
type program struct{}

func init() { register(program{}) }

func (program) Name() string    { return "program" }
func (program) Version() string { return "2" }

// ProgramFields are the columns of inputs/program.csv and the fields
// program patches name.
var ProgramFields = []string{"id", "title", "day", "start", "end", "room", "kind", "bethels"}

// ScheduleColumns is the header of schedule.csv.
// date, start_time and end_time are the local date and times in the event's
// time zone, as the printed program shows them and spreadsheets read them;
// start and end are the same instants in RFC 3339, for tools.
var ScheduleColumns = []string{"id", "title", "kind", "day", "date", "start_time", "end_time", "start", "end", "time_zone", "room", "capacity", "bethels", "expected"}

// IssueColumns is the header of issues.csv.
var IssueColumns = []string{"rule", "level", "session", "other", "detail"}

// Session is one enriched session.
type Session struct {
	ID, Title, Kind, Day, Room string
	// StartMin and EndMin are minutes after local midnight of Day.
	StartMin, EndMin int
	Start, End       time.Time
	// Bethels is "all" or bethel numbers joined by ';' in numeric order.
	Bethels  string
	Capacity int
	// Expected is the expected attendance; -1 when not computed.
	Expected int
	// Patches are the ids of the patches that touched the session, in
	// application order.
	Patches []string
	// At is where the session is defined: its program.csv line, or the
	// add patch's position.
	At pos.Pos
	// Record is the index of the session's record in the patched table.
	Record int
}

// programState is a loaded, patched, enriched-with-config program.
type programState struct {
	sched     *Schedule
	file      string
	table     *patch.Table
	raw       []patch.Record // the table's records before patches
	patches   []*patch.Patch
	report    *patch.Report
	sessions  []*Session // active, in schedule order
	cancelled []*Session // dropped by patches, in id order
	bethels   *Bethels
	// bethelField and daysField are the registrations' fields bound to
	// the bethel and days roles, which expected attendance counts by.
	bethelField, daysField string
}

func (program) Run(ctx context.Context, r *stage.Run) error {
	ps, err := loadProgram(ctx, r, patch.Options{})
	if err != nil {
		return err
	}
	outs := map[string]string{}
	for _, o := range r.Outputs {
		matched := false
		for _, suf := range []string{"schedule.csv", "schedule.json", "schedule.ics", "issues.csv"} {
			if strings.HasSuffix(o, suf) {
				if outs[suf] != "" {
					return fmt.Errorf("node %s: two outputs end in %s", r.Node, suf)
				}
				outs[suf] = o
				matched = true
			}
		}
		if !matched {
			return fmt.Errorf("node %s: stage program writes schedule.csv, schedule.json, schedule.ics and issues.csv; it does not know output %s", r.Node, o)
		}
	}
	if len(outs) == 0 {
		return fmt.Errorf("node %s: stage program needs at least one output", r.Node)
	}
	if err := checkProgramLock(r, ps); err != nil {
		return err
	}
	expRefs, err := expectedAttendance(ctx, r, ps, outs["schedule.csv"] != "" && tracking(r, outs["schedule.csv"]))
	if err != nil {
		return err
	}
	issues := checkRules(ps)
	var fatal pos.List
	for _, is := range issues {
		switch is.Level {
		case "error":
			fatal = append(fatal, pos.Errorf(is.At, "%s: %s", is.Rule, is.Detail))
		case "warning":
			r.Warnf("%s: %s: %s", is.At, is.Rule, is.Detail)
		}
	}
	if len(fatal) > 0 {
		return fatal
	}
	if o := outs["schedule.csv"]; o != "" {
		if err := writeScheduleCSV(r, o, ps, expRefs); err != nil {
			return err
		}
	}
	if o := outs["schedule.json"]; o != "" {
		if err := writeScheduleJSON(r, o, ps); err != nil {
			return err
		}
	}
	if o := outs["schedule.ics"]; o != "" {
		if err := writeScheduleICS(r, o, ps); err != nil {
			return err
		}
	}
	if o := outs["issues.csv"]; o != "" {
		if err := writeIssues(r, o, issues); err != nil {
			return err
		}
	}
	return nil
}

// PatchReport lets `bethel patches` show the program patches.
func (program) PatchReport(ctx context.Context, r *stage.Run, opt patch.Options) (*patch.Report, error) {
	ps, err := loadProgram(ctx, r, opt)
	if ps != nil && ps.report != nil {
		return ps.report, nil
	}
	return nil, err
}

var _ patch.Reporter = program{}

// loadProgram reads the schedule config and the program, applies the
// patches and builds the sessions (without expected attendance). On a
// patch error it returns the state so far (with the report) and the error.
func loadProgram(ctx context.Context, r *stage.Run, opt patch.Options) (*programState, error) {
	sfile, err := r.Input(ScheduleFile)
	if err != nil {
		return nil, err
	}
	sched, err := LoadSchedule(r.FS, sfile)
	if err != nil {
		return nil, err
	}
	ps := &programState{sched: sched}
	if bf, err := r.Input(BethelsFile); err == nil {
		if ps.bethels, err = LoadBethels(r.FS, bf); err != nil {
			return nil, err
		}
	}
	pfile, err := r.Input("program.csv")
	if err != nil {
		return nil, err
	}
	ps.file = pfile
	t, err := readProgram(r, ps)
	if err != nil {
		return nil, err
	}
	ps.table = t
	ps.raw = append([]patch.Record(nil), t.Records...)
	ps.patches, err = patch.Load(r.FS, r.Patches)
	if err != nil {
		return nil, err
	}
	rep, warns, perr := patch.Apply(t, ps.patches, opt)
	ps.report = rep
	rep.Counts = map[string]int{"rows_read": len(t.Records) - countAdded(t)}
	for _, rec := range t.Records {
		switch {
		case rec.Dropped:
			rep.Counts["dropped_by_patch"]++
		default:
			rep.Counts["active"]++
		}
		if rec.Line == 0 {
			rep.Counts["added_by_patch"]++
		}
	}
	for k, v := range rep.Counts {
		if v == 0 && k != "rows_read" && k != "active" {
			delete(rep.Counts, k)
		}
	}
	if perr != nil {
		return ps, perr
	}
	for _, w := range warns {
		r.Warnf("%s", w)
	}
	return ps, buildSessions(ps)
}

func countAdded(t *patch.Table) int {
	n := 0
	for _, rec := range t.Records {
		if rec.Line == 0 {
			n++
		}
	}
	return n
}

// readProgram reads program.csv into a patch table, every value in
// canonical form.
func readProgram(r *stage.Run, ps *programState) (*patch.Table, error) {
	f, err := r.FS.Open(ps.file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, ps.file)
	if err != nil {
		return nil, err
	}
	idx, err := cr.Require(ProgramFields...)
	if err != nil {
		return nil, err
	}
	t := &patch.Table{Name: "program", Fields: ProgramFields, Key: "id", Lists: map[string]bool{"bethels": true},
		ListSep: ";", Source: ps.file, Canon: ps.canon}
	var errs pos.List
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		at := pos.Pos{File: ps.file, Line: rec.Line}
		vals := make([]string, len(ProgramFields))
		id := strings.TrimSpace(rec.Fields[idx[0]])
		for k, field := range ProgramFields {
			v, err := ps.canon(field, rec.Fields[idx[k]]) // the reader undid the formula guard
			if err != nil {
				errs = append(errs, pos.Errorf(at, "session %s: column %s: %v", id, field, err))
			}
			vals[k] = v
		}
		if id != "" {
			if first, dup := seen[id]; dup {
				errs = append(errs, pos.Errorf(at, "session id %s is used twice (first on line %d)", id, first))
			}
			seen[id] = rec.Line
		}
		t.Records = append(t.Records, patch.NewRecord(vals, rec.Line))
	}
	if len(errs) > 25 {
		errs = append(errs[:25], fmt.Errorf("%s: and %d more errors", ps.file, len(errs)-25))
	}
	return t, errs.Err()
}

// canon turns a program value into its canonical form: the program
// table's Canon hook, shared by program.csv cells and patch values.
func (ps *programState) canon(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch field {
	case "id":
		if v == "" {
			return v, fmt.Errorf("empty session id")
		}
		if strings.ContainsAny(v, " \t;,@") {
			return v, fmt.Errorf("session id %q: no spaces, ';', ',' or '@' (it is part of the calendar UID)", v)
		}
	case "title":
		if v == "" {
			return v, fmt.Errorf("empty title")
		}
		v = strings.Join(strings.Fields(v), " ")
	case "day":
		for _, d := range ps.sched.Days {
			if strings.EqualFold(d.Name, v) {
				return d.Name, nil
			}
		}
		return v, fmt.Errorf("day %q is not a day of %s (%s)", v, ps.sched.File, strings.Join(ps.sched.DayNames(), ", "))
	case "start", "end":
		m, err := parseClock(v)
		if err != nil {
			return v, err
		}
		return formatClock(m), nil
	case "room":
		for _, rm := range ps.sched.Rooms {
			if strings.EqualFold(rm.Name, v) {
				return rm.Name, nil
			}
		}
		return v, fmt.Errorf("room %q is not a room of %s (%s)", v, ps.sched.File, strings.Join(ps.sched.RoomNames(), ", "))
	case "kind":
		return strings.ToLower(v), nil
	case "bethels":
		return ps.canonBethels(v)
	}
	return v, nil
}

func (ps *programState) canonBethels(v string) (string, error) {
	if strings.EqualFold(v, "all") {
		return "all", nil
	}
	parts := strings.FieldsFunc(v, func(c rune) bool { return c == ';' || c == ',' || c == ' ' || c == '/' })
	if len(parts) == 0 {
		return v, fmt.Errorf("bethels is empty (want all, or bethel numbers separated by ';')")
	}
	var nums []int
	seen := map[int]bool{}
	for _, p := range parts {
		p = strings.TrimPrefix(p, "#")
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return v, fmt.Errorf("bethels %q: %q is not a bethel number (want all, or numbers separated by ';')", v, p)
		}
		if ps.bethels != nil && ps.bethels.ByNumber[n] == nil {
			return v, fmt.Errorf("bethel %d is not in %s", n, ps.bethels.File)
		}
		if !seen[n] {
			seen[n] = true
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	s := make([]string, len(nums))
	for i, n := range nums {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ";"), nil
}

// buildSessions turns the patched table into sessions.
func buildSessions(ps *programState) error {
	t := ps.table
	byID := map[string][]string{} // session id -> patch ids, from the report
	for i, e := range ps.report.Patches {
		seen := map[string]bool{}
		for _, c := range e.Changes {
			if !seen[c.Key] {
				seen[c.Key] = true
				byID[c.Key] = append(byID[c.Key], ps.patches[i].ID)
			}
		}
	}
	var errs pos.List
	for i := range t.Records {
		rec := &t.Records[i]
		v := rec.Values()
		s := &Session{ID: v[0], Title: v[1], Day: v[2], Room: v[5], Kind: v[6], Bethels: v[7], Expected: -1,
			Patches: byID[v[0]], Record: i, At: pos.Pos{File: ps.file, Line: rec.Line}}
		if rec.Line == 0 {
			if ap := t.Applied(i); len(ap) > 0 {
				s.At = ap[0].Patch.Pos
			}
		}
		for k, f := range ProgramFields {
			if v[k] == "" && f != "kind" {
				errs = append(errs, pos.Errorf(s.At, "session %s: %s is missing", s.ID, f))
			}
		}
		day, ok := ps.sched.Day(s.Day)
		st, err1 := parseClock(v[3])
		en, err2 := parseClock(v[4])
		if !ok || err1 != nil || err2 != nil {
			if v[2] != "" && v[3] != "" && v[4] != "" {
				errs = append(errs, pos.Errorf(s.At, "session %s: bad day or time", s.ID))
			}
			continue
		}
		if en <= st {
			errs = append(errs, pos.Errorf(s.At, "session %s ends (%s) before it starts (%s)", s.ID, v[4], v[3]))
			continue
		}
		s.StartMin, s.EndMin = st, en
		s.Start, s.End = ps.sched.At(day, st), ps.sched.At(day, en)
		if room, ok := ps.sched.Room(s.Room); ok {
			s.Capacity = room.Capacity
		}
		if rec.Dropped {
			ps.cancelled = append(ps.cancelled, s)
		} else {
			ps.sessions = append(ps.sessions, s)
		}
	}
	roomOrder := map[string]int{}
	for i, rm := range ps.sched.Rooms {
		roomOrder[rm.Name] = i
	}
	sort.Slice(ps.sessions, func(i, j int) bool {
		a, b := ps.sessions[i], ps.sessions[j]
		switch {
		case !a.Start.Equal(b.Start):
			return a.Start.Before(b.Start)
		case !a.End.Equal(b.End):
			return a.End.Before(b.End)
		case roomOrder[a.Room] != roomOrder[b.Room]:
			return roomOrder[a.Room] < roomOrder[b.Room]
		}
		return a.ID < b.ID
	})
	sort.Slice(ps.cancelled, func(i, j int) bool { return ps.cancelled[i].ID < ps.cancelled[j].ID })
	return errs.Err()
}

// expectedAttendance fills Session.Expected from the registrations, when
// the node has them, and returns the input rows behind each session's
// count when track is set.
func expectedAttendance(ctx context.Context, r *stage.Run, ps *programState, track bool) ([][]int, error) {
	regs, err := r.Input(RegistrationsFile)
	if err != nil {
		return nil, nil
	}
	out := ""
	for _, o := range r.Outputs {
		if strings.HasSuffix(o, "schedule.csv") {
			out = o
		}
	}
	priv, err := PrivacyOf(r)
	if err != nil {
		return nil, err
	}
	// The bethel and the days are roles: fields of any name in the
	// field declarations.
	bethelF, daysF := "bethel", "days_attending"
	noDays := "" // why the registrations may have no days, when they may
	if sc, err := SchemaOf(r); err == nil {
		if sc.Roles.Bethel != "" {
			bethelF = sc.Roles.Bethel
		}
		if sc.Roles.Days != "" {
			daysF = sc.Roles.Days
		}
		if sc.Field(daysF) == nil {
			file, _ := fieldsFileOf(r)
			noDays = fmt.Sprintf("expected attendance counts by the days role, which %s binds to no field: bind [roles] days to the field of the days attending, or take %s out of the node's inputs (the expected column stays empty)", file, regs)
		}
	}
	var ds []Derivation
	for _, c := range ScheduleColumns {
		if c == "expected" {
			ds = append(ds, Derivation{Column: c, From: []string{bethelF, daysF}, Aggregate: true})
		}
	}
	if err := priv.CheckPrivacy(r.Node, r.Visibility, declassifyOf(r), out, ds); err != nil {
		return nil, err
	}
	ps.bethelField, ps.daysField = bethelF, daysF
	rr, rowIdx, err := readRegistrations(ctx, r, bethelF, daysF)
	if err != nil && noDays != "" {
		return nil, errors.New(noDays)
	}
	if err != nil {
		return nil, err
	}
	nd := len(ps.sched.Days)
	dayIdx := map[string]int{}
	for i, d := range ps.sched.Days {
		dayIdx[d.Name] = i
	}
	// Counting goes by dictionary code (byValue): per distinct
	// days_attending value its day indexes (or the first unknown day), per
	// distinct bethel a dense index; per row then only array work.
	// dupDays notes a value naming a day twice: its rows are then counted
	// and listed twice, as the merge below would list them.
	type days struct {
		idx []int
		bad string
	}
	dupDays := false
	daysOf := newByValue(rr.col(daysF), func(v string) (days, bool) {
		var x days
		if v == "" {
			return x, true
		}
		for _, d := range strings.Split(v, ";") { // once per distinct value (byValue)
			di, ok := dayIdx[d]
			if !ok {
				return days{bad: d}, false
			}
			if slices.Contains(x.idx, di) {
				dupDays = true
			}
			x.idx = append(x.idx, di)
		}
		return x, true
	})
	bethelIdx := map[string]int{}
	bethelOf := newByValue(rr.col(bethelF), func(v string) (int, bool) {
		b, ok := bethelIdx[v]
		if !ok {
			b = len(bethelIdx)
			bethelIdx[v] = b
		}
		return b, true
	})
	rowB := make([]int32, rr.n) // -1: no day
	var counts []int            // [bethel*nd+day]
	all := make([]int, nd)
	for i := 0; i < rr.n; i++ {
		x, ok := daysOf.at(i)
		if !ok {
			return nil, pos.Errorf(pos.Pos{File: rr.file, Line: rr.line(i)}, "day %q of days_attending is not a day of %s (%s); the registrations' [days] and the schedule's [[day]] must agree", x.bad, ps.sched.File, strings.Join(ps.sched.DayNames(), ", "))
		}
		if len(x.idx) == 0 {
			rowB[i] = -1
			continue
		}
		b, _ := bethelOf.at(i)
		rowB[i] = int32(b)
		if need := (b + 1) * nd; need > len(counts) {
			counts = append(counts, make([]int, need-len(counts))...)
		}
		for _, di := range x.idx {
			counts[b*nd+di]++
			all[di]++
		}
	}
	count := func(b string, di int) int {
		if k, ok := bethelIdx[b]; ok && k*nd+di < len(counts) {
			return counts[k*nd+di]
		}
		return 0
	}
	// The row lists, in row order, cut from one array by the counts.
	var rows [][]int // [bethel*nd+day]
	var dayRows [][]int
	if track {
		flat := make([]int, 2*sumInts(all))
		rows = make([][]int, len(counts))
		off := 0
		for k, c := range counts {
			rows[k] = flat[off : off : off+c]
			off += c
		}
		dayRows = make([][]int, nd)
		for di, c := range all {
			dayRows[di] = flat[off : off : off+c]
			off += c
		}
		for i := 0; i < rr.n; i++ {
			if rowB[i] < 0 {
				continue
			}
			x, _ := daysOf.at(i)
			for _, di := range x.idx {
				k := int(rowB[i])*nd + di
				rows[k] = append(rows[k], rowIdx[i])
				dayRows[di] = append(dayRows[di], rowIdx[i])
			}
		}
	}
	var u rowUnion
	var refs [][]int
	for _, s := range ps.sessions {
		di := dayIdx[s.Day]
		var rs []int
		if s.Bethels == "all" {
			s.Expected = all[di]
			if track {
				rs = dayRows[di]
			}
		} else {
			s.Expected = 0
			bethels := strings.Split(s.Bethels, ";")
			for _, b := range bethels {
				s.Expected += count(b, di)
			}
			if track {
				var lists [][]int
				for _, b := range bethels {
					if k, ok := bethelIdx[b]; ok && k*nd+di < len(rows) {
						lists = append(lists, rows[k*nd+di])
					} else {
						lists = append(lists, nil)
					}
				}
				if dupDays || hasDupString(bethels) {
					rs = mergeSorted(lists...)
				} else {
					rs = u.of(lists)
				}
			}
		}
		refs = append(refs, rs)
	}
	if !track {
		refs = nil
	}
	return refs, nil
}

func sumInts(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func hasDupString(xs []string) bool {
	for i, x := range xs {
		if slices.Contains(xs[:i], x) {
			return true
		}
	}
	return false
}

// rowUnion is the sorted union of disjoint ascending lists of row indexes (a
// session's bethels on its day: a row has one bethel), through a bitmap
// over the rows: a few bit operations per row instead of a merge's
// branches, one pass over the rows' words. mergeSorted gives the same
// list; the bitmap is reused from session to session.
type rowUnion struct{ bits []uint64 }

func (u *rowUnion) of(lists [][]int) []int {
	n, lo, hi := 0, -1, -1
	for _, l := range lists {
		if len(l) == 0 {
			continue
		}
		n += len(l)
		if lo < 0 || l[0] < lo {
			lo = l[0]
		}
		hi = max(hi, l[len(l)-1])
	}
	if n == 0 {
		return nil
	}
	if w := hi>>6 + 1; w > len(u.bits) {
		u.bits = make([]uint64, w)
	}
	for _, l := range lists {
		for _, x := range l {
			u.bits[x>>6] |= 1 << (x & 63)
		}
	}
	out := make([]int, 0, n)
	for w := lo >> 6; w <= hi>>6; w++ {
		for b := u.bits[w]; b != 0; b &= b - 1 {
			out = append(out, w<<6|bits.TrailingZeros64(b))
		}
		u.bits[w] = 0
	}
	return out
}

func writeScheduleCSV(r *stage.Run, out string, ps *programState, refs [][]int) error {
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	rec := lineageOf(r, out)
	regs, _ := r.Input(RegistrationsFile)
	cw := csvio.NewWriter(w)
	cw.Write(ScheduleColumns)
	for i, s := range ps.sessions {
		exp := ""
		if s.Expected >= 0 {
			exp = itoa(s.Expected)
		}
		row := []string{s.ID, s.Title, s.Kind, s.Day, s.Start.Format("2006-01-02"), s.Start.Format("15:04"), s.End.Format("15:04"),
			s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339),
			ps.sched.Location.String(), s.Room, itoa(s.Capacity), s.Bethels, exp}
		if err := cw.Write(row); err != nil {
			return err
		}
		if rec != nil {
			lr := lineage.Row{Patches: sessionPatches(ps, s)}
			if s.At.File == ps.file {
				lr.Refs = []lineage.Ref{{Input: ps.file, Row: s.Record}}
			}
			rec.AddRow(lr)
			if refs != nil {
				who := "every bethel"
				if s.Bethels != "all" {
					who = "bethel in " + s.Bethels
				}
				rec.AddCell(countCell(i, "expected", fmt.Sprintf("count of active registrations with %s containing %s and %s", ps.daysField, s.Day, who),
					[]string{ps.bethelField, ps.daysField}, regs, refs[i]))
			}
		}
	}
	return cw.Flush()
}

// sessionPatches is the lineage of the patches that touched a session.
func sessionPatches(ps *programState, s *Session) []lineage.Patch {
	var out []lineage.Patch
	for _, a := range ps.table.Applied(s.Record) {
		out = append(out, lineage.Patch{ID: a.Patch.ID, File: a.Patch.Pos.File, Line: a.Patch.Pos.Line, Fields: a.Fields})
	}
	return out
}

type scheduleJSONDoc struct {
	Event struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		TimeZone string `json:"time_zone"`
	} `json:"event"`
	Days      []scheduleJSONDay     `json:"days"`
	Sessions  []scheduleJSONSession `json:"sessions"`
	Cancelled []scheduleJSONSession `json:"cancelled"`
}

type scheduleJSONDay struct {
	Name   string `json:"name"`
	Date   string `json:"date"`
	Opens  string `json:"opens"`
	Closes string `json:"closes"`
}

type scheduleJSONSession struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Kind     string   `json:"kind"`
	Day      string   `json:"day"`
	Start    string   `json:"start"`
	End      string   `json:"end"`
	Room     string   `json:"room"`
	Capacity int      `json:"capacity"`
	Bethels  []string `json:"bethels"`
	Expected *int     `json:"expected,omitempty"`
	Patches  []string `json:"patches,omitempty"`
}

func jsonSession(s *Session) scheduleJSONSession {
	j := scheduleJSONSession{ID: s.ID, Title: s.Title, Kind: s.Kind, Day: s.Day, Start: s.Start.Format(time.RFC3339),
		End: s.End.Format(time.RFC3339), Room: s.Room, Capacity: s.Capacity, Bethels: strings.Split(s.Bethels, ";"), Patches: s.Patches}
	if s.Expected >= 0 {
		e := s.Expected
		j.Expected = &e
	}
	return j
}

func writeScheduleJSON(r *stage.Run, out string, ps *programState) error {
	var doc scheduleJSONDoc
	doc.Event.ID, doc.Event.Name, doc.Event.TimeZone = ps.sched.ID, ps.sched.Name, ps.sched.Location.String()
	doc.Days = []scheduleJSONDay{}
	for _, d := range ps.sched.Days {
		doc.Days = append(doc.Days, scheduleJSONDay{Name: d.Name, Date: d.Date.Format("2006-01-02"), Opens: formatClock(d.Opens), Closes: formatClock(d.Closes)})
	}
	doc.Sessions = []scheduleJSONSession{}
	for _, s := range ps.sessions {
		doc.Sessions = append(doc.Sessions, jsonSession(s))
	}
	doc.Cancelled = []scheduleJSONSession{}
	for _, s := range ps.cancelled {
		j := jsonSession(s)
		j.Expected = nil
		doc.Cancelled = append(doc.Cancelled, j)
	}
	return writeJSON(r, out, doc)
}

// SessionUID is a session's calendar UID: stable across rebuilds and
// program changes because it is made of ids only, never of times.
func SessionUID(sched *Schedule, sessionID string) string {
	return sessionID + "." + sched.ID + "@" + sched.UIDDomain
}

func writeScheduleICS(r *stage.Run, out string, ps *programState) error {
	cal := &ics.Calendar{ProdID: "-//bethel//" + ps.sched.ID + " program//EN", Name: ps.sched.Name, Location: ps.sched.Location}
	event := func(s *Session, cancelled bool) ics.Event {
		desc := "Bethels: " + s.Bethels
		if s.Kind != "" {
			desc = "Kind: " + s.Kind + "\n" + desc
		}
		e := ics.Event{UID: SessionUID(ps.sched, s.ID), Stamp: ps.sched.Stamp, Start: s.Start, End: s.End,
			Summary: s.Title, Location: s.Room, Description: desc, Cancelled: cancelled, Sequence: len(s.Patches)}
		if s.Kind != "" {
			e.Categories = []string{s.Kind}
		}
		return e
	}
	for _, s := range ps.sessions {
		cal.Events = append(cal.Events, event(s, false))
	}
	for _, s := range ps.cancelled {
		cal.Events = append(cal.Events, event(s, true))
	}
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	return ics.Write(w, cal)
}
