package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"bethel/pkg/patch"
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
//   - config/privacy.toml: which fields' values are withheld;
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
// sensitive in privacy.toml now) keeps its key, op and field but not its
// values: "withheld": true. Any sensitive value of the reports, or of a
// registration a patch touched (read from registrations.csv when it is an
// input), that also occurs in a message, reason or author is replaced by
// patch.Withheld there. The node's `declassify` states that record keys, patch reasons
// and non-sensitive values are kept; it never lets a sensitive value
// through: the old and new columns are checked against privacy.toml with
// no declassification (see Run).
type patchesReport struct{}

func init() { register(patchesReport{}) }

func (patchesReport) Name() string    { return "patches.report" }
func (patchesReport) Version() string { return "1" }

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
	if regs, err := r.Input(RegistrationsFile); err == nil {
		latest, err := latestSubmission(ctx, r)
		if err != nil {
			return err
		}
		doc.Export = &ExportTime{File: regs, Field: "submitted_at", Latest: latest}
	}
	copied := map[string]bool{}
	secrets := patchSecrets(reports, priv)
	if regs, err := r.Input(RegistrationsFile); err == nil {
		// An organizer writing a reason types the person's name ("Emma
		// moved to her sister's bethel"): the sensitive values of every
		// record a registrations patch touched are withheld from the
		// free text too, not only those the patches changed.
		touched, err := touchedSecrets(ctx, r, regs, reports, priv)
		if err != nil {
			return err
		}
		secrets = mergeSecrets(secrets, touched)
	}
	for i, rep := range reports {
		tr := TargetReport{Target: rep.Target, From: from[i], Counts: rep.Counts, Patches: []PatchEntry{}}
		for _, e := range rep.Patches {
			pe := PatchEntry{ID: e.ID, File: e.File, Line: e.Line, Target: e.Target, Kind: string(e.Kind), Status: string(e.Status),
				Message: scrub(e.Message, secrets), Reason: scrub(e.Reason, secrets), Author: scrub(e.Author, secrets), Date: e.Date}
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

// patchSecrets are the values of sensitive fields the reports carry,
// longest first so that scrub replaces a full name before a part of it.
// Values shorter than 3 bytes are left out: replacing every "a" would
// garble the text and such a value identifies nobody.
func patchSecrets(reports []*patch.Report, priv *Privacy) []string {
	set := map[string]bool{}
	for _, rep := range reports {
		for _, e := range rep.Patches {
			for _, c := range e.Changes {
				if !c.Sensitive && !priv.IsSensitive(c.Field) {
					continue
				}
				for _, v := range []string{c.Old, c.New} {
					if len(v) >= 3 && v != patch.Withheld {
						set[v] = true
					}
				}
			}
		}
	}
	vs := sortedKeys(set)
	sort.SliceStable(vs, func(i, j int) bool { return len(vs[i]) > len(vs[j]) })
	return vs
}

// touchedSecrets are the values (3 bytes or longer) of the sensitive
// fields of the registrations whose keys the registrations reports'
// changes name: handed over by the registrations stage when it just wrote
// regs in this process, else read from regs.
func touchedSecrets(ctx context.Context, r *stage.Run, regs string, reports []*patch.Report, priv *Privacy) ([]string, error) {
	keys := map[string]bool{}
	for _, rep := range reports {
		if rep.Target != "registrations" {
			continue
		}
		for _, e := range rep.Patches {
			for _, c := range e.Changes {
				keys[c.Key] = true
			}
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	set := map[string]bool{}
	if m := regMemo.touchedView(regs, r.Sum); m != nil {
		for k := range keys {
			for _, x := range m[k] {
				if len(x) >= 3 {
					set[x] = true
				}
			}
		}
		return sortedKeys(set), nil
	}
	cols := []string{"registration_id"}
	cols = append(cols, priv.Sensitive...)
	sc, done, err := scanRegistrations(r, regs, cols...)
	if err != nil {
		return nil, err
	}
	defer done()
	for {
		v, err := sc.NextWhere(keys)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, x := range v[1:] {
			if len(x) >= 3 {
				set[x] = true
			}
		}
	}
	return sortedKeys(set), nil
}

// mergeSecrets is the union of two secret lists, longest first (see
// patchSecrets).
func mergeSecrets(a, b []string) []string {
	set := map[string]bool{}
	for _, v := range append(append([]string{}, a...), b...) {
		set[v] = true
	}
	vs := sortedKeys(set)
	sort.SliceStable(vs, func(i, j int) bool { return len(vs[i]) > len(vs[j]) })
	return vs
}

// scrub replaces each secret in s where it stands as a whole word (or
// words): a first name Beth is withheld from "Beth moved", not from
// "Bethel 57".
func scrub(s string, secrets []string) string {
	for _, v := range secrets {
		if !strings.Contains(s, v) {
			continue
		}
		var b strings.Builder
		rest := s
		for {
			i := strings.Index(rest, v)
			if i < 0 {
				break
			}
			before, _ := utf8.DecodeLastRuneInString(rest[:i])
			after, _ := utf8.DecodeRuneInString(rest[i+len(v):])
			b.WriteString(rest[:i])
			if i > 0 && isWordRune(before) || i+len(v) < len(rest) && isWordRune(after) {
				b.WriteString(v[:1])
				rest = rest[i+1:]
				continue
			}
			b.WriteString(patch.Withheld)
			rest = rest[i+len(v):]
		}
		b.WriteString(rest)
		s = b.String()
	}
	return s
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func readAll(r *stage.Run, path string) ([]byte, error) {
	f, err := r.FS.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
