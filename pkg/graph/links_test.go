package graph

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bethel/pkg/stage"
)

// TestSymlinkedSources: a source that is a symbolic link into out/, into
// .bethel/ or outside the workspace is refused before anything runs (a
// private output laundered as config/lookup.csv); one within the sources
// is fine.
func TestSymlinkedSources(t *testing.T) {
	outside := t.TempDir()
	write(t, outside, "x.csv", "x\n")
	for _, tc := range []struct{ name, target, want string }{
		{"an output", "../out/private/regs.csv", `node "lookup" reads config/lookup.csv, a symbolic link that leads to out/private/regs.csv, an output of node "regs"`},
		{"the cache", "../.bethel/state/log", "leads into .bethel/"},
		{"outside", filepath.Join(outside, "x.csv"), "leads outside the workspace"},
		{"a source", "../inputs/regs.csv", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := workspace(t, map[string]string{
				"pipeline.toml": `
[[node]]
name = "regs"
run = "cp inputs/regs.csv out/private/regs.csv"
inputs = ["inputs/regs.csv"]
outputs = ["out/private/regs.csv"]

[[node]]
name = "lookup"
run = "wc -l < config/lookup.csv > out/public/n.txt"
inputs = ["config/lookup.csv"]
outputs = ["out/public/n.txt"]
`,
				"inputs/regs.csv": "a\nb\n",
			})
			opts := Options{Version: "t", Registry: stage.NewRegistry()}
			// A first build without the link makes out/ and .bethel/.
			write(t, root, "config/lookup.csv", "r\n")
			mustBuild(t, root, opts)
			os.Remove(filepath.Join(root, "config/lookup.csv"))
			if err := os.Symlink(tc.target, filepath.Join(root, "config/lookup.csv")); err != nil {
				t.Fatal(err)
			}
			_, err := Build(context.Background(), load(t, root, opts.Registry), opts)
			if tc.want == "" {
				if err != nil && strings.Contains(err.Error(), "symbolic link") {
					t.Fatalf("a link within the sources refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCleanFollowsNoLink: clean removes no file behind a symbolic link
// to a directory, and not the link either.
func TestCleanFollowsNoLink(t *testing.T) {
	root := workspace(t, map[string]string{
		"pipeline.toml": `
[[node]]
name = "a"
run = "cp src/a.txt out/d/a.txt"
inputs = ["src/a.txt"]
outputs = ["out/d/a.txt"]
`,
		"src/a.txt": "a\n",
	})
	opts := Options{Version: "t", Registry: stage.NewRegistry()}
	mustBuild(t, root, opts)
	elsewhere := t.TempDir()
	write(t, elsewhere, "a.txt", "keep me\n")
	os.RemoveAll(filepath.Join(root, "out/d"))
	if err := os.Symlink(elsewhere, filepath.Join(root, "out/d")); err != nil {
		t.Fatal(err)
	}
	res, err := Clean(load(t, root, opts.Registry), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, elsewhere, "a.txt"); got != "keep me\n" {
		t.Errorf("the file behind the link was touched: %q", got)
	}
	if fi, err := os.Lstat(filepath.Join(root, "out/d")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was removed: %v", err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "out/d/a.txt is under out/d, a symbolic link: not followed") {
		t.Errorf("warnings %q", res.Warnings)
	}
}
