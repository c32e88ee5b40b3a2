package stages

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	bethelBinOnce sync.Once
	bethelBin     string
	bethelBinErr  error
)

// bethelBinary builds the real bethel command once per test binary.
func bethelBinary(t *testing.T) string {
	t.Helper()
	bethelBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bethel-site-e2e-")
		if err != nil {
			bethelBinErr = err
			return
		}
		bethelBin = filepath.Join(dir, "bethel")
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if out, err := exec.Command(gobin, "build", "-o", bethelBin, "bethel/cmd/bethel").CombinedOutput(); err != nil {
			bethelBinErr = err
			bethelBin = string(out)
		}
	})
	if bethelBinErr != nil {
		t.Fatalf("building bethel: %v\n%s", bethelBinErr, bethelBin)
	}
	return bethelBin
}

type makeResult struct {
	Ran, Restored, UpToDate, Failed []string
}

func bethelMake(t *testing.T, dir string) makeResult {
	t.Helper()
	cmd := exec.Command(bethelBinary(t), "make", "--json")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bethel make: %v\n%s", err, out)
	}
	var res struct {
		Ran      []string `json:"ran"`
		Restored []string `json:"restored"`
		UpToDate []string `json:"uptodate"`
		Failed   []string `json:"failed"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("bethel make --json: %v\n%s", err, out)
	}
	return makeResult{res.Ran, res.Restored, res.UpToDate, res.Failed}
}

// TestSiteEarlyCutoff runs the real binary on a copy of the sample: a
// change that alters no summary (a comment in schedule.toml) reruns the
// nodes that read the file but leaves the site up to date; a change the
// site shows (a patch's reason) runs it.
func TestSiteEarlyCutoff(t *testing.T) {
	root := repoRoot(t)
	dir := t.TempDir()
	for _, d := range []string{"config", "inputs", "patches"} {
		filepath.WalkDir(filepath.Join(root, d), func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				rel, _ := filepath.Rel(root, p)
				copyFile(t, p, filepath.Join(dir, rel))
			}
			return err
		})
	}
	copyFile(t, filepath.Join(root, "pipeline.toml"), filepath.Join(dir, "pipeline.toml"))
	if res := bethelMake(t, dir); !slices.Contains(res.Ran, "site") {
		t.Fatalf("first build did not run the site: %+v", res)
	}
	index := filepath.Join(dir, "out", "site", "index.html")
	before, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}

	appendTo := func(rel, s string) {
		f, err := os.OpenFile(filepath.Join(dir, rel), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	// Not privacy.toml: every node reads the privacy declaration, the
	// site too.
	appendTo("config/schedule.toml", "# a comment changes no summary\n")
	res := bethelMake(t, dir)
	if !slices.Contains(res.Ran, "corrections") || !slices.Contains(res.Ran, "program") {
		t.Fatalf("the schedule.toml edit reran neither corrections nor program: %+v", res)
	}
	if !slices.Contains(res.UpToDate, "site") {
		t.Errorf("site not skipped after an edit that changes no summary: %+v", res)
	}
	after, _ := os.ReadFile(index)
	if string(after) != string(before) {
		t.Error("index.html changed")
	}

	p := filepath.Join(dir, "patches", "registrations", "10-corrections.toml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	const old = "typo on the form"
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s no longer says %q; pick another reason to edit", p, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, "typo on the paper form", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := bethelMake(t, dir); !slices.Contains(res.Ran, "site") {
		t.Errorf("site not run after a patch's reason changed: %+v", res)
	}
	corr, _ := os.ReadFile(filepath.Join(dir, "out", "site", "corrections.html"))
	if !strings.Contains(string(corr), "typo on the paper form") {
		t.Error("corrections.html lacks the new reason")
	}
}
