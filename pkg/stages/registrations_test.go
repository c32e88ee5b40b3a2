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

	"bethel/pkg/lineage"
	"bethel/pkg/stage"
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
	r := &stage.Run{
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
			return b, nil
		},
		Lineage: func(p string) *lineage.Recorder {
			rec := &lineage.Recorder{}
			rr.lineage[p] = rec
			return rec
		},
		Warnf: func(format string, args ...any) { rr.warnings = append(rr.warnings, fmt.Sprintf(format, args...)) },
	}
	return r, rr
}

var regInputs = []string{"inputs/registrations.csv", "config/columns.toml", "config/values.toml", "config/bethels.csv", "config/privacy.toml"}
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
	for _, row := range rr.lineage["out/private/registrations.csv"].Rows {
		fmt.Fprintf(&lin, "%+v\n", row)
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
