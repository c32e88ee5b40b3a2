package browser_test

// The shared setup: TestMain builds the real binary and one built copy of
// the sample event that every read-only test looks at; a test that edits
// files builds a copy of its own (newWorkspace).

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

var (
	// repoRoot is the repository root, which is also the sample event.
	repoRoot string
	// bethelBin is the binary TestMain built.
	bethelBin string
	// sample is a built copy of the sample event, shared and never edited.
	sample string
	// sampleErr says why the binary or the sample could not be built;
	// tests that need them fail with it (the self-tests still run).
	sampleErr error
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "bethel-browser-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if repoRoot, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bethelBin = filepath.Join(tmp, "bethel")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	build := exec.Command(gobin, "build", "-o", bethelBin, "./cmd/bethel")
	build.Dir = repoRoot
	sample = filepath.Join(tmp, "sample")
	if out, err := build.CombinedOutput(); err != nil {
		// The harness's self-tests need no bethel; every other test fails
		// with this.
		sampleErr = fmt.Errorf("building bethel: %v\n%s", err, out)
	} else {
		sampleErr = buildWorkspace(sample)
	}

	code := m.Run()
	if err := stopBrowser(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code
}

// buildWorkspace copies the sample event (pipeline, inputs, config,
// patches) into dir and runs `bethel make` there.
func buildWorkspace(dir string) error {
	for _, d := range []string{"inputs", "config", "patches"} {
		if err := copyTree(filepath.Join(repoRoot, d), filepath.Join(dir, d)); err != nil {
			return err
		}
	}
	if err := copyFile(filepath.Join(repoRoot, "pipeline.toml"), filepath.Join(dir, "pipeline.toml")); err != nil {
		return err
	}
	r := runBethel(dir, "make")
	if r.err != nil || r.code != 0 {
		return fmt.Errorf("bethel make on a copy of the sample: exit %d %v\n%s%s", r.code, r.err, r.stdout, r.stderr)
	}
	return nil
}

// newWorkspace returns a built copy of the sample event of the test's own.
func newWorkspace(t *testing.T) string {
	t.Helper()
	needSample(t)
	dir := t.TempDir()
	if err := buildWorkspace(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// needSample returns the shared built sample, or fails the test.
func needSample(t *testing.T) string {
	t.Helper()
	if sampleErr != nil {
		t.Fatal(sampleErr)
	}
	return sample
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// runResult is one finished run of the binary.
type runResult struct {
	stdout, stderr string
	code           int
	err            error // the binary could not be run at all
}

// runBethel runs the binary in dir.
func runBethel(dir string, args ...string) runResult {
	cmd := exec.Command(bethelBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BETHEL_DEBUG=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 30 * time.Second
	err := cmd.Run()
	r := runResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		r.err = err
		r.code = -1
	}
	return r
}

// readCSV returns the header and the rows of a CSV file (a leading BOM,
// which the spreadsheets bethel writes carry, removed).
func readCSV(path string) ([]string, [][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))))
	rows, err := r.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("%s: empty", path)
	}
	return rows[0], rows[1:], nil
}
