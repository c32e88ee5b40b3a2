package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitBuilds scaffolds a workspace with the real binary and builds it
// at once; the second build does no work.
func TestInitBuilds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gb")
	if r := runBethel(t, t.TempDir(), "init", dir); r.code != 0 {
		t.Fatalf("init: exit %d\n%s", r.code, r.stderr)
	}
	for _, f := range []string{"pipeline.toml", "README.md", ".gitignore", "config/schedule.toml", "config/program.lock.json",
		"config/privacy.toml", "inputs/registrations.csv", "inputs/program.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("scaffold lacks %s", f)
		}
	}
	for _, d := range []string{"patches/registrations", "patches/program"} {
		if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			t.Errorf("scaffold lacks directory %s", d)
		}
	}
	r := runBethel(t, dir, "make")
	if r.code != 0 {
		t.Fatalf("make in a new workspace: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"out/summary/attendance.csv", "out/public/attendance.csv", "out/program/schedule.ics", "out/private/roster.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("make did not write %s", f)
		}
	}
	r = runBethel(t, dir, "make")
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, " 0 ran") {
		t.Errorf("second make: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A non-empty directory is refused.
	if r := runBethel(t, dir, "init", dir); r.code == 0 || !strings.Contains(r.stderr, "is not empty") {
		t.Errorf("init over a workspace: exit %d %s", r.code, r.stderr)
	}
}

// TestInitTemplateFollowsSample: the scaffold's pipeline is the sample's,
// but for its opening comment, so that a node added to the sample reaches
// new workspaces too.
func TestInitTemplateFollowsSample(t *testing.T) {
	strip := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for strings.HasPrefix(s, "#") {
			s = s[strings.IndexByte(s, '\n')+1:]
		}
		return s
	}
	if strip("inittemplate/pipeline.toml") != strip(filepath.Join("..", "..", "pipeline.toml")) {
		t.Error("cmd/bethel/inittemplate/pipeline.toml differs from the sample's pipeline.toml; copy the sample's nodes into it")
	}
	for _, f := range []string{"fields.toml", "privacy.toml"} {
		a, _ := os.ReadFile(filepath.Join("inittemplate", "config", f))
		b, _ := os.ReadFile(filepath.Join("..", "..", "config", f))
		if string(a) != string(b) {
			t.Errorf("inittemplate/config/%s differs from the sample's config/%s", f, f)
		}
	}
}
