package main

import (
	"bytes"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bethel/pkg/cache"
)

// sampleVariant is one state of the sample event's sources: the original,
// a patch file shifted down a line (only lineage and the site change), and
// an export in which one registration moved bethel (most outputs change).
type sampleVariant func(t *testing.T, dir string)

var sampleVariants = []sampleVariant{
	func(t *testing.T, dir string) {},
	func(t *testing.T, dir string) {
		editFile(t, dir, "patches/registrations/10-corrections.toml", func(s string) string { return "# shifted\n" + s })
	},
	func(t *testing.T, dir string) {
		editFile(t, dir, "inputs/registrations.csv", func(s string) string {
			i := strings.Index(s, "\nR-10001,")
			j := i + 1 + strings.Index(s[i+1:], "\n")
			return s[:i] + strings.Replace(s[i:j], "Bethel 17", "Bethel 20", 1) + s[j:]
		})
	},
}

// editFile rewrites dir/rel from the sample's original content.
func editFile(t *testing.T, dir, rel string, edit func(string) string) {
	t.Helper()
	orig, err := os.ReadFile(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rel), []byte(edit(string(orig))), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setVariant puts the sample's sources in state v.
func setVariant(t *testing.T, dir string, v int) {
	t.Helper()
	if err := copySample(filepath.Join("..", ".."), dir); err != nil {
		t.Fatal(err)
	}
	sampleVariants[v](t, dir)
}

// outTree is every file under out/ but the build report (which holds the
// time of the build), by path.
func outTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(filepath.Join(dir, "out"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if filepath.ToSlash(rel) == "out/site/build.js" {
			return nil
		}
		b, err := os.ReadFile(p)
		m[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMakeCrashSafetySample kills bethel with SIGKILL at random points of
// builds of the sample event (built-in stages, lineage, the review site)
// and checks that the next make leaves every output byte for byte what an
// uninterrupted build of the same sources writes, no temporary file, and
// nothing to do for the make after it.
func TestMakeCrashSafetySample(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 trials take seconds")
	}
	want := make([]map[string]string, len(sampleVariants))
	var full time.Duration
	for v := range sampleVariants {
		dir := t.TempDir()
		setVariant(t, dir, v)
		start := time.Now()
		if r := runBethel(t, dir, "make"); r.code != 0 {
			t.Fatalf("variant %d: make: exit %d\n%s", v, r.code, r.stderr)
		}
		full = max(full, time.Since(start))
		want[v] = outTree(t, dir)
	}
	dir := t.TempDir()
	setVariant(t, dir, 0)
	runBethel(t, dir, "make")
	rng := rand.New(rand.NewSource(1))
	const trials = 16
	for trial := range trials {
		v := rng.Intn(len(sampleVariants))
		setVariant(t, dir, v)
		cmd := exec.Command(bethelBin, "make")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "BETHEL_DEBUG=")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int63n(int64(full))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if r := runBethel(t, dir, "make"); r.code != 0 {
			t.Fatalf("trial %d (variant %d): make after the kill: exit %d\n%s", trial, v, r.code, r.stderr)
		}
		got := outTree(t, dir)
		for p, w := range want[v] {
			if g, ok := got[p]; !ok {
				t.Fatalf("trial %d (variant %d): %s missing after recovery", trial, v, p)
			} else if g != w {
				t.Fatalf("trial %d (variant %d): %s differs from an uninterrupted build (%d bytes, want %d)", trial, v, p, len(g), len(w))
			}
		}
		for p := range got {
			if _, ok := want[v][p]; !ok {
				t.Fatalf("trial %d (variant %d): %s is not an output of an uninterrupted build", trial, v, p)
			}
		}
		var temps []string
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && cache.IsTemp(d.Name()) {
				temps = append(temps, p)
			}
			return nil
		})
		if len(temps) > 0 {
			t.Fatalf("trial %d: temporary files left: %v", trial, temps)
		}
		if r := runBethel(t, dir, "make"); r.code != 0 || !bytes.Contains([]byte(r.stdout), []byte(" 0 ran, 0 restored,")) {
			t.Fatalf("trial %d: the make after recovery did work or failed: exit %d\n%s%s", trial, r.code, r.stdout, r.stderr)
		}
	}
}
