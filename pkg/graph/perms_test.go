package graph

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bethel/pkg/stage"
)

// TestPermissionsTightened: a private output and the state directories
// widened by hand are put back by the next build, which says so, though
// nothing is rebuilt (issue case: chmod 644 on a private output was never
// put back and the build said up to date).
func TestPermissionsTightened(t *testing.T) {
	root := workspace(t, map[string]string{
		"pipeline.toml": `
[[node]]
name = "regs"
run = "cp inputs/regs.csv out/private/regs.csv"
inputs = ["inputs/regs.csv"]
outputs = ["out/private/regs.csv"]
`,
		"inputs/regs.csv": "a\n",
	})
	opts := Options{Version: "t", Registry: stage.NewRegistry()}
	mustBuild(t, root, opts)
	mustBuild(t, root, opts) // a no-op that writes the clean fingerprint
	os.Chmod(filepath.Join(root, "out/private/regs.csv"), 0o644)
	os.Chmod(filepath.Join(root, ".bethel/cache"), 0o755)
	res := mustBuild(t, root, opts)
	if len(res.UpToDate) != 1 {
		t.Fatalf("rebuilt: %+v", res)
	}
	var warn []string
	for _, n := range res.Nodes {
		warn = append(warn, n.Warnings...)
	}
	all := strings.Join(warn, "\n")
	for _, want := range []string{"out/private/regs.csv is private but was mode 0644: set back to 0600", ".bethel/cache/ was mode 0755"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if got := mustStat(t, root, "out/private/regs.csv").Mode().Perm(); got != 0o600 {
		t.Errorf("regs.csv mode %04o", got)
	}
	if got := mustStat(t, root, ".bethel/cache").Mode().Perm(); got != 0o700 {
		t.Errorf(".bethel/cache mode %04o", got)
	}
}
