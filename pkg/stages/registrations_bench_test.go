package stages

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"bethel/pkg/stage"
)

// benchWorkspace generates a synthetic workspace of rows registrations
// with cmd/bethel-sample (once per process and size), or uses
// $BETHEL_BENCH_WS when set.
func benchWorkspace(b *testing.B, rows int) string {
	b.Helper()
	if ws := os.Getenv("BETHEL_BENCH_WS"); ws != "" {
		return ws
	}
	dir := filepath.Join(os.TempDir(), "bethel-bench-registrations-"+strconv.Itoa(rows))
	if _, err := os.Stat(filepath.Join(dir, "inputs", "registrations.csv")); err == nil {
		return dir
	}
	cmd := exec.Command("go", "run", "../../cmd/bethel-sample", "-rows", strconv.Itoa(rows), "-seed", "7", "-out", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("bethel-sample: %v\n%s", err, out)
	}
	return dir
}

func benchRegistrations(b *testing.B, rows int) {
	dir := benchWorkspace(b, rows)
	st, err := os.Stat(filepath.Join(dir, "inputs", "registrations.csv"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, rr := workspaceRun(b, os.DirFS(dir), "registrations", regInputs, regOutputs, "patches/registrations/*.toml")
		r.Lineage = nil
		if err := (registrationsNormalize{}).Run(context.Background(), r); err != nil {
			b.Fatal(err)
		}
		out := rr.outputs["out/private/registrations.csv"].Bytes()
		fsys := map[string][]byte{"out/private/registrations.csv": out}
		_ = fsys
		d, dr := workspaceRun(b, os.DirFS(dir), "duplicates", []string{"out/private/registrations.csv", "config/fields.toml", "config/privacy.toml"}, []string{"out/summary/duplicates.csv"}, "")
		d.FS = overlayFS{base: os.DirFS(dir), files: fsys}
		d.Visibility = stage.Internal
		if err := (registrationsDuplicates{}).Run(context.Background(), d); err != nil {
			b.Fatal(err)
		}
		_ = dr
	}
}

func BenchmarkRegistrations100k(b *testing.B) { benchRegistrations(b, 100000) }
