package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"bethel/pkg/lineage"
	"bethel/pkg/patch"
	"bethel/pkg/stage"
)

const mappedPath = "out/private/registrations.mapped"

// runSplit runs registrations.map then registrations.patch over fsys, the
// mapped table handed over in memory as the engine would on disk. It
// returns the patching half's run (nil when the mapping half failed) and
// the mapping half's.
func runSplit(t *testing.T, fsys fstest.MapFS) (mapRun, patchRun *regRun, err error) {
	t.Helper()
	mr, mrr := workspaceRun(t, fsys, "registrations-map", regInputs[:3], []string{mappedPath}, "")
	if err := (registrationsMap{}).Run(context.Background(), mr); err != nil {
		if len(mrr.created) > 0 {
			t.Errorf("failed mapping created outputs %v", mrr.created)
		}
		return mrr, nil, err
	}
	over := fstest.MapFS{}
	for k, v := range fsys {
		over[k] = v
	}
	over[mappedPath] = &fstest.MapFile{Data: mrr.outputs[mappedPath].Bytes()}
	pr, prr := workspaceRun(t, over, "registrations", []string{mappedPath, "config/fields.toml", "config/bethels.csv", "config/privacy.toml"},
		regOutputs, "patches/registrations/*.toml")
	err = (registrationsPatch{}).Run(context.Background(), pr)
	if err != nil && len(prr.created) > 0 {
		t.Errorf("failed patching created outputs %v", prr.created)
	}
	return mrr, prr, err
}

func dirFS(t *testing.T, roots ...string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				switch d.Name() {
				case ".git", ".bethel", "out", "bin", "pkg", "cmd", "test", "docs":
					if p != root {
						return filepath.SkipDir
					}
				}
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			b, err := os.ReadFile(p)
			fsys[filepath.ToSlash(rel)] = &fstest.MapFile{Data: b}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return fsys
}

// TestSplitMatchesNormalize: registrations.map + registrations.patch write
// byte for byte what registrations.normalize writes, warn the same, and
// their lineage, followed through the mapped table, names the same source
// records and patches.
func TestSplitMatchesNormalize(t *testing.T) {
	for _, dir := range []string{filepath.Join("testdata", "registrations", "small"), "../.."} {
		fsys := dirFS(t, dir)
		for k := range fsys {
			if strings.HasPrefix(k, "out/") || strings.HasPrefix(k, ".bethel/") || strings.HasPrefix(k, ".git/") {
				delete(fsys, k)
			}
		}
		one, err := runRegistrations(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		mrr, prr, err := runSplit(t, fsys)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range regOutputs {
			if !bytes.Equal(one.outputs[o].Bytes(), prr.outputs[o].Bytes()) {
				t.Errorf("%s: %s differs between the one node and the two halves", dir, o)
			}
		}
		if got, want := append(mrr.warnings, prr.warnings...), one.warnings; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: warnings\n got %q\nwant %q", dir, got, want)
		}
		a, b, m := one.lineage[regOutputs[0]], prr.lineage[regOutputs[0]], mrr.lineage[mappedPath]
		if a.NumRows() != b.NumRows() || a.NumRows() == 0 {
			t.Fatalf("%s: %d and %d lineage rows", dir, a.NumRows(), b.NumRows())
		}
		for i := 0; i < a.NumRows(); i++ {
			want, got := a.Row(i), b.Row(i)
			var srcs []lineage.Source
			for _, ref := range got.Refs {
				if ref.Input != mappedPath {
					t.Fatalf("row %d refers to %s", i, ref.Input)
				}
				srcs = append(srcs, m.Row(ref.Row).Sources...)
			}
			got.Sources = append(got.Sources, srcs...)
			got.Refs = nil
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: lineage of row %d\n got %+v\nwant %+v", dir, i, got, want)
			}
		}
	}
}

// TestSplitBadInputs: every bad-input case fails the two halves with the
// error the one node gives (the mapping half for the export and its
// config, the patching half for value errors no patch fixes and patches).
func TestSplitBadInputs(t *testing.T) {
	base := filepath.Join("testdata", "registrations", "small")
	cases, err := os.ReadDir(filepath.Join("testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "bad", c.Name())
			fsys := dirFS(t, base, dir)
			for k := range fsys {
				if strings.HasPrefix(k, "golden/") || k == "error.golden" || k == "remove.txt" {
					delete(fsys, k)
				}
			}
			if b, err := os.ReadFile(filepath.Join(dir, "remove.txt")); err == nil {
				for _, p := range strings.Fields(string(b)) {
					delete(fsys, p)
				}
			}
			want, err := os.ReadFile(filepath.Join(dir, "error.golden"))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = runSplit(t, fsys)
			if err == nil {
				t.Fatal("no error")
			}
			got := err.Error() + "\n"
			if strings.Contains(string(want), "privacy") && strings.Contains(got, "privacy") {
				return // privacy.toml is read by the other half: a different node name is fine
			}
			if got != string(want) {
				t.Errorf("error\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

// TestSplitPatchReport: `bethel patches` on the patching half maps the
// export again, so a stale mapped table does not hide what the next build
// will find.
func TestSplitPatchReport(t *testing.T) {
	dir := filepath.Join("testdata", "registrations", "small")
	fsys := dirFS(t, dir)
	mr, mrr := workspaceRun(t, fsys, "registrations-map", regInputs[:3], []string{mappedPath}, "")
	if err := (registrationsMap{}).Run(context.Background(), mr); err != nil {
		t.Fatal(err)
	}
	fsys[mappedPath] = &fstest.MapFile{Data: mrr.outputs[mappedPath].Bytes()}
	// The export changes after the mapping: one record's bethel is gone
	// from it, so a patch matching that record must become an orphan.
	one, err := runRegistrations(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := workspaceRun(t, fsys, "registrations", []string{mappedPath, "config/fields.toml", "config/bethels.csv", "config/privacy.toml"},
		regOutputs, "patches/registrations/*.toml")
	rep, err := (registrationsPatch{}).PatchReport(context.Background(), pr, patch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b) + "\n"; got != one.outputs[regOutputs[1]].String() {
		t.Errorf("report differs from the one node's:\n%s", got)
	}
	lines := strings.SplitAfter(string(fsys["inputs/registrations.csv"].Data), "\n")
	fsys["inputs/registrations.csv"] = &fstest.MapFile{Data: []byte(strings.Join(lines[:len(lines)-3], ""))}
	pr, _ = workspaceRun(t, fsys, "registrations", []string{mappedPath, "config/fields.toml", "config/bethels.csv", "config/privacy.toml"},
		regOutputs, "patches/registrations/*.toml")
	rep2, _ := (registrationsPatch{}).PatchReport(context.Background(), pr, patch.Options{})
	if rep2 == nil || rep2.Counts["rows_read"] != rep.Counts["rows_read"]-1 {
		t.Errorf("the report did not follow the changed export: %+v", rep2)
	}
}

// TestMappedDamaged: a damaged or foreign stored table is an error naming
// the file, never a panic or a wrong table.
func TestMappedDamaged(t *testing.T) {
	fsys := dirFS(t, filepath.Join("testdata", "registrations", "small"))
	mr, mrr := workspaceRun(t, fsys, "registrations-map", regInputs[:3], []string{mappedPath}, "")
	if err := (registrationsMap{}).Run(context.Background(), mr); err != nil {
		t.Fatal(err)
	}
	good := mrr.outputs[mappedPath].Bytes()
	if m, _, err := readMapped(bytes.NewReader(good), 0, mappedPath, testSchema(t), true); err != nil || len(m.table.Records) == 0 {
		t.Fatalf("good table: %v", err)
	}
	for i := 0; i < len(good); i += 7 {
		for _, b := range [][]byte{good[:i], append(append([]byte{}, good[:i]...), append([]byte{good[i] ^ 0x5a}, good[i+1:]...)...)} {
			m, _, err := readMapped(bytes.NewReader(b), 0, mappedPath, testSchema(t), true)
			if err == nil && len(b) < len(good) {
				t.Fatalf("truncated at %d: no error", i)
			}
			if err != nil && !strings.HasPrefix(err.Error(), mappedPath+":1: ") {
				t.Fatalf("error %q", err)
			}
			_ = m
		}
	}
}

const tablePath = "out/private/registrations.table"

// runSplitTable is runSplit with the patching half writing the column
// table too; it returns the workspace with both outputs laid over it.
func runSplitTable(t *testing.T, fsys fstest.MapFS) fstest.MapFS {
	t.Helper()
	mr, mrr := workspaceRun(t, fsys, "registrations-map", regInputs[:3], []string{mappedPath}, "")
	if err := (registrationsMap{}).Run(context.Background(), mr); err != nil {
		t.Fatal(err)
	}
	fsys[mappedPath] = &fstest.MapFile{Data: mrr.outputs[mappedPath].Bytes()}
	pr, prr := workspaceRun(t, fsys, "registrations", []string{mappedPath, "config/fields.toml", "config/bethels.csv", "config/privacy.toml"},
		append(append([]string{}, regOutputs...), tablePath), "patches/registrations/*.toml")
	if err := (registrationsPatch{}).Run(context.Background(), pr); err != nil {
		t.Fatal(err)
	}
	fsys[regOutputs[0]] = &fstest.MapFile{Data: prr.outputs[regOutputs[0]].Bytes()}
	fsys[tablePath] = &fstest.MapFile{Data: prr.outputs[tablePath].Bytes()}
	return fsys
}

// TestTableMatchesFile: the column table the patching half writes holds
// exactly what parsing the file it wrote gives: every column, every
// row's line (records with line breaks span several) and data row.
func TestTableMatchesFile(t *testing.T) {
	for _, dir := range []string{filepath.Join("testdata", "registrations", "small"), "../.."} {
		fsys := dirFS(t, dir)
		withEscapedCells(t, fsys)
		fsys = runSplitTable(t, fsys)
		want, wantIdx, err := parseRegistrations(context.Background(), fsys, regOutputs[0], testSchema(t).Names(), false)
		if err != nil {
			t.Fatal(err)
		}
		got, gotIdx, err := readRegTable(fsys, regOutputs[0], tablePath, testSchema(t).Names())
		if err != nil {
			t.Fatal(err)
		}
		if got.n != want.n || got.file != want.file || !reflect.DeepEqual(got.header, want.header) ||
			!reflect.DeepEqual(got.lines, want.lines) || !reflect.DeepEqual(got.rowIdx, want.rowIdx) || !reflect.DeepEqual(gotIdx, wantIdx) {
			t.Fatalf("%s: the table differs from the file in shape", dir)
		}
		for c := range want.cols {
			for i := 0; i < want.n; i++ {
				if g, w := got.col(c).at(i), want.col(c).at(i); g != w {
					t.Fatalf("%s: %s row %d: table %q, file %q", dir, c, i, g, w)
				}
			}
		}
	}
}

// TestTableReaders: the roster and the duplicate report read the column
// table when their node lists it, and their outputs and lineage are
// exactly those of parsing the file.
func TestTableReaders(t *testing.T) {
	for _, dir := range []string{filepath.Join("testdata", "registrations", "small"), "../.."} {
		fsys := dirFS(t, dir)
		first := firstRegistrationID(t, fsys)
		withEscapedCells(t, fsys)
		fsys = runSplitTable(t, fsys)
		csv := fsys[regOutputs[0]].Data
		if !bytes.Contains(csv, []byte(`"'-Jo, ""JJ"""`)) || !bytes.Contains(csv, []byte("'=HYPERLINK(1)")) || !bytes.Contains(csv, []byte("''=as typed")) {
			t.Fatalf("%s: the patched cells are not escaped in the file as this test expects", dir)
		}
		for _, tc := range []struct {
			s       stage.Stage
			inputs  []string
			outputs []string
			vis     stage.Visibility
			params  map[string]any
		}{
			{roster{}, []string{regOutputs[0], "config/fields.toml", "config/bethels.csv", "config/privacy.toml"}, []string{"out/private/roster.csv"}, stage.Private, rosterParams},
			{registrationsDuplicates{}, []string{regOutputs[0], "config/fields.toml", "config/privacy.toml"}, []string{"out/summary/duplicates.csv"}, stage.Internal, nil},
		} {
			run := func(inputs []string) (string, []lineage.Row) {
				t.Helper()
				var out bytes.Buffer
				rec := &lineage.Recorder{}
				r := engineDecl(&stage.Run{Node: "n", Inputs: inputs, Outputs: tc.outputs, Visibility: tc.vis, FS: fsys, Params: tc.params,
					Create:  func(string) (io.Writer, error) { return &out, nil },
					Lineage: func(string) *lineage.Recorder { return rec },
					Warnf:   func(string, ...any) {}})
				if err := tc.s.Run(context.Background(), r); err != nil {
					t.Fatalf("%s: %s: %v", dir, tc.s.Name(), err)
				}
				rows := make([]lineage.Row, rec.NumRows())
				for i := range rows {
					rows[i] = rec.Row(i)
				}
				return out.String(), rows
			}
			withTable := append(append([]string{}, tc.inputs...), tablePath)
			// NextWhere reads the same rows both ways.
			where := func(inputs []string) [][]string {
				t.Helper()
				r := engineDecl(&stage.Run{FS: fsys, Inputs: inputs})
				sc, done, err := scanRegistrations(r, regOutputs[0], "registration_id", "preferred_name", "allergies")
				if err != nil {
					t.Fatal(err)
				}
				defer done()
				if (len(inputs) == len(withTable)) != sc.Stable() {
					t.Fatalf("%s: table used: %v", dir, sc.Stable())
				}
				keep := map[string]bool{first: true, "no such id": true}
				var rows [][]string
				for {
					v, err := sc.NextWhere(keep)
					if err == io.EOF {
						return rows
					}
					if err != nil {
						t.Fatal(err)
					}
					rows = append(rows, slices.Clone(v))
				}
			}
			if got, want := where(withTable), where(tc.inputs); len(want) != 1 || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: NextWhere over the table %q, over the file %q", dir, got, want)
			}
			gotOut, gotLin := run(withTable)
			wantOut, wantLin := run(tc.inputs)
			if gotOut != wantOut {
				t.Errorf("%s: %s: output from the table differs from parsing the file", dir, tc.s.Name())
			}
			if !reflect.DeepEqual(gotLin, wantLin) {
				t.Errorf("%s: %s: lineage from the table differs from parsing the file", dir, tc.s.Name())
			}
		}
	}
}

// withEscapedCells adds a patch to fsys that gives the export's first
// record cells a spreadsheet would read as formulas, one that already
// starts with an apostrophe, and quotes and commas, in columns the
// roster, the duplicate report and the summaries read: the file holds
// them escaped and quoted, the records as they are.
func withEscapedCells(t *testing.T, fsys fstest.MapFS) {
	t.Helper()
	id := firstRegistrationID(t, fsys)
	fsys["patches/registrations/99-escaped.toml"] = &fstest.MapFile{Data: []byte(`[[patch]]
id = "escaped"
target = "registrations"
match = { registration_id = "` + id + `" }
set = { preferred_name = "-Jo, \"JJ\"", allergies = "=HYPERLINK(1)", dietary_needs = "'=as typed", email = "+x@example.org" }
reason = "test"
`)}
}

// firstRegistrationID is the id of the export's first record, read with
// the mapping half.
func firstRegistrationID(t *testing.T, fsys fstest.MapFS) string {
	t.Helper()
	_, prr, err := runSplit(t, fsys)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.TrimPrefix(prr.outputs[regOutputs[0]].String(), "\uFEFF")
	lines := strings.SplitN(out, "\n", 3)
	return strings.SplitN(lines[1], ",", 2)[0]
}

// FuzzReadMapped: a damaged or foreign mapped table is an error, never a
// panic; a table that reads, written again and read back, gives the same
// table (so what a read accepts is what the writer means).
func FuzzReadMapped(f *testing.F) {
	mrr, _, err := runSplit(&testing.T{}, dirFS(&testing.T{}, filepath.Join("testdata", "registrations", "small")))
	if err == nil && mrr != nil && mrr.outputs[mappedPath] != nil {
		good := mrr.outputs[mappedPath].Bytes()
		f.Add(good)
		f.Add(good[:len(good)/2])
		f.Add(append(append([]byte{}, good...), 0))
	}
	f.Add([]byte(regMappedMagic))
	f.Add([]byte("bethel registrations.map 1\n"))
	f.Add([]byte{})
	sch := testSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, size := range []int64{int64(len(data)), 0, int64(len(data)) / 2} {
			m, src, err := readMapped(bytes.NewReader(data), size, "m.mapped", sch, true)
			if err != nil {
				if !strings.Contains(err.Error(), "m.mapped:1: ") {
					t.Fatalf("error without the file's position: %v", err)
				}
				continue
			}
			var again bytes.Buffer
			if err := writeMapped(&again, src, m); err != nil {
				t.Fatal(err)
			}
			m2, src2, err := readMapped(bytes.NewReader(again.Bytes()), int64(again.Len()), "m.mapped", sch, true)
			if err != nil {
				t.Fatalf("a table written from an accepted one does not read: %v", err)
			}
			var third bytes.Buffer
			if err := writeMapped(&third, src2, m2); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), third.Bytes()) {
				t.Fatal("writing a read table twice differs")
			}
		}
	})
}
