package stages

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"bethel/pkg/lineage"
	"bethel/pkg/schema"
	"bethel/pkg/stage"

	"github.com/zeebo/blake3"
)

var update = flag.Bool("update", false, "rewrite golden files")

// regRun is one run of a stage over a workspace directory, without an
// engine: outputs land in memory and count as written only if Run
// succeeds, as the engine's temp-and-rename does.
type regRun struct {
	outputs  map[string]*bytes.Buffer
	created  []string
	warnings []string
	lineage  map[string]*lineage.Recorder
}

// workspaceRun builds the stage.Run the sample pipeline would give the
// registrations node in dir.
func workspaceRun(t testing.TB, fsys fs.FS, node string, inputs, outputs []string, patchGlob string) (*stage.Run, *regRun) {
	t.Helper()
	var patches []string
	if patchGlob != "" {
		m, err := fs.Glob(fsys, patchGlob)
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(m)
		patches = m
	}
	rr := &regRun{outputs: map[string]*bytes.Buffer{}, lineage: map[string]*lineage.Recorder{}}
	r := engineDecl(&stage.Run{
		Node: node, Inputs: inputs, Patches: patches, Outputs: outputs, Visibility: stage.Private,
		FS: fsys,
		Create: func(p string) (io.Writer, error) {
			found := false
			for _, o := range outputs {
				found = found || o == p
			}
			if !found {
				return nil, fmt.Errorf("undeclared output %s", p)
			}
			rr.created = append(rr.created, p)
			b := &bytes.Buffer{}
			rr.outputs[p] = b
			return summingBuffer{b}, nil
		},
		Lineage: func(p string) *lineage.Recorder {
			rec := &lineage.Recorder{}
			rr.lineage[p] = rec
			return rec
		},
		Warnf: func(format string, args ...any) { rr.warnings = append(rr.warnings, fmt.Sprintf(format, args...)) },
	})
	return r, rr
}

// summingBuffer is a buffer that is a stage.Summer, as the engine's
// writers are.
type summingBuffer struct{ *bytes.Buffer }

func (b summingBuffer) Sum256() [32]byte { return blake3.Sum256(b.Bytes()) }

var regInputs = []string{"inputs/registrations.csv", "config/fields.toml", "config/bethels.csv", "config/privacy.toml"}
var regOutputs = []string{"out/private/registrations.csv", "out/private/registrations.patches.json"}

func runRegistrations(t testing.TB, dir string) (*regRun, error) {
	t.Helper()
	r, rr := workspaceRun(t, os.DirFS(dir), "registrations", regInputs, regOutputs, "patches/registrations/*.toml")
	err := registrationsNormalize{}.Run(context.Background(), r)
	return rr, err
}

func TestRegistrationsGolden(t *testing.T) {
	dir := filepath.Join("testdata", "registrations", "small")
	rr, err := runRegistrations(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for p, b := range rr.outputs {
		got[path.Base(p)] = b.String()
	}
	got["warnings.txt"] = strings.Join(rr.warnings, "\n") + "\n"
	var lin strings.Builder
	if l := rr.lineage["out/private/registrations.csv"]; l != nil {
		for i := 0; i < l.NumRows(); i++ {
			fmt.Fprintf(&lin, "%+v\n", l.Row(i))
		}
	}
	got["lineage.txt"] = lin.String()
	for name, text := range got {
		golden := filepath.Join(dir, "golden", name)
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if string(want) != text {
			t.Errorf("%s differs from %s:\n%s", name, golden, text)
		}
	}
}

// TestRegistrationsSample builds the repository's own sample: it must
// build cleanly (no conflicts, orphans or value errors).
func TestRegistrationsSample(t *testing.T) {
	rr, err := runRegistrations(t, filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range rr.warnings {
		if !strings.Contains(w, "inactive registrations left out") {
			t.Errorf("sample warns: %s", w)
		}
	}
}

// overlayRun runs the stage on the small fixture with files replaced (a
// nil value removes the file).
func overlayRun(t *testing.T, files map[string]*string) (*regRun, error) {
	t.Helper()
	base := filepath.Join("testdata", "registrations", "small")
	fsys := fstest.MapFS{}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		b, err := os.ReadFile(p)
		fsys[filepath.ToSlash(rel)] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, s := range files {
		if s == nil {
			delete(fsys, p)
			continue
		}
		fsys[p] = &fstest.MapFile{Data: []byte(*s)}
	}
	r, rr := workspaceRun(t, fsys, "registrations", regInputs, regOutputs, "patches/registrations/*.toml")
	return rr, registrationsNormalize{}.Run(context.Background(), r)
}

func fixtureFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "registrations", "small", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func replaced(t *testing.T, s, old, new string) *string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("fixture lacks %q", old)
	}
	s = strings.Replace(s, old, new, 1)
	return &s
}

func TestValueErrorFixedByPatch(t *testing.T) {
	export := fixtureFile(t, "inputs/registrations.csv")
	fix := `[[patch]]
id = "type-R-1002"
target = "registrations"
match = { registration_id = "R-1002" }
set = { member_type = "guest" }
reason = "Alumna is not a member type; she comes as a guest"
`
	rr, err := overlayRun(t, map[string]*string{
		"inputs/registrations.csv":          replaced(t, export, ",Parent,", ",Alumna,"),
		"patches/registrations/30-fix.toml": &fix,
	})
	if err != nil {
		t.Fatalf("a patch that sets the field should clear its value error: %v", err)
	}
	if out := rr.outputs["out/private/registrations.csv"].String(); !strings.Contains(out, "R-1002,") || strings.Contains(out, "Alumna") {
		t.Errorf("output:\n%s", out)
	}
	// An inactive record's bad cell fails nothing: it counts nowhere.
	_, err = overlayRun(t, map[string]*string{
		"inputs/registrations.csv": replaced(t, export, ",YS,", ",Youth XXL,"),
	})
	if err != nil {
		t.Errorf("bad cell of a cancelled registration: %v", err)
	}
	// A drop clears it too.
	_, err = overlayRun(t, map[string]*string{
		"inputs/registrations.csv": replaced(t, export, "2012-04-03,21,JD,,All Days,chicken", "2012-04-03,21,Alumna,,All Days,chicken"),
	})
	if err != nil {
		t.Errorf("bad cell of a dropped registration: %v", err)
	}
}

// TestRefreshedExportStage is the weekly situation end to end: last
// week's patches on this week's export.
func TestRefreshedExportStage(t *testing.T) {
	patches := `[[patch]]
id     = "bethel-typo-R-1001"
target = "registrations"
match  = { registration_id = "R-1001" }
expect = { bethel = "7" }
set    = { bethel = "12" }
reason = "Guardian confirmed by email"

[[patch]]
id     = "type-R-1009"
target = "registrations"
match  = { registration_id = "R-1009" }
expect = { member_type = "adult" }
set    = { member_type = "guest" }
reason = "A parent, not council"

[[patch]]
id     = "duplicate-R-1008"
target = "registrations"
match  = { registration_id = "R-1008" }
drop   = true
reason = "Duplicate of R-1007"
`
	export := fixtureFile(t, "inputs/registrations.csv")
	files := map[string]*string{
		"patches/registrations/10-fixes.toml": &patches,
		"patches/registrations/20-more.toml":  nil,
	}
	rr, err := overlayRun(t, files)
	if err != nil || len(rr.warnings) != 1 {
		t.Fatalf("last week: %v %q", err, rr.warnings)
	}
	// This week: the platform fixed R-1001 itself, someone changed R-1009
	// to a daughter, and the duplicate R-1008 is gone.
	s := *replaced(t, export, "Bethel No. 7,", "Bethel 12,")
	s = *replaced(t, s, ",Council,", ",JD,")
	i := strings.Index(s, "R-1008,")
	j := strings.Index(s[i:], "\r\n")
	s = s[:i] + s[i+j+2:]
	files["inputs/registrations.csv"] = &s
	rr, err = overlayRun(t, files)
	wantErr := `patches/registrations/10-fixes.toml:9: patch "type-R-1009": conflict: expect member_type = "adult", but record R-1009 holds member_type = "daughter" (the export changed underneath the patch; check the record and update or remove the patch)
patches/registrations/10-fixes.toml:17: patch "duplicate-R-1008": orphan: no record matches registration_id = "R-1008" (remove the patch if the export no longer has that record)`
	if err == nil || err.Error() != wantErr {
		t.Errorf("error\n got %v\nwant %s", err, wantErr)
	}
	wantWarn := `patches/registrations/10-fixes.toml:1: patch "bethel-typo-R-1001": redundant: record R-1001 already holds bethel = "12" (the export caught up; the patch can be removed)`
	if len(rr.warnings) == 0 || rr.warnings[0] != wantWarn {
		t.Errorf("warnings %q", rr.warnings)
	}
	if len(rr.created) != 0 {
		t.Errorf("created %v", rr.created)
	}
}

func TestRegistrationsDeterministic(t *testing.T) {
	dir := filepath.Join("testdata", "registrations", "small")
	a, err := runRegistrations(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := runRegistrations(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	for p := range a.outputs {
		if a.outputs[p].String() != b.outputs[p].String() {
			t.Errorf("%s differs between runs", p)
		}
	}
}

func TestRegistrationsNodeShape(t *testing.T) {
	dir := filepath.Join("testdata", "registrations", "small")
	r, _ := workspaceRun(t, os.DirFS(dir), "regs", regInputs, regOutputs, "")
	r.Visibility = stage.Internal
	err := registrationsNormalize{}.Run(context.Background(), r)
	if err == nil || err.Error() != "node regs: registrations.normalize writes personal data; its visibility must be private, not internal" {
		t.Errorf("internal: %v", err)
	}
	r, _ = workspaceRun(t, os.DirFS(dir), "regs", regInputs, []string{"out/private/registrations.csv", "out/private/x.txt"}, "")
	err = registrationsNormalize{}.Run(context.Background(), r)
	if err == nil || !strings.Contains(err.Error(), "output out/private/x.txt is none of these") {
		t.Errorf("txt output: %v", err)
	}
	r, _ = workspaceRun(t, os.DirFS(dir), "regs", regInputs[1:], regOutputs, "")
	err = registrationsNormalize{}.Run(context.Background(), r)
	if err == nil || err.Error() != "node regs: no export among the inputs: add the registration export (a .csv) to the node's inputs" {
		t.Errorf("no export: %v", err)
	}
}

// testSchema is the small fixture's field declaration (the sample's),
// its bethel directory bound.
func testSchema(t testing.TB) *schema.Schema {
	t.Helper()
	fsys := os.DirFS(filepath.Join("testdata", "registrations", "small"))
	s, err := schema.Load(fsys, "config/fields.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := bindReferences(fsys, s, []string{"config/bethels.csv"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// testFieldsTOML is a field declaration of the record key and the named
// sensitive fields: all a stage that reads only the sensitive list
// (PrivacyOf) needs of it.
func testFieldsTOML(sensitive ...string) string {
	var b strings.Builder
	b.WriteString("primaryKey = \"registration_id\"\n\n[[fields]]\nname = \"registration_id\"\n")
	for _, f := range sensitive {
		fmt.Fprintf(&b, "\n[[fields]]\nname = %q\nsensitive = true\n", f)
	}
	return b.String()
}
