package patch

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/pos"
)

// Table is the generic table patches apply to. A stage builds it from its
// normalized records and reads the records back after Apply.
type Table struct {
	// Name is the target patches must name ("registrations").
	Name string
	// Fields are the canonical fields in output order; Key is the one that
	// names a record in messages and in the report.
	Fields []string
	Key    string
	// Lists are the fields whose values are lists, joined by ListSep in a
	// record (";" when empty); a patch may give them as arrays.
	Lists   map[string]bool
	ListSep string
	// Sensitive fields' values are withheld from messages unless
	// Options.ShowPrivate is set.
	Sensitive map[string]bool
	// Canon, when set, turns a patch's value for field into its canonical
	// form (for example days in configured order), or refuses it. It sees
	// every match, expect, set and add value.
	Canon func(field, value string) (string, error)
	// Required fields may not be left blank: an add must give them, and a
	// set may not blank them.
	Required map[string]bool
	// Source is the file the records were read from, for lineage.
	Source string
	// Records in input order. Apply marks dropped records and appends
	// added ones; it never reorders.
	Records []Record
	// applied maps a record index to the patches that changed it.
	applied map[int][]Applied
}

// Applied returns the patches that changed (or added) record i, in
// application order, with the fields each one set: the record's lineage.
func (t *Table) Applied(i int) []Applied { return t.applied[i] }

// Applied is one patch's effect on one record.
type Applied struct {
	Patch  *Patch
	Fields []string
}

// Status is the outcome of one patch; see the product brief's table.
type Status string

// Statuses. Applied, Redundant and Shadowed let the build go on (the last
// two with a warning); the others fail it. Invalid marks a patch that
// names an unknown field, gives a value that is not canonical, or targets
// another table.
const (
	StatusApplied   Status = "applied"
	StatusRedundant Status = "redundant"
	StatusConflict  Status = "conflict"
	StatusOrphan    Status = "orphan"
	StatusAmbiguous Status = "ambiguous"
	StatusShadowed  Status = "shadowed"
	StatusInvalid   Status = "invalid"
)

// IsError reports whether the status fails the build.
func (s Status) IsError() bool {
	return s == StatusConflict || s == StatusOrphan || s == StatusAmbiguous || s == StatusInvalid
}

// Report is what the application of a table's patches did. Stages write it
// as JSON (indented, fields in this order) for `bethel patches`.
type Report struct {
	Target string `json:"target"`
	// Counts are the stage's record counts (rows read, active, dropped,
	// inactive by status...), keyed by a snake_case name.
	Counts  map[string]int `json:"counts,omitempty"`
	Patches []Entry        `json:"patches"`
}

// Entry is one patch's line of the report.
type Entry struct {
	ID     string `json:"id"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Target string `json:"target"`
	Kind   Kind   `json:"kind"`
	Status Status `json:"status"`
	// Message is the warning or error text for any status but applied,
	// with sensitive values withheld.
	Message string   `json:"message,omitempty"`
	Reason  string   `json:"reason"`
	Author  string   `json:"author,omitempty"`
	Date    string   `json:"date,omitempty"`
	Changes []Change `json:"changes,omitempty"`
}

// Change is one field of one record that a patch changed. For a drop,
// Field is empty; for an add, there is one Change per field given, with an
// empty Old. Sensitive marks values a reader must withhold.
type Change struct {
	Key       string `json:"key"`
	Op        Kind   `json:"op"`
	Field     string `json:"field,omitempty"`
	Old       string `json:"old,omitempty"`
	New       string `json:"new,omitempty"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// Options tune Apply's messages.
type Options struct {
	// ShowPrivate prints sensitive fields' values in messages.
	ShowPrivate bool
}

// Withheld stands in for a sensitive value in messages.
const Withheld = "<withheld>"

type applier struct {
	t     *Table
	opt   Options
	col   map[string]int
	byKey map[string]int32
	multi map[string][]int32 // keys held by several records
	// wanted, when set, are the only keys the patches name: the index
	// holds just those (see index).
	wanted map[string]bool
	rep    *Report
	errs   pos.List
	warns  []string
	setter map[[2]int]int // (record, field) -> report entry that last changed it
	pats   []*Patch
}

// Apply applies patches to t in the given order (file-name order, then
// order within a file, as Load returns them). It returns the report, the
// warnings (redundant, shadowed) as printable lines, and the errors
// (conflict, orphan, ambiguous, invalid) as a pos.List. Every patch is
// evaluated even after an error, so that one build reports all of them.
func Apply(t *Table, patches []*Patch, opt Options) (*Report, []string, error) {
	if t.applied == nil {
		t.applied = map[int][]Applied{}
	}
	a := &applier{t: t, opt: opt, col: map[string]int{}, setter: map[[2]int]int{},
		rep: &Report{Target: t.Name, Patches: []Entry{}}}
	for i, f := range t.Fields {
		a.col[f] = i
	}
	a.wanted = map[string]bool{}
	if indexEveryKey {
		a.wanted = nil
	}
	for _, p := range patches {
		for _, fs := range [][]Field{p.Match, p.Values} {
			for _, f := range fs {
				if f.Name == t.Key && a.wanted != nil {
					a.wanted[f.Value.Scalar] = true
				}
			}
		}
	}
	for i, p := range patches {
		a.pats = append(a.pats, p)
		e := Entry{ID: p.ID, File: p.Pos.File, Line: p.Pos.Line, Target: p.Target, Kind: p.Kind,
			Reason: p.Reason, Author: p.Author, Date: p.Date}
		a.rep.Patches = append(a.rep.Patches, e)
		a.apply(i, p)
	}
	for _, e := range a.rep.Patches {
		switch {
		case e.Status.IsError():
			a.errs = append(a.errs, pos.Errorf(pos.Pos{File: e.File, Line: e.Line}, "%s", e.Message))
		case e.Status == StatusRedundant || e.Status == StatusShadowed:
			a.warns = append(a.warns, fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message))
		}
	}
	return a.rep, a.warns, a.errs.Err()
}

// indexEveryKey makes the key index hold every record's key, as it did
// before it held only the wanted ones; the tests compare the two.
var indexEveryKey = false

func (a *applier) fail(i int, st Status, format string, args ...any) {
	e := &a.rep.Patches[i]
	e.Status = st
	e.Message = fmt.Sprintf("patch %q: %s: ", e.ID, st) + fmt.Sprintf(format, args...)
	e.Changes = nil
}

// show prints a field's value for a message, withholding sensitive ones.
func (a *applier) show(field, v string) string {
	if a.t.Sensitive[field] && !a.opt.ShowPrivate {
		return Withheld
	}
	return strconv.Quote(v)
}

func (a *applier) showFields(fs []Field) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.Name + " = " + a.show(f.Name, f.Value.Scalar)
	}
	return strings.Join(s, ", ")
}

// resolve checks field names and canonicalizes values, reporting the
// first problem as an invalid patch.
func (a *applier) resolve(i int, p *Patch, key string, fs []Field) ([]Field, bool) {
	out := make([]Field, len(fs))
	for j, f := range fs {
		if _, ok := a.col[f.Name]; !ok {
			a.fail(i, StatusInvalid, "unknown field %q in %s%s", f.Name, key, a.suggest(f.Name))
			return nil, false
		}
		v := f.Value.Scalar
		if f.Value.IsList {
			if !a.t.Lists[f.Name] {
				a.fail(i, StatusInvalid, "%s.%s is an array, but %s is not a list field", key, f.Name, f.Name)
				return nil, false
			}
			v = strings.Join(f.Value.List, a.sep())
		}
		if (key == string(Set) || key == string(Add)) && a.t.Required[f.Name] && strings.TrimSpace(v) == "" {
			a.fail(i, StatusInvalid, "%s.%s is blank, but %s is required", key, f.Name, f.Name)
			return nil, false
		}
		if a.t.Canon != nil {
			c, err := a.t.Canon(f.Name, v)
			if err != nil {
				a.fail(i, StatusInvalid, "%s.%s = %s: %v", key, f.Name, a.show(f.Name, v), err)
				return nil, false
			}
			v = c
		}
		out[j] = Field{Name: f.Name, Value: Value{Scalar: v}, Line: f.Line}
	}
	return out, true
}

func (a *applier) sep() string {
	if a.t.ListSep == "" {
		return ";"
	}
	return a.t.ListSep
}

func (a *applier) suggest(name string) string {
	best, bestD := "", 3
	for _, f := range a.t.Fields {
		if d := pos.Distance(strings.ToLower(name), f); d < bestD {
			best, bestD = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func (a *applier) apply(i int, p *Patch) {
	if p.Target != a.t.Name {
		a.fail(i, StatusInvalid, "targets %q, but this node applies %q patches; move the patch to that table's patch files", p.Target, a.t.Name)
		return
	}
	match, ok := a.resolve(i, p, "match", p.Match)
	if !ok {
		return
	}
	expect, ok := a.resolve(i, p, "expect", p.Expect)
	if !ok {
		return
	}
	values, ok := a.resolve(i, p, string(p.Kind), p.Values)
	if !ok {
		return
	}
	if p.Kind == Add {
		a.add(i, p, values)
		return
	}
	found := a.find(match)
	switch {
	case len(found) == 0:
		a.fail(i, StatusOrphan, "no record matches %s (remove the patch if the export no longer has that record)", a.showFields(match))
		return
	case len(found) > 1 && !p.Many:
		a.fail(i, StatusAmbiguous, "match %s finds %d records (%s); narrow the match or set many = true",
			a.showFields(match), len(found), a.keys(found, 5))
		return
	}
	// Compare-and-set is checked for every record before any is changed,
	// so that a many = true patch applies whole or not at all.
	type plan struct {
		rec   int
		holds bool
	}
	plans := make([]plan, 0, len(found))
	for _, r := range found {
		rec := &a.t.Records[r]
		holds := p.Kind == Set
		for _, f := range values {
			if rec.Get(a.col[f.Name]) != f.Value.Scalar {
				holds = false
			}
		}
		if !holds {
			var diff []string
			for _, f := range expect {
				if have := rec.Get(a.col[f.Name]); have != f.Value.Scalar {
					diff = append(diff, fmt.Sprintf("expect %s = %s, but record %s holds %s = %s",
						f.Name, a.show(f.Name, f.Value.Scalar), a.key(r), f.Name, a.show(f.Name, have)))
				}
			}
			if len(diff) > 0 {
				a.fail(i, StatusConflict, "%s (the export changed underneath the patch; check the record and update or remove the patch)",
					strings.Join(diff, "; "))
				return
			}
		}
		plans = append(plans, plan{r, holds})
	}
	e := &a.rep.Patches[i]
	var held []int
	for _, pl := range plans {
		if pl.holds {
			held = append(held, pl.rec)
			continue
		}
		rec := &a.t.Records[pl.rec]
		key := a.key(pl.rec)
		if p.Kind == Drop {
			rec.Dropped = true
			e.Changes = append(e.Changes, Change{Key: key, Op: Drop})
			for fi := range a.t.Fields {
				a.shadow(pl.rec, fi, i, "drops record "+key)
			}
			continue
		}
		var set []string
		for _, f := range values {
			c := a.col[f.Name]
			old := rec.Get(c)
			if old == f.Value.Scalar {
				continue
			}
			a.shadow(pl.rec, c, i, fmt.Sprintf("sets %s of record %s again", f.Name, key))
			rec.Set(c, f.Value.Scalar)
			if f.Name == a.t.Key {
				// A renamed record: later patches find it by its new key,
				// so the index (if built) no longer holds.
				a.byKey, a.multi = nil, nil
			}
			a.setter[[2]int{pl.rec, c}] = i
			set = append(set, f.Name)
			e.Changes = append(e.Changes, Change{Key: key, Op: Set, Field: f.Name, Old: old, New: f.Value.Scalar,
				Sensitive: a.t.Sensitive[f.Name]})
		}
		a.t.applied[pl.rec] = append(a.t.applied[pl.rec], Applied{Patch: p, Fields: set})
	}
	if len(e.Changes) > 0 {
		e.Status = StatusApplied
		return
	}
	e.Status = StatusRedundant
	e.Message = fmt.Sprintf("patch %q: redundant: %s already %s %s (the export caught up; the patch can be removed)",
		p.ID, a.recordWord(held), holdWord(len(held)), a.showFields(values))
}

func (a *applier) recordWord(recs []int) string {
	if len(recs) == 1 {
		return "record " + a.key(recs[0])
	}
	return fmt.Sprintf("%d records (%s)", len(recs), a.keys(recs, 5))
}

func holdWord(n int) string {
	if n == 1 {
		return "holds"
	}
	return "hold"
}

// shadow marks the patch that last changed field c of record r as
// shadowed by patch i.
func (a *applier) shadow(r, c, i int, what string) {
	prev, ok := a.setter[[2]int{r, c}]
	if !ok || prev == i {
		return
	}
	delete(a.setter, [2]int{r, c})
	e := &a.rep.Patches[prev]
	if e.Status.IsError() || e.Status == StatusShadowed {
		return
	}
	p := a.pats[i]
	e.Status = StatusShadowed
	e.Message = fmt.Sprintf("patch %q: shadowed: later patch %q (%s) %s", e.ID, p.ID, p.Pos, what)
}

func (a *applier) add(i int, p *Patch, values []Field) {
	_, ok := a.col[a.t.Key]
	var key string
	for _, f := range values {
		if f.Name == a.t.Key {
			key = f.Value.Scalar
		}
	}
	if !ok || key == "" {
		a.fail(i, StatusInvalid, "add must give %s", a.t.Key)
		return
	}
	if found := a.live(a.lookup(key)); len(found) > 0 {
		rec := &a.t.Records[found[0]]
		var diff []string
		for _, f := range values {
			if have := rec.Get(a.col[f.Name]); have != f.Value.Scalar {
				diff = append(diff, fmt.Sprintf("%s = %s", f.Name, a.show(f.Name, have)))
			}
		}
		if len(diff) == 0 {
			e := &a.rep.Patches[i]
			e.Status = StatusRedundant
			e.Message = fmt.Sprintf("patch %q: redundant: the export now has record %s with the same values (the patch can be removed)", p.ID, key)
			return
		}
		a.fail(i, StatusConflict, "adds record %s, but the export now has it with %s (drop the add patch, or turn it into a set patch)",
			key, strings.Join(diff, ", "))
		return
	}
	var lacking []string
	for _, name := range a.t.Fields {
		if !a.t.Required[name] {
			continue
		}
		given := false
		for _, f := range values {
			given = given || f.Name == name
		}
		if !given {
			lacking = append(lacking, name)
		}
	}
	if len(lacking) > 0 {
		a.fail(i, StatusInvalid, "add lacks required field(s) %s; every record needs them", strings.Join(lacking, ", "))
		return
	}
	vals := make([]string, len(a.t.Fields))
	var set []string
	e := &a.rep.Patches[i]
	for _, f := range values {
		vals[a.col[f.Name]] = f.Value.Scalar
		set = append(set, f.Name)
		e.Changes = append(e.Changes, Change{Key: key, Op: Add, Field: f.Name, New: f.Value.Scalar,
			Sensitive: a.t.Sensitive[f.Name]})
	}
	a.t.Records = append(a.t.Records, NewRecord(vals, 0))
	n := len(a.t.Records) - 1
	a.t.applied[n] = []Applied{{Patch: p, Fields: set}}
	a.addKey(key, int32(n))
	for _, f := range values {
		a.setter[[2]int{n, a.col[f.Name]}] = i
	}
	e.Status = StatusApplied
}

// index maps key values to records, built on first use: most builds have
// few patches and many records, and most matches name the key. Only the
// keys some patch names are indexed (wanted): a one-patch rebuild of
// 100,000 records spent 18 ms filling a map of every key for a handful
// of lookups; one pass that keeps a few costs a fifth of that.
func (a *applier) index() {
	if a.byKey != nil {
		return
	}
	a.byKey = map[string]int32{}
	if a.wanted == nil {
		a.byKey = make(map[string]int32, len(a.t.Records))
	}
	a.multi = map[string][]int32{}
	kc := a.col[a.t.Key]
	for i := range a.t.Records {
		if k := a.t.Records[i].Get(kc); a.wanted == nil || a.wanted[k] {
			a.addKey(k, int32(i))
		}
	}
}

// addKey indexes record i under k, once the index exists (index() adds
// every record when it builds it).
func (a *applier) addKey(k string, i int32) {
	if a.byKey == nil {
		return
	}
	if m, ok := a.multi[k]; ok {
		a.multi[k] = append(m, i)
		return
	}
	if j, ok := a.byKey[k]; ok {
		a.multi[k] = []int32{j, i}
		delete(a.byKey, k)
		return
	}
	a.byKey[k] = i
}

func (a *applier) lookup(k string) []int {
	if a.wanted != nil && !a.wanted[k] {
		// Not a key a patch names (no caller asks for one): index them all.
		a.wanted, a.byKey, a.multi = nil, nil, nil
	}
	a.index()
	if j, ok := a.byKey[k]; ok {
		return []int{int(j)}
	}
	var out []int
	for _, j := range a.multi[k] {
		out = append(out, int(j))
	}
	return out
}

func (a *applier) live(rs []int) []int {
	var out []int
	for _, r := range rs {
		if !a.t.Records[r].Dropped {
			out = append(out, r)
		}
	}
	return out
}

// find returns the live records that hold every match value.
func (a *applier) find(match []Field) []int {
	var cand []int
	keyed := false
	for _, f := range match {
		if f.Name == a.t.Key {
			cand = a.lookup(f.Value.Scalar)
			keyed = true
		}
	}
	test := func(r int) bool {
		rec := &a.t.Records[r]
		if rec.Dropped {
			return false
		}
		for _, f := range match {
			if rec.Get(a.col[f.Name]) != f.Value.Scalar {
				return false
			}
		}
		return true
	}
	var out []int
	if keyed {
		for _, r := range cand {
			if test(r) {
				out = append(out, r)
			}
		}
		return out
	}
	for r := range a.t.Records {
		if test(r) {
			out = append(out, r)
		}
	}
	return out
}

func (a *applier) key(r int) string {
	k := a.t.Records[r].Get(a.col[a.t.Key])
	if a.t.Sensitive[a.t.Key] && !a.opt.ShowPrivate {
		return Withheld
	}
	return k
}

func (a *applier) keys(rs []int, max int) string {
	ks := make([]string, 0, len(rs))
	for _, r := range rs {
		ks = append(ks, a.key(r))
	}
	sort.Strings(ks)
	if len(ks) > max {
		return strings.Join(ks[:max], ", ") + fmt.Sprintf(", and %d more", len(ks)-max)
	}
	return strings.Join(ks, ", ")
}
