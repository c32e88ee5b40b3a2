// Package bethel_test holds the repository-wide tests: the dependency
// rules between bethel's packages.
package bethel_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The direction of bethel's packages (docs/architecture.md): the CLI uses
// everything; the engine (graph) uses the stage contract, the cache,
// provenance and the pipeline, never a stage nor the lineage walker
// (explain): what it knows reaches stages as declared inputs (the graph,
// lineage), not as calls; stages use nothing of the engine, and may walk
// lineage with explain, a library that knows neither the cache nor the
// engine; the pipeline loader and the watcher use no cache; the cache uses
// BLAKE3 only. As in the Go tree's go/build deps test, the rules are two
// tables read by one checker.
//
// allowed lists, for every bethel package (path below the module), what it
// may import directly besides the standard library: bethel packages by
// their path, other modules by a path prefix. "*" allows anything. A
// package missing from the table is an error: a new package states its
// place when it is added.
var allowed = map[string][]string{
	// Leaves.
	"pkg/pos":       {},
	"pkg/par":       {},
	"pkg/lineage":   {},
	"pkg/graphfile": {}, // the graph: input's form, which the engine writes and a stage reads
	"pkg/cellref":   {}, // a CSV or JSON cell as a person names it (bethel why)
	"pkg/ics":       {},
	"pkg/serve":     {}, // the preview server knows nothing of bethel
	"pkg/tomlguard": {"pkg/pos"},
	"pkg/csvio":     {"pkg/pos"},
	"pkg/coltable":  {},
	"pkg/lazyre":    {}, // a regexp compiled on first use, not at start-up
	"pkg/xlsxw":     {}, // the spreadsheet writer knows nothing of bethel
	"pkg/schema":    {"pkg/pos", "pkg/lazyre", "pkg/tomlguard", "github.com/BurntSushi/toml"},
	"pkg/scrub":     {"pkg/pos", "pkg/schema"},
	"pkg/suppress":  {"gonum.org/v1/gonum"},
	// The linear-programming check of suppressed tables, for tests.
	"pkg/suppress/suppresstest": {"pkg/suppress", "gonum.org/v1/gonum"},
	"pkg/sandbox":               {"pkg/pos", "golang.org/x/sys/unix", "github.com/landlock-lsm/go-landlock"},
	"pkg/watch":                 {"github.com/fsnotify/fsnotify"},

	// The cache wraps BLAKE3 behind one hash function and knows no other
	// bethel package.
	"pkg/cache": {"github.com/zeebo/blake3", "golang.org/x/sys/unix"},

	// The stage contract, the pipeline, provenance.
	"pkg/stage":      {"pkg/lineage", "pkg/pos"},
	"pkg/pipeline":   {"pkg/pos", "pkg/lazyre", "pkg/stage", "pkg/tomlguard", "pkg/schema", "github.com/BurntSushi/toml"},
	"pkg/provenance": {"pkg/cache", "pkg/lineage"},
	// explain walks lineage as a library: the CLI's why over provenance
	// records, the site stage over its lineage inputs.
	"pkg/explain": {"pkg/lineage", "pkg/par"},

	// The engine. It defines the interfaces it needs of a shared cache
	// (pkg/remote implements them; the CLI wires them).
	"pkg/graph": {"pkg/cache", "pkg/graphfile", "pkg/lineage", "pkg/par", "pkg/pipeline", "pkg/pos",
		"pkg/provenance", "pkg/stage", "pkg/sandbox", "pkg/schema", "pkg/scrub", "golang.org/x/sys/unix"},
	"pkg/graph/graphtest":          {},
	"pkg/graph/graphtest/benchgen": {"pkg/graph/graphtest"},

	// The shared cache client.
	"pkg/remote":            {"pkg/cache", "pkg/pipeline", "pkg/pos", "pkg/stage", "pkg/tomlguard", "filippo.io/age", "github.com/BurntSushi/toml"},
	"pkg/remote/remotetest": {},

	// Patches and the stages: the event's data, nothing of the engine.
	"pkg/patch": {"pkg/pos", "pkg/lazyre", "pkg/stage", "pkg/tomlguard", "pkg/schema", "pkg/scrub", "pkg/csvio", "github.com/BurntSushi/toml"},
	"pkg/site":  {"pkg/par", "pkg/pos", "pkg/lineage"},
	"pkg/stages": {"pkg/coltable", "pkg/csvio", "pkg/explain", "pkg/graphfile", "pkg/ics", "pkg/lazyre", "pkg/lineage", "pkg/par", "pkg/patch", "pkg/pos", "pkg/schema",
		"pkg/scrub", "pkg/site", "pkg/stage", "pkg/suppress", "pkg/tomlguard",
		"pkg/xlsxw", "github.com/BurntSushi/toml"},

	// Commands and end-to-end tests.
	"cmd/bethel":        {"*"},
	"cmd/bethel-sample": {"*"},
	"test/browser":      {"*"},
}

// never lists what a package must not reach even indirectly, whatever the
// table above allows its imports: the lines the architecture draws.
var never = map[string][]string{
	"pkg/stages":   {"pkg/graph", "pkg/cache", "pkg/provenance", "pkg/remote", "github.com/zeebo/blake3"},
	"pkg/explain":  {"pkg/graph", "pkg/cache", "pkg/provenance", "pkg/stage"},
	"pkg/stage":    {"pkg/graph", "pkg/cache", "pkg/explain"},
	"pkg/patch":    {"pkg/graph", "pkg/cache", "pkg/explain"},
	"pkg/site":     {"pkg/graph", "pkg/cache"},
	"pkg/pipeline": {"pkg/cache", "github.com/zeebo/blake3", "pkg/graph"},
	"pkg/watch":    {"pkg/cache", "pkg/graph", "pkg/pipeline"},
	"pkg/cache":    {"pkg/"},
	"pkg/graph":    {"pkg/explain", "pkg/remote", "pkg/stages", "pkg/watch", "pkg/serve"},
	"pkg/serve":    {"pkg/"},
}

const module = "bethel"

// pkgInfo is one package as go list reports it.
type pkgInfo struct {
	path     string // import path
	standard bool
	imports  []string
}

// checkDeps returns every violation of the tables in pkgs (all of them,
// with their dependencies): a direct import the allowed table does not
// list, a package the table does not know, and a forbidden package
// reached through any chain of imports (the chain is printed).
func checkDeps(pkgs map[string]*pkgInfo, allowed, never map[string][]string) []string {
	var bad []string
	rel := func(p string) string { return strings.TrimPrefix(p, module+"/") }
	ours := func(p string) bool { return p == module || strings.HasPrefix(p, module+"/") }
	matches := func(rules []string, imp string) bool {
		for _, r := range rules {
			if r == "*" || rel(imp) == r || (!ours(imp) && (imp == r || strings.HasPrefix(imp, r+"/"))) ||
				(strings.HasSuffix(r, "/") && strings.HasPrefix(rel(imp), r) && ours(imp)) {
				return true
			}
		}
		return false
	}
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		info := pkgs[p]
		if !ours(p) || p == module { // the module root holds only this test
			continue
		}
		rules, ok := allowed[rel(p)]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: not in the dependency table; add it to deps_test.go's allowed", rel(p)))
			continue
		}
		for _, imp := range info.imports {
			if q := pkgs[imp]; q != nil && q.standard || imp == "C" || imp == "unsafe" {
				continue
			}
			if !matches(rules, imp) {
				bad = append(bad, fmt.Sprintf("%s imports %s, which the dependency table does not allow", rel(p), rel(imp)))
			}
		}
		// Reachability, breadth first, remembering how each package was
		// reached so that the chain can be printed.
		forbidden := never[rel(p)]
		if len(forbidden) == 0 {
			continue
		}
		from := map[string]string{p: ""}
		queue := []string{p}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			if cur != p && matches(forbidden, cur) {
				chain := []string{rel(cur)}
				for x := from[cur]; x != ""; x = from[x] {
					chain = append(chain, rel(x))
				}
				slices.Reverse(chain)
				bad = append(bad, fmt.Sprintf("%s must not depend on %s: %s", rel(p), rel(cur), strings.Join(chain, " -> ")))
				continue
			}
			if q := pkgs[cur]; q != nil {
				for _, imp := range q.imports {
					if _, seen := from[imp]; !seen {
						from[imp] = cur
						queue = append(queue, imp)
					}
				}
			}
		}
	}
	return bad
}

// goList returns every package of the module and its dependencies.
func goList(t *testing.T) map[string]*pkgInfo {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}|{{.Standard}}|{{join .Imports \" \"}}", "./...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]*pkgInfo{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "|", 3)
		if len(f) != 3 {
			t.Fatalf("go list printed %q", line)
		}
		pkgs[f[0]] = &pkgInfo{path: f[0], standard: f[1] == "true", imports: strings.Fields(f[2])}
	}
	return pkgs
}

func TestDependencies(t *testing.T) {
	pkgs := goList(t)
	if pkgs[module+"/pkg/graph"] == nil || pkgs[module+"/pkg/cache"] == nil {
		t.Fatalf("go list found no engine packages: %d packages", len(pkgs))
	}
	for _, v := range checkDeps(pkgs, allowed, never) {
		t.Error(v)
	}
}

// TestCheckDepsCatches runs the checker on made-up import tables: each
// forbidden import must be reported, and a clean table must pass.
func TestCheckDepsCatches(t *testing.T) {
	std := &pkgInfo{path: "fmt", standard: true}
	table := func(edges ...string) map[string]*pkgInfo {
		m := map[string]*pkgInfo{"fmt": std}
		for _, p := range []string{"bethel/pkg/pos", "bethel/pkg/cache", "bethel/pkg/stage", "bethel/pkg/stages",
			"bethel/pkg/graph", "bethel/pkg/pipeline", "bethel/pkg/remote", "bethel/pkg/explain", "bethel/pkg/lineage",
			"github.com/zeebo/blake3"} {
			m[p] = &pkgInfo{path: p, imports: []string{"fmt"}}
		}
		for _, e := range edges {
			from, to, _ := strings.Cut(e, " -> ")
			if m[from] == nil {
				m[from] = &pkgInfo{path: from}
			}
			m[from].imports = append(m[from].imports, to)
		}
		return m
	}
	clean := []string{
		"bethel/pkg/cache -> github.com/zeebo/blake3",
		"bethel/pkg/graph -> bethel/pkg/cache",
		"bethel/pkg/graph -> bethel/pkg/pipeline",
		"bethel/pkg/graph -> bethel/pkg/stage",
		"bethel/pkg/stages -> bethel/pkg/stage",
		"bethel/pkg/stages -> bethel/pkg/explain",
		"bethel/pkg/explain -> bethel/pkg/lineage",
		"bethel/pkg/remote -> bethel/pkg/cache",
	}
	if v := checkDeps(table(clean...), allowed, never); len(v) != 0 {
		t.Fatalf("a clean table is reported: %q", v)
	}
	for _, c := range []struct {
		edge, want string
	}{
		{"bethel/pkg/stages -> bethel/pkg/graph", "stages imports pkg/graph, which the dependency table does not allow"},
		{"bethel/pkg/stages -> github.com/zeebo/blake3", "pkg/stages must not depend on github.com/zeebo/blake3: pkg/stages -> github.com/zeebo/blake3"},
		{"bethel/pkg/cache -> bethel/pkg/pos", "pkg/cache imports pkg/pos, which the dependency table does not allow"},
		{"bethel/pkg/pipeline -> bethel/pkg/cache", "pkg/pipeline must not depend on pkg/cache"},
		{"bethel/pkg/graph -> bethel/pkg/remote", "pkg/graph must not depend on pkg/remote: pkg/graph -> pkg/remote"},
		{"bethel/pkg/stage -> bethel/pkg/pipeline", "pkg/stage imports pkg/pipeline"},
		{"bethel/pkg/graph -> bethel/pkg/explain", "pkg/graph imports pkg/explain, which the dependency table does not allow"},
		{"bethel/pkg/explain -> bethel/pkg/cache", "pkg/stages must not depend on pkg/cache: pkg/stages -> pkg/explain -> pkg/cache"},
		{"bethel/pkg/newthing -> fmt", "pkg/newthing: not in the dependency table"},
	} {
		v := checkDeps(table(append(slices.Clone(clean), c.edge)...), allowed, never)
		if !slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, c.want) }) {
			t.Errorf("adding %s: violations %q, want one containing %q", c.edge, v, c.want)
		}
	}
	// A chain through an allowed import is still caught by never.
	v := checkDeps(table(append(slices.Clone(clean), "bethel/pkg/stage -> bethel/pkg/cache")...), allowed, never)
	if !slices.Contains(v, "pkg/stages must not depend on pkg/cache: pkg/stages -> pkg/stage -> pkg/cache") {
		t.Errorf("indirect import: violations %q", v)
	}
}
