package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"bethel/pkg/patch"
	"bethel/pkg/pipeline"
	"bethel/pkg/scrub"
	"bethel/pkg/stage"
)

func decodePatchesReport(t *testing.T, b []byte) *PatchesReport {
	t.Helper()
	var doc PatchesReport
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// TestPatchesReportSample: every patch of the private report is in the
// public one with its status and reason; a sensitive change keeps key and
// field but neither value; the program patches are there too; the export
// time is the latest submission.
func TestPatchesReportSample(t *testing.T) {
	b := buildWorkspace(t, repoRoot(t))
	var priv patch.Report
	if err := json.Unmarshal(b.outputs["out/private/registrations.patches.json"], &priv); err != nil {
		t.Fatal(err)
	}
	out := b.outputs["out/summary/patches.json"]
	doc := decodePatchesReport(t, out)
	if len(doc.Reports) != 2 || doc.Reports[0].Target != "registrations" || doc.Reports[1].Target != "program" {
		t.Fatalf("reports: want registrations then program, have %d", len(doc.Reports))
	}
	reg := doc.Reports[0]
	if len(reg.Patches) != len(priv.Patches) {
		t.Fatalf("%d registrations patches, the private report has %d", len(reg.Patches), len(priv.Patches))
	}
	withheld, shown := 0, 0
	for i, e := range priv.Patches {
		p := reg.Patches[i]
		if p.ID != e.ID || p.Status != string(e.Status) || p.Reason != e.Reason || p.File != e.File || p.Line != e.Line || len(p.Changes) != len(e.Changes) {
			t.Errorf("patch %s: public entry %+v does not match the private one", e.ID, p)
			continue
		}
		for j, c := range e.Changes {
			pc := p.Changes[j]
			if pc.Key != c.Key || pc.Field != c.Field || pc.Op != string(c.Op) {
				t.Errorf("patch %s change %d: %+v, want key %s field %s", e.ID, j, pc, c.Key, c.Field)
			}
			switch {
			case c.Sensitive:
				withheld++
				if !pc.Withheld || pc.Old != "" || pc.New != "" {
					t.Errorf("patch %s: sensitive %s of %s not withheld", e.ID, c.Field, c.Key)
				}
				for _, v := range []string{c.Old, c.New} {
					if len(v) >= 3 && bytes.Contains(out, []byte(v)) {
						t.Errorf("patch %s: the value of sensitive %s of %s is in patches.json", e.ID, c.Field, c.Key)
					}
				}
			default:
				shown++
				if pc.Withheld || pc.Old != c.Old || pc.New != c.New {
					t.Errorf("patch %s: %s of %s: %+v, want %q -> %q", e.ID, c.Field, c.Key, pc, c.Old, c.New)
				}
			}
		}
	}
	if withheld == 0 || shown == 0 {
		t.Errorf("%d changes withheld, %d shown: the sample should exercise both", withheld, shown)
	}
	prog := doc.Reports[1]
	if len(prog.Patches) == 0 || prog.From != "inputs/program.csv" {
		t.Errorf("program report: %d patches from %s", len(prog.Patches), prog.From)
	}
	regs := parseCSV(t, "registrations", b.outputs["out/private/registrations.csv"])
	latest := ""
	for _, r := range regs.rows {
		latest = max(latest, r[regs.col(t, "submitted_at")])
	}
	if doc.Export == nil || doc.Export.Latest != latest || latest == "" {
		t.Errorf("export %+v, want latest %q", doc.Export, latest)
	}
}

// runCorrections runs the sample's corrections node over b's outputs with
// extra files laid over the workspace.
func runCorrections(t *testing.T, b *wsBuild, extra map[string][]byte) (*PatchesReport, error) {
	t.Helper()
	var n *pipeline.Node
	for _, x := range b.p.Order {
		if x.Stage == "patches.report" {
			n = x
		}
	}
	if n == nil {
		t.Fatal("the sample has no patches.report node")
	}
	mem := map[string][]byte{}
	for k, v := range b.outputs {
		mem[k] = v
	}
	for k, v := range extra {
		mem[k] = v
	}
	var buf bytes.Buffer
	r := engineDecl(&stage.Run{Node: n.Name, Inputs: n.InputFiles, Patches: n.PatchFiles, Outputs: n.Outputs, Visibility: n.Visibility,
		Declassify: n.Declassify, FS: overlay{mem: mem, disk: os.DirFS(b.root)},
		Create: func(string) (io.Writer, error) { return &buf, nil }, Warnf: func(string, ...any) {}})
	if err := (patchesReport{}).Run(context.Background(), r); err != nil {
		return nil, err
	}
	return decodePatchesReport(t, buf.Bytes()), nil
}

// TestPatchesReportPrivacyFile: the withholding follows privacy.toml as it
// is now, not only the flags the private report was written with.
func TestPatchesReportPrivacyFile(t *testing.T) {
	b := buildWorkspace(t, repoRoot(t))
	for _, tc := range []struct {
		name      string
		sensitive []string
		withheld  bool
	}{
		{"bethel not sensitive", []string{"first_name"}, false},
		{"bethel sensitive", []string{"first_name", "bethel"}, true},
	} {
		doc, err := runCorrections(t, b, map[string][]byte{"config/fields.toml": []byte(testFieldsTOML(tc.sensitive...))})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		n := 0
		for _, p := range doc.Reports[0].Patches {
			for _, c := range p.Changes {
				if c.Field == "bethel" {
					n++
					if c.Withheld != tc.withheld || (tc.withheld && (c.Old != "" || c.New != "")) {
						t.Errorf("%s: %s: bethel change %+v", tc.name, p.ID, c)
					}
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no bethel change in the sample's patches", tc.name)
		}
	}
}

// TestPatchesReportScrub: a sensitive value the report carries is
// withheld wherever else it occurs (a reason that names the person).
func TestPatchesReportScrub(t *testing.T) {
	rep := patch.Report{Target: "registrations", Patches: []patch.Entry{{
		ID: "walk-in", File: "patches/r/1.toml", Line: 1, Target: "registrations", Kind: patch.Add, Status: patch.StatusApplied,
		Reason: "Zelda Quorn's grandmother paid at the door", Author: "Door desk",
		Changes: []patch.Change{{Key: "W-1", Op: patch.Add, Field: "first_name", New: "Zelda", Sensitive: true},
			{Key: "W-1", Op: patch.Add, Field: "last_name", New: "Quorn"}, {Key: "W-1", Op: patch.Add, Field: "bethel", New: "12"}},
	}}}
	data, _ := json.Marshal(rep)
	var buf bytes.Buffer
	r := engineDecl(&stage.Run{Node: "corrections", Inputs: []string{"out/private/registrations.patches.json", "config/fields.toml", "config/privacy.toml"},
		Outputs: []string{"out/summary/patches.json"}, Visibility: stage.Internal,
		FS: fstest.MapFS{"out/private/registrations.patches.json": {Data: data},
			"config/fields.toml":  {Data: []byte(testFieldsTOML("first_name", "last_name"))},
			"config/privacy.toml": {Data: []byte("min_cell = 5\n")}},
		Create: func(string) (io.Writer, error) { return &buf, nil }, Warnf: func(string, ...any) {}})
	if err := (patchesReport{}).Run(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, v := range []string{"Zelda", "Quorn"} {
		if strings.Contains(out, v) {
			t.Errorf("patches.json holds %q:\n%s", v, out)
		}
	}
	plain := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(out)
	for _, want := range []string{`"reason": "<withheld> <withheld>'s grandmother paid at the door"`, `"new": "12"`, `"withheld": true`} {
		if !strings.Contains(plain, want) {
			t.Errorf("patches.json lacks %s:\n%s", want, out)
		}
	}
	// Public visibility is refused: record keys are internal.
	r.Visibility = stage.Public
	if err := (patchesReport{}).Run(context.Background(), r); err == nil || !strings.Contains(err.Error(), "internal") {
		t.Errorf("public node: err = %v", err)
	}
}

// TestPatchesReportScrubsTouchedRecords: a reason that names the person a
// patch corrects (her name, her emergency contact), though the patch
// changes no sensitive field, is withheld there: the values come from the
// registrations. Only whole words are replaced: a first name Beth leaves
// "Bethel" alone.
func TestPatchesReportScrubsTouchedRecords(t *testing.T) {
	const regs = "registration_id,submitted_at,first_name,last_name,emergency_contact_name,bethel,payment_status\n" +
		"R-1,2026-03-01T10:00:00,Beth,Zorander,Mira Zorander,12,paid\n" +
		"R-2,2026-03-02T10:00:00,Ann,Other,Ola Other,21,paid\n"
	rep := patch.Report{Target: "registrations", Patches: []patch.Entry{{
		ID: "move", File: "patches/r/1.toml", Line: 1, Target: "registrations", Kind: patch.Set, Status: patch.StatusApplied,
		Reason: "Beth Zorander's mother Mira Zorander called: Beth belongs to Bethel 21", Author: "Registrar",
		Changes: []patch.Change{{Key: "R-1", Op: patch.Set, Field: "bethel", Old: "12", New: "21"}},
	}}}
	data, _ := json.Marshal(rep)
	var buf bytes.Buffer
	r := engineDecl(&stage.Run{Node: "corrections", Inputs: []string{"out/private/registrations.patches.json", "out/private/registrations.csv", "config/fields.toml", "config/privacy.toml"},
		Outputs: []string{"out/summary/patches.json"}, Visibility: stage.Internal,
		FS: fstest.MapFS{"out/private/registrations.patches.json": {Data: data},
			"out/private/registrations.csv": {Data: []byte(regs)},
			"config/fields.toml":            {Data: []byte(testFieldsTOML("first_name", "last_name", "emergency_contact_name"))},
			"config/privacy.toml":           {Data: []byte("min_cell = 5\n")}},
		Create: func(string) (io.Writer, error) { return &buf, nil }, Warnf: func(string, ...any) {}})
	if err := (patchesReport{}).Run(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	plain := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(buf.String())
	want := `"reason": "<withheld> <withheld>'s mother <withheld> called: <withheld> belongs to Bethel 21"`
	if !strings.Contains(plain, want) {
		t.Errorf("patches.json lacks %s:\n%s", want, plain)
	}
	// R-2's values are known but not in the text: nothing reads them in.
	if strings.Contains(plain, "Ann") || strings.Contains(plain, "Ola") {
		t.Errorf("patches.json holds an untouched record's values:\n%s", plain)
	}
}

// TestPatchesReportScrubsEverythingKnown: free text is scrubbed against
// every sensitive value of every record, however written, and against the
// patterns of private data; each patch whose reason or author loses text
// is warned about at its file:line, naming no value. The values of a
// record no longer in registrations.csv (dropped, refunded) come from the
// node's scrub set input.
func TestPatchesReportScrubsEverythingKnown(t *testing.T) {
	const regs = "registration_id,submitted_at,first_name,last_name,phone,date_of_birth,emergency_contact_name,emergency_contact_phone,bethel,payment_status\n" +
		"R-1,2026-03-01T10:00:00,Mia,Talcroft,640-555-0182,2011-01-21,Helen Talcroft,(559) 555-0120,20,paid\n" +
		"R-2,2026-03-01T11:00:00,Ruby,Oakfield,+1 656 555 0141,2011-01-08,Ann Oakfield,656-555-0199,12,paid\n"
	const fields = `primaryKey = "registration_id"
[[fields]]
name = "registration_id"
[[fields]]
name = "first_name"
sensitive = true
[[fields]]
name = "last_name"
sensitive = true
[[fields]]
name = "phone"
format = "phone"
sensitive = true
[[fields]]
name = "date_of_birth"
type = "date"
sensitive = true
[[fields]]
name = "emergency_contact_name"
sensitive = true
[[fields]]
name = "emergency_contact_phone"
format = "phone"
sensitive = true
[[fields]]
name = "bethel"
`
	// The scrub set holds every record; Quinn Harrowgate's was dropped by
	// a patch, so only the set still knows her.
	var all scrub.Builder
	for _, v := range []struct{ f, v string }{{scrub.Name, "Mia"}, {scrub.Name, "Talcroft"}, {scrub.Phone, "640-555-0182"},
		{scrub.Date, "2011-01-21"}, {scrub.Name, "Helen Talcroft"}, {scrub.Phone, "(559) 555-0120"}, {scrub.Name, "Ruby"},
		{scrub.Name, "Oakfield"}, {scrub.Phone, "+1 656 555 0141"}, {scrub.Date, "2011-01-08"}, {scrub.Name, "Ann Oakfield"},
		{scrub.Phone, "656-555-0199"}, {scrub.Name, "Quinn"}, {scrub.Name, "Harrowgate"}} {
		all.Add(v.f, v.v)
	}
	var set bytes.Buffer
	all.Set().WriteTo(&set)
	reasons := []string{
		"Mia Talcroft's mom Helen called from (559) 555-0120: severe peanut allergy, DOB 1/21/2011",
		"ruby oakfield moved; reach her at 656-555-0141, born 1/8/2011",
		"Same family as QUINN harrowgate",
		"Parent confirmed by email: typo on the form, she is in Bethel 80",
	}
	var entries []patch.Entry
	for i, reason := range reasons {
		entries = append(entries, patch.Entry{ID: fmt.Sprintf("p%d", i), File: "patches/registrations/10.toml", Line: 1 + 9*i,
			Target: "registrations", Kind: patch.Set, Status: patch.StatusApplied, Reason: reason, Author: "Registrar",
			Changes: []patch.Change{{Key: "R-1", Op: patch.Set, Field: "bethel", Old: "20", New: "80"}}})
	}
	entries[2].Author = "Ann Oakfield (ann.o@example.net)"
	data, _ := json.Marshal(patch.Report{Target: "registrations", Patches: entries})
	var buf bytes.Buffer
	var warnings []string
	r := engineDecl(&stage.Run{Node: "corrections",
		Inputs: []string{"out/private/registrations.patches.json", "out/private/registrations.csv", "out/private/registrations.sensitive",
			"config/fields.toml", "config/privacy.toml"},
		Outputs: []string{"out/summary/patches.json"}, Visibility: stage.Internal,
		FS: fstest.MapFS{"out/private/registrations.patches.json": {Data: data},
			"out/private/registrations.csv":       {Data: []byte(regs)},
			"out/private/registrations.sensitive": {Data: set.Bytes()},
			"config/fields.toml":                  {Data: []byte(fields)},
			"config/privacy.toml":                 {Data: []byte("min_cell = 5\n")}},
		Create: func(string) (io.Writer, error) { return &buf, nil },
		Warnf:  func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }})
	if err := (patchesReport{}).Run(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	doc := decodePatchesReport(t, buf.Bytes())
	want := []struct{ reason, author string }{
		{"<withheld> <withheld>'s mom <withheld> called from <withheld>: severe peanut allergy, DOB <withheld>", "Registrar"},
		{"<withheld> <withheld> moved; reach her at <withheld>, born <withheld>", "Registrar"},
		{"Same family as <withheld> <withheld>", "<withheld> (<withheld>)"},
		{reasons[3], "Registrar"},
	}
	for i, p := range doc.Reports[0].Patches {
		if p.Reason != want[i].reason || p.Author != want[i].author {
			t.Errorf("patch %s: reason %q author %q\nwant reason %q author %q", p.ID, p.Reason, p.Author, want[i].reason, want[i].author)
		}
	}
	wantWarn := []string{
		"patches/registrations/10.toml:1: patch p0: its reason or author mentions a sensitive value and a word of a sensitive value: withheld",
		"patches/registrations/10.toml:10: patch p1: its reason or author mentions a sensitive value and a word of a sensitive value: withheld",
		"patches/registrations/10.toml:19: patch p2: its reason or author mentions a sensitive value and a word of a sensitive value: withheld",
	}
	if len(warnings) != len(wantWarn) {
		t.Fatalf("warnings:\n%s", strings.Join(warnings, "\n"))
	}
	for i, w := range wantWarn {
		if !strings.HasPrefix(warnings[i], w) {
			t.Errorf("warning %q\nwant prefix %q", warnings[i], w)
		}
	}
	for _, w := range warnings {
		for _, v := range []string{"Mia", "Talcroft", "0120", "Quinn", "Oakfield"} {
			if strings.Contains(w, v) {
				t.Errorf("a warning names %q: %s", v, w)
			}
		}
	}
}
