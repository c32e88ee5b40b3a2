package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"bethel/pkg/patch"
	"bethel/pkg/pipeline"
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
	r := &stage.Run{Node: n.Name, Inputs: n.InputFiles, Patches: n.PatchFiles, Outputs: n.Outputs, Visibility: n.Visibility,
		Declassify: n.Declassify, FS: overlay{mem: mem, disk: os.DirFS(b.root)},
		Create: func(string) (io.Writer, error) { return &buf, nil }, Warnf: func(string, ...any) {}}
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
	r := &stage.Run{Node: "corrections", Inputs: []string{"out/private/registrations.patches.json", "config/fields.toml", "config/privacy.toml"},
		Outputs: []string{"out/summary/patches.json"}, Visibility: stage.Internal,
		FS: fstest.MapFS{"out/private/registrations.patches.json": {Data: data},
			"config/fields.toml":  {Data: []byte(testFieldsTOML("first_name", "last_name"))},
			"config/privacy.toml": {Data: []byte("min_cell = 5\n")}},
		Create: func(string) (io.Writer, error) { return &buf, nil }, Warnf: func(string, ...any) {}}
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
// registrations the patches touched. Only whole words are replaced: a
// first name Beth leaves "Bethel" alone.
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
	r := &stage.Run{Node: "corrections", Inputs: []string{"out/private/registrations.patches.json", "out/private/registrations.csv", "config/fields.toml", "config/privacy.toml"},
		Outputs: []string{"out/summary/patches.json"}, Visibility: stage.Internal,
		FS: fstest.MapFS{"out/private/registrations.patches.json": {Data: data},
			"out/private/registrations.csv": {Data: []byte(regs)},
			"config/fields.toml":            {Data: []byte(testFieldsTOML("first_name", "last_name", "emergency_contact_name"))},
			"config/privacy.toml":           {Data: []byte("min_cell = 5\n")}},
		Create: func(string) (io.Writer, error) { return &buf, nil }, Warnf: func(string, ...any) {}}
	if err := (patchesReport{}).Run(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	plain := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(buf.String())
	want := `"reason": "<withheld> <withheld>'s mother <withheld> called: <withheld> belongs to Bethel 21"`
	if !strings.Contains(plain, want) {
		t.Errorf("patches.json lacks %s:\n%s", want, plain)
	}
	// R-2 was not touched: her values are nowhere to withhold, and the
	// report does not read them into the text either.
	if strings.Contains(plain, "Ann") || strings.Contains(plain, "Ola") {
		t.Errorf("patches.json holds an untouched record's values:\n%s", plain)
	}
}

func TestScrubWholeWords(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Beth moved", "<withheld> moved"},
		{"Bethel 57", "Bethel 57"},
		{"to Beth.", "to <withheld>."},
		{"ElizaBeth Beth", "ElizaBeth <withheld>"},
		{"Zoë Beth-Ann", "Zoë <withheld>-Ann"},
		{"Béth Beth", "Béth <withheld>"},
	} {
		if got := scrub(tc.in, []string{"Beth"}); got != tc.want {
			t.Errorf("scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
