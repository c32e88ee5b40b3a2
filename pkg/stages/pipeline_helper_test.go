package stages

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"bethel/pkg/lineage"
	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

// wsBuild is an in-process build of a whole workspace pipeline: every
// stage node run in the loader's order, outputs kept in memory and read
// back by later nodes. It needs no engine, so the stages' tests do not
// depend on pkg/graph, yet they run the real pipeline.toml.
type wsBuild struct {
	root     string
	p        *pipeline.Pipeline
	outputs  map[string][]byte
	vis      map[string]stage.Visibility // output path -> its node's visibility
	lineage  map[string]*lineage.Recorder
	warnings map[string][]string // node -> warnings
}

// overlay reads built outputs from memory and everything else from disk.
type overlay struct {
	mem  map[string][]byte
	disk fs.FS
}

func (o overlay) Open(name string) (fs.File, error) {
	if b, ok := o.mem[name]; ok {
		return fstest.MapFS{name: {Data: b}}.Open(name)
	}
	return o.disk.Open(name)
}

// buildWorkspace builds root's pipeline.toml; it fails the test on the
// first node error.
func buildWorkspace(t testing.TB, root string) *wsBuild {
	t.Helper()
	b, err := tryBuildWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tryBuildWorkspace(root string) (*wsBuild, error) {
	p, err := pipeline.Load(root, "pipeline.toml", Registry().Names())
	if err != nil {
		return nil, err
	}
	b := &wsBuild{root: root, p: p, outputs: map[string][]byte{}, vis: map[string]stage.Visibility{},
		lineage: map[string]*lineage.Recorder{}, warnings: map[string][]string{}}
	fsys := overlay{mem: b.outputs, disk: os.DirFS(root)}
	for _, n := range p.Order {
		if !n.IsStage() {
			return nil, fmt.Errorf("node %s: command nodes are not run in process", n.Name)
		}
		st, _ := Registry().Lookup(n.Stage)
		bufs := map[string]*bytes.Buffer{}
		run := engineDecl(&stage.Run{
			Node: n.Name, Inputs: n.InputFiles, Patches: n.PatchFiles, Outputs: n.Outputs,
			Visibility: n.Visibility, Params: n.Params, FS: fsys,
			Create: func(path string) (io.Writer, error) {
				if !contains(n.Outputs, path) || bufs[path] != nil {
					return nil, fmt.Errorf("node %s: bad or repeated output %s", n.Name, path)
				}
				bufs[path] = &bytes.Buffer{}
				return bufs[path], nil
			},
			Lineage: func(path string) *lineage.Recorder {
				if os.Getenv("BETHEL_NO_LINEAGE") != "" {
					return nil
				}
				if b.lineage[path] == nil {
					b.lineage[path] = &lineage.Recorder{}
				}
				return b.lineage[path]
			},
			Warnf: func(format string, args ...any) {
				b.warnings[n.Name] = append(b.warnings[n.Name], fmt.Sprintf(format, args...))
			},
		})
		engineInputs(b, n, run) // site_helper_test.go
		start := time.Now()
		if err := st.Run(context.Background(), run); err != nil {
			return b, fmt.Errorf("node %s: %w", n.Name, err)
		}
		if os.Getenv("BETHEL_NODE_TIMES") != "" {
			fmt.Fprintf(os.Stderr, "%-20s %v\n", n.Name, time.Since(start))
		}
		for _, o := range n.Outputs {
			if bufs[o] == nil {
				return nil, fmt.Errorf("node %s did not write %s", n.Name, o)
			}
			b.outputs[o] = bufs[o].Bytes()
			b.vis[o] = n.Visibility
		}
	}
	return b, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// repoRoot is the repository root: the sample event.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var (
	sampleGenOnce sync.Once
	sampleGenBin  string
	sampleGenErr  error
)

// generatedWorkspace makes a workspace with rows generated registrations
// (cmd/bethel-sample, which also writes the registrations config and
// patches that fit them) and the sample's program, schedule, lock and
// pipeline.
func generatedWorkspace(t testing.TB, rows int, seed int) string {
	t.Helper()
	sampleGenOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bethel-sample-gen-")
		if err != nil {
			sampleGenErr = err
			return
		}
		sampleGenBin = filepath.Join(dir, "bethel-sample")
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(gobin, "build", "-o", sampleGenBin, "bethel/cmd/bethel-sample")
		if out, err := cmd.CombinedOutput(); err != nil {
			sampleGenErr = fmt.Errorf("building bethel-sample: %v\n%s", err, out)
		}
	})
	if sampleGenErr != nil {
		t.Fatal(sampleGenErr)
	}
	dir := t.TempDir()
	root := repoRoot(t)
	// The generator writes the config it varies (and may overwrite
	// these); the field declarations are the sample's.
	for _, f := range []string{"pipeline.toml", "inputs/program.csv", "config/schedule.toml", "config/program.lock.json", "config/fields.toml"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(dir, f))
	}
	progPatches, _ := filepath.Glob(filepath.Join(root, "patches", "program", "*.toml"))
	for _, f := range progPatches {
		copyFile(t, f, filepath.Join(dir, "patches", "program", filepath.Base(f)))
	}
	cmd := exec.Command(sampleGenBin, "-rows", fmt.Sprint(rows), "-seed", fmt.Sprint(seed), "-out", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bethel-sample: %v\n%s", err, out)
	}
	adaptProgram(t, root, dir)
	return dir
}

// adaptProgram maps the sample program's bethel numbers onto a generated
// bethel directory (another seed invents other numbers), by rank, and
// unlocks the program, whose locked bethels no longer hold.
func adaptProgram(t testing.TB, root, dir string) {
	t.Helper()
	numbers := func(p string) []int {
		b, err := LoadBethels(os.DirFS(p), "config/bethels.csv")
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, x := range b.List {
			out = append(out, x.Number)
		}
		return out
	}
	from, to := numbers(root), numbers(dir)
	if fmt.Sprint(from) == fmt.Sprint(to) {
		return
	}
	m := map[string]string{}
	for i, n := range from {
		m[fmt.Sprint(n)] = fmt.Sprint(to[i%len(to)])
	}
	mapList := func(s, sep string) string {
		parts := strings.Split(s, sep)
		for i, p := range parts {
			q := strings.Trim(p, `" `)
			if v, ok := m[q]; ok {
				parts[i] = strings.Replace(p, q, v, 1)
			}
		}
		return strings.Join(parts, sep)
	}
	prog := filepath.Join(dir, "inputs", "program.csv")
	b, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\r\n")
	for i := 1; i < len(lines); i++ {
		if k := strings.LastIndexByte(lines[i], ','); k >= 0 {
			lines[i] = lines[i][:k+1] + mapList(lines[i][k+1:], ";")
		}
	}
	if err := os.WriteFile(prog, []byte(strings.Join(lines, "\r\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	patches, _ := filepath.Glob(filepath.Join(dir, "patches", "program", "*.toml"))
	re := regexp.MustCompile(`bethels = \[([^\]]*)\]`)
	for _, p := range patches {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = re.ReplaceAllFunc(b, func(x []byte) []byte {
			inner := re.FindSubmatch(x)[1]
			return []byte("bethels = [" + mapList(string(inner), ",") + "]")
		})
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config", "program.lock.json"), UnlockedProgram(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// csvTable parses an output CSV (our writer's dialect) into a header and
// rows of unescaped cells, keyed for lookups.
type csvTable struct {
	header []string
	rows   [][]string
}

func parseCSV(t testing.TB, name string, b []byte) *csvTable {
	t.Helper()
	cr, err := csvioReader(b, name)
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

func (c *csvTable) col(t testing.TB, name string) int {
	t.Helper()
	for i, h := range c.header {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %q in %v", name, c.header)
	return -1
}

// sortedOutputs lists a build's outputs.
func (b *wsBuild) sortedOutputs() []string {
	var out []string
	for o := range b.outputs {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

func hasPrefix(s string, ps ...string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
