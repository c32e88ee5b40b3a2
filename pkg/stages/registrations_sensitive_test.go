package stages

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"bethel/pkg/csvio"
	"bethel/pkg/schema"
	scrubset "bethel/pkg/scrub"
)

// TestSensitiveArtifact: the registrations node's .sensitive output knows
// every sensitive value of every export record (active, inactive and
// dropped alike) and of every patch (a walk-in's name, a value a set
// replaced), and no value of a field that is not sensitive.
func TestSensitiveArtifact(t *testing.T) {
	dir := filepath.Join("testdata", "registrations", "small")
	outs := append(append([]string{}, regOutputs...), "out/private/registrations.sensitive")
	r, rr := workspaceRun(t, os.DirFS(dir), "registrations", regInputs, outs, "patches/registrations/*.toml")
	if err := (registrationsNormalize{}).Run(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	set, err := scrubset.ReadSet(bytes.NewReader(rr.outputs["out/private/registrations.sensitive"].Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	sch := testSchema(t)
	f, err := os.Open(filepath.Join(dir, "inputs", "registrations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, "export")
	if err != nil {
		t.Fatal(err)
	}
	cols, err := sch.Columns("export", cr.Header())
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		for i, fl := range sch.Fields {
			j := cols.Index[i]
			if j < 0 {
				continue
			}
			v := schema.Clean(rec.Fields[j])
			if len([]rune(v)) < 4 || fl.IsBlank(v) {
				continue
			}
			hits := set.Find([]byte(v))
			if fl.Sensitive && len(hits) == 0 {
				t.Errorf("line %d: the %s value is not in the set", rec.Line, fl.Name)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d values checked", checked)
	}
	// The walk-in a patch adds, and a first name a patch sets.
	for _, v := range []string{"Maren Quilford", "Isabella"} {
		if len(set.Find([]byte(v))) == 0 {
			t.Errorf("patch value %q is not in the set", v)
		}
	}
	// Not sensitive: a registration id, a meal.
	for _, v := range []string{"R-1001", "chicken", "Birchwood"} {
		if hits := set.Find([]byte(v)); len(hits) > 0 {
			t.Errorf("%q is in the set", v)
		}
	}
}

// TestSensitiveArtifactSplit: the two halves (the mapping half gathers the
// export's values, the patching half adds the patches') write the same set
// as the one node.
func TestSensitiveArtifactSplit(t *testing.T) {
	dir := filepath.Join("testdata", "registrations", "small")
	sens := "out/private/registrations.sensitive"
	outs := append(append([]string{}, regOutputs...), sens)
	r, one := workspaceRun(t, os.DirFS(dir), "registrations", regInputs, outs, "patches/registrations/*.toml")
	if err := (registrationsNormalize{}).Run(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	fsys := dirFS(t, dir)
	mr, mrr := workspaceRun(t, fsys, "registrations-map", regInputs[:3], []string{mappedPath}, "")
	if err := (registrationsMap{}).Run(context.Background(), mr); err != nil {
		t.Fatal(err)
	}
	fsys[mappedPath] = &fstest.MapFile{Data: mrr.outputs[mappedPath].Bytes()}
	pr, prr := workspaceRun(t, fsys, "registrations", []string{mappedPath, "config/fields.toml", "config/bethels.csv", "config/privacy.toml"},
		outs, "patches/registrations/*.toml")
	if err := (registrationsPatch{}).Run(context.Background(), pr); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.outputs[sens].Bytes(), prr.outputs[sens].Bytes()) {
		t.Error("the two halves' sensitive set differs from the one node's")
	}
}

// TestAddWithoutHousingCountsBlank: a walk-in added by a patch that gives
// no housing builds (housing is optional; blank = "none" is what a blank
// export cell means, not a field a patch leaves out), and the housing
// summary counts it in its blank row.
func TestAddWithoutHousingCountsBlank(t *testing.T) {
	dir := filepath.Join("testdata", "registrations", "small")
	rr, err := runRegistrations(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	regs := rr.outputs["out/private/registrations.csv"].Bytes()
	fsys := dirFS(t, dir)
	fsys["out/private/registrations.csv"] = &fstest.MapFile{Data: regs}
	res, err := runStage(t, summaryCount{}, fsys, "internal", []string{"out/private/registrations.csv", "config/fields.toml", "config/privacy.toml"},
		[]string{"out/summary/housing.csv"}, map[string]any{"rows": "housing"})
	if err != nil {
		t.Fatal(err)
	}
	tab := parseCSV(t, "housing", []byte(res.out["out/summary/housing.csv"]))
	blank := ""
	for _, r := range tab.rows {
		if r[0] == "(blank)" {
			blank = r[1]
		}
	}
	if blank != "1" {
		t.Errorf("housing.csv blank row = %q, want 1 (the walk-in W-0001):\n%s", blank, res.out["out/summary/housing.csv"])
	}
}
