package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/patch"
	"bethel/pkg/schema"
	"bethel/pkg/scrub"
	"bethel/pkg/stage"
)

// patchesReport is the patches.report stage: the corrections log without
// private data, for the review site. It writes out/summary/patches.json
// from
//
//   - every `*.patches.json` input: a patch report a patching stage wrote
//     (out/private/registrations.patches.json, private because it holds
//     old and new values);
//   - the program patches, evaluated the way `bethel patches` does (the
//     program stage's PatchReport) when program.csv and schedule.toml are
//     inputs and the program patch files are the node's patches;
//   - the workspace's field model (stage.Run.Fields): which fields'
//     values are withheld;
//   - optionally the normalized registrations.csv: the time of the export
//     is the latest submitted_at it holds (the platform writes no export
//     time; the newest submission is the best witness of when it ran).
//
// Output format (indented JSON, keys in this order):
//
//	{
//	  "export": {"file": "out/private/registrations.csv", "field": "submitted_at", "latest": "2026-05-30T21:12:09"},
//	  "reports": [
//	    {"target": "registrations", "from": "out/private/registrations.patches.json",
//	     "counts": {"active": 1414, ...},
//	     "patches": [{"id", "file", "line", "target", "kind", "status", "message",
//	                  "reason", "author", "date",
//	                  "changes": [{"key", "op", "field", "old", "new", "withheld"}]}]}
//	  ]
//	}
//
// A change of a sensitive field (the report's own flag, or the field is
// sensitive in the field model now) keeps its key, op and field but not its
// values: "withheld": true. Any sensitive value of the reports, or of a
// registration a patch touched (read from registrations.csv when it is an
// input), that also occurs in a message, reason or author is replaced by
// patch.Withheld there, and so is one in a patch's id. The node's `declassify` states that record keys, patch reasons
// and non-sensitive values are kept; it never lets a sensitive value
// through: the old and new columns are checked against the field model with
// no declassification (see Run).
type patchesReport struct{}

func init() { register(patchesReport{}) }

func (patchesReport) Name() string    { return "patches.report" }
func (patchesReport) Version() string { return "2" }

// PatchesReport is the format of out/summary/patches.json.
type PatchesReport struct {
	Export  *ExportTime    `json:"export,omitempty"`
	Reports []TargetReport `json:"reports"`
}

// ExportTime says when the registration export was made, as far as it
// shows: the latest value of Field in File.
type ExportTime struct {
	File   string `json:"file"`
	Field  string `json:"field"`
	Latest string `json:"latest"`
}

// TargetReport is the public form of one patch.Report.
type TargetReport struct {
	Target  string         `json:"target"`
	From    string         `json:"from"`
	Counts  map[string]int `json:"counts,omitempty"`
	Patches []PatchEntry   `json:"patches"`
}

// PatchEntry is a patch.Entry without sensitive values.
type PatchEntry struct {
	ID      string        `json:"id"`
	File    string        `json:"file"`
	Line    int           `json:"line"`
	Target  string        `json:"target"`
	Kind    string        `json:"kind"`
	Status  string        `json:"status"`
	Message string        `json:"message,omitempty"`
	Reason  string        `json:"reason"`
	Author  string        `json:"author,omitempty"`
	Date    string        `json:"date,omitempty"`
	Changes []PatchChange `json:"changes,omitempty"`
}

// PatchChange is one change; Old and New are empty when Withheld.
type PatchChange struct {
	Key      string `json:"key"`
	Op       string `json:"op"`
	Field    string `json:"field,omitempty"`
	Old      string `json:"old,omitempty"`
	New      string `json:"new,omitempty"`
	Withheld bool   `json:"withheld,omitempty"`
}

// PatchesReportColumns are the report's value columns, for the privacy
// check: every one but old and new copies no field's values.
var PatchesReportColumns = []string{"id", "file", "line", "target", "kind", "status", "message", "reason", "author", "date", "key", "op", "field", "old", "new"}

func (patchesReport) Run(ctx context.Context, r *stage.Run) error {
	out, err := output(r, ".json")
	if err != nil {
		return err
	}
	if r.Visibility == stage.Public {
		return fmt.Errorf("node %s: patches.report names record keys, which are internal data; its visibility must be internal, not public", r.Node)
	}
	priv, err := PrivacyOf(r)
	if err != nil {
		return err
	}
	var reports []*patch.Report
	var from []string
	for _, in := range r.Inputs {
		if !strings.HasSuffix(in, ".patches.json") {
			continue
		}
		b, err := readAll(r, in)
		if err != nil {
			return err
		}
		var rep patch.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("%s: not a patch report: %v", in, err)
		}
		reports = append(reports, &rep)
		from = append(from, in)
	}
	if prog, err := r.Input("program.csv"); err == nil {
		quiet := *r
		quiet.Warnf = func(string, ...any) {} // the program node warns already
		ps, err := loadProgram(ctx, &quiet, patch.Options{})
		if ps == nil || ps.report == nil {
			return fmt.Errorf("node %s: cannot evaluate the program patches: %w", r.Node, err)
		}
		// An error here (a conflict, an orphan) is what the report is for:
		// the program node fails the build and says so itself.
		reports = append(reports, ps.report)
		from = append(from, prog)
	}
	if len(reports) == 0 {
		return fmt.Errorf("node %s: patches.report needs a patch report (an input ending in .patches.json) or the program (program.csv, schedule.toml) among its inputs", r.Node)
	}
	doc := PatchesReport{Reports: []TargetReport{}}
	if regs, err := r.Input(RegistrationsFile); err == nil && hasSubmittedAt(r) {
		latest, err := latestSubmission(ctx, r)
		if err != nil {
			return err
		}
		doc.Export = &ExportTime{File: regs, Field: "submitted_at", Latest: latest}
	}
	copied := map[string]bool{}
	set, err := correctionsSet(ctx, r, reports, priv)
	if err != nil {
		return err
	}
	for i, rep := range reports {
		tr := TargetReport{Target: rep.Target, From: from[i], Counts: rep.Counts, Patches: []PatchEntry{}}
		for _, e := range rep.Patches {
			// An id is free text too: one that names a person is withheld
			// as a reason is, here and (the site takes the ids from this
			// report) on every page and in lineage.js.
			var idKinds []scrub.Kind
			pe := PatchEntry{ID: scrubText(set, e.ID, &idKinds), File: e.File, Line: e.Line, Target: e.Target, Kind: string(e.Kind), Status: string(e.Status),
				Message: scrubText(set, e.Message, nil), Date: e.Date}
			shown := pe.ID
			if len(idKinds) > 0 {
				shown = "(id withheld)"
				r.Warnf("%s:%d: patch %s: its id mentions %s: withheld from %s; rename the patch without private data",
					e.File, e.Line, shown, hitKinds(idKinds), out)
			}
			var kinds []scrub.Kind
			pe.Reason = scrubText(set, e.Reason, &kinds)
			pe.Author = scrubText(set, e.Author, &kinds)
			if len(kinds) > 0 {
				r.Warnf("%s:%d: patch %s: its reason or author mentions %s: withheld from %s; rephrase it without private data",
					e.File, e.Line, shown, hitKinds(kinds), out)
			}
			for _, c := range e.Changes {
				pc := PatchChange{Key: c.Key, Op: string(c.Op), Field: c.Field}
				if c.Sensitive || priv.IsSensitive(c.Field) {
					pc.Withheld = true
				} else {
					pc.Old, pc.New = c.Old, c.New
					if c.Field != "" && (c.Old != "" || c.New != "") {
						copied[c.Field] = true
					}
				}
				pe.Changes = append(pe.Changes, pc)
			}
			tr.Patches = append(tr.Patches, pe)
		}
		doc.Reports = append(doc.Reports, tr)
	}
	// The old and new columns copy the values of exactly the fields in
	// copied: check them with no declassification, so that a change in
	// the withholding above can never publish a sensitive value.
	var ds []Derivation
	for _, c := range PatchesReportColumns {
		d := Derivation{Column: c}
		if c == "old" || c == "new" {
			d.From = sortedKeys(copied)
		}
		ds = append(ds, d)
	}
	if err := priv.CheckPrivacy(r.Node, r.Visibility, "", out, ds); err != nil {
		return err
	}
	return writeJSON(r, out, doc)
}

// hasSubmittedAt reports whether the event's form has a submitted_at
// field to date the export by; another platform's may have none.
func hasSubmittedAt(r *stage.Run) bool {
	sc, err := SchemaOf(r)
	return err != nil || sc.Field("submitted_at") != nil
}

// latestSubmission is the latest submitted_at of the normalized
// registrations, through the summaries' shared parse.
func latestSubmission(ctx context.Context, r *stage.Run) (string, error) {
	rr, _, err := readRegistrations(ctx, r, "submitted_at")
	if err != nil {
		return "", err
	}
	col := rr.col("submitted_at")
	latest := ""
	for i := 0; i < rr.n; i++ {
		// Canonical submitted_at is ISO 8601 local time, so the text
		// order is the time order.
		if v := col.at(i); v > latest {
			latest = v
		}
	}
	return latest, nil
}

// scrubText is set.Scrub(s), adding the kinds of its hits to kinds (when
// not nil), each once.
func scrubText(set *scrub.Set, s string, kinds *[]scrub.Kind) string {
	out, hits := set.Scrub(s)
	if kinds != nil {
		for _, h := range hits {
			if !slices.Contains(*kinds, h.Kind) {
				*kinds = append(*kinds, h.Kind)
			}
		}
	}
	return out
}

// hitKinds names kinds for a warning: "a sensitive value and a phone
// number".
func hitKinds(kinds []scrub.Kind) string {
	slices.Sort(kinds)
	var names []string
	for _, k := range kinds {
		names = append(names, k.String())
	}
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// correctionsSet is the scrub set the report's free text is checked
// against (see patchesReport).
func correctionsSet(ctx context.Context, r *stage.Run, reports []*patch.Report, priv *Privacy) (*scrub.Set, error) {
	var b scrub.Builder
	var read []*scrub.Set
	for _, in := range r.Inputs {
		if !strings.HasSuffix(in, ".sensitive") {
			continue
		}
		f, err := r.FS.Open(in)
		if err != nil {
			return nil, err
		}
		s, err := scrub.ReadSet(f) // the file itself: its size lets ReadSet size the keys up front
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in, err)
		}
		read = append(read, s)
	}
	formats, err := sensitiveFormats(r, priv)
	if err != nil {
		return nil, err
	}
	format := func(field, value string) string {
		if f, ok := formats[field]; ok {
			return f
		}
		return scrub.Guess(value)
	}
	// The reports' own sensitive values: those a patch sets or adds.
	for _, rep := range reports {
		for _, e := range rep.Patches {
			for _, c := range e.Changes {
				if !c.Sensitive && !priv.IsSensitive(c.Field) {
					continue
				}
				for _, v := range []string{c.Old, c.New} {
					if v != "" && v != patch.Withheld {
						b.Add(format(c.Field, v), v)
					}
				}
			}
		}
	}
	if len(read) > 0 {
		return scrub.Union(append(read, b.Set())...), nil
	}
	regs, err := r.Input(RegistrationsFile)
	if err != nil {
		return b.Set(), nil
	}
	cols, err := presentColumns(r, regs, priv)
	if err != nil || len(cols) == 0 {
		return b.Set(), err
	}
	sc, done, err := scanRegistrations(r, regs, cols...)
	if err != nil {
		return nil, err
	}
	defer done()
	fs := make([]string, len(cols))
	for i, c := range cols {
		fs[i] = formats[c]
	}
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		v, err := sc.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for i, x := range v {
			if x == "" {
				continue
			}
			f := fs[i]
			if _, ok := formats[cols[i]]; !ok {
				f = scrub.Guess(x)
			}
			b.Add(f, x)
		}
	}
	return b.Set(), nil
}

// sensitiveFormats maps each sensitive field to its scrub format, from
// the workspace's field declarations (r.Fields); without them the formats
// are guessed from each value.
func sensitiveFormats(r *stage.Run, priv *Privacy) (map[string]string, error) {
	file := r.Fields
	if file == "" {
		return map[string]string{}, nil
	}
	sc, err := schema.Load(r.FS, file)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, f := range sc.Fields {
		if f.Sensitive || priv.IsSensitive(f.Name) {
			m[f.Name] = scrub.FormatOf(f.Type, f.Format, f.Countable)
		}
	}
	return m, nil
}

// presentColumns are the sensitive fields the registrations file has.
func presentColumns(r *stage.Run, regs string, priv *Privacy) ([]string, error) {
	f, err := r.FS.Open(regs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, regs)
	if err != nil {
		return nil, err
	}
	var cols []string
	for _, h := range cr.Header() {
		if priv.IsSensitive(h) {
			cols = append(cols, h)
		}
	}
	return cols, nil
}

func readAll(r *stage.Run, path string) ([]byte, error) {
	f, err := r.FS.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
