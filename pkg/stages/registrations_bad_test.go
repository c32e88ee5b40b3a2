package stages

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestBadInputs runs every case of testdata/bad: a small workspace (the
// registrations fixture with the case's files laid over it, and the paths
// in remove.txt taken away) that must fail with exactly error.golden and
// write nothing.
func TestBadInputs(t *testing.T) {
	base := filepath.Join("testdata", "registrations", "small")
	cases, err := os.ReadDir(filepath.Join("testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 25 {
		t.Fatalf("only %d bad-input cases", len(cases))
	}
	sensitive := fixtureSensitiveValues(t)
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "bad", c.Name())
			fsys := fstest.MapFS{}
			for _, root := range []string{base, dir} {
				err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					rel, _ := filepath.Rel(root, p)
					rel = filepath.ToSlash(rel)
					if root == base && strings.HasPrefix(rel, "golden/") || root == dir && (rel == "error.golden" || rel == "remove.txt") {
						return nil
					}
					b, err := os.ReadFile(p)
					fsys[rel] = &fstest.MapFile{Data: b}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if b, err := os.ReadFile(filepath.Join(dir, "remove.txt")); err == nil {
				for _, p := range strings.Fields(string(b)) {
					delete(fsys, p)
				}
			}
			r, rr := workspaceRun(t, fsys, "registrations", regInputs, regOutputs, "patches/registrations/*.toml")
			err := registrationsNormalize{}.Run(context.Background(), r)
			if err == nil {
				t.Fatal("no error")
			}
			if len(rr.created) > 0 {
				t.Errorf("failed run created outputs %v", rr.created)
			}
			got := err.Error() + "\n"
			golden := filepath.Join(dir, "error.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run with -update)", rerr)
			}
			if got != string(want) {
				t.Errorf("error\n got: %s\nwant: %s", got, want)
			}
			for _, v := range sensitive {
				if strings.Contains(got, v) {
					t.Errorf("error shows the sensitive value %q", v)
				}
			}
		})
	}
}

// fixtureSensitiveValues returns the values of the fixture's sensitive
// columns (those long enough not to occur by chance in a message).
func fixtureSensitiveValues(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "registrations", "small", "golden", "registrations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	header := strings.Split(strings.TrimPrefix(lines[0], "\uFEFF"), ",")
	priv, err := LoadPrivacyWith(os.DirFS(filepath.Join("testdata", "registrations", "small")), "config/privacy.toml", "config/fields.toml")
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, l := range lines[1:] {
		for i, v := range strings.Split(l, ",") {
			if i < len(header) && priv.IsSensitive(header[i]) && len(v) >= 4 {
				vals = append(vals, strings.Trim(v, `"'`))
			}
		}
	}
	return append(vals, "Calley", "carol at example.org", "02.01.1975")
}
