package graph

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"bethel/pkg/cache"
	"bethel/pkg/provenance"
)

// The state under .bethel can be damaged (a disk error, a person, a crash
// of another tool): every test here damages it one way and checks that
// bethel rebuilds what it lost instead of failing forever or passing an
// empty answer for a good one.

// lineageBlob is the path of the cached lineage blob of node's output, as
// the journal and the action log record them.
func lineageBlob(t *testing.T, root, node, output string) string {
	t.Helper()
	st, ok := loadJournal(journalPath(root)).get(node)
	if !ok || st.interrupted {
		t.Fatalf("node %s has no finished build", node)
	}
	s := cache.OpenReadOnly(cacheDir(root))
	m, err := s.GetManifest(st.key)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range m.Extra {
		if x.Name == LineageExtra(output) {
			h := x.Hash.String()
			return filepath.Join(cacheDir(root), "blobs", h[:2], h)
		}
	}
	t.Fatalf("node %s: no lineage of %s in %+v", node, output, m.Extra)
	return ""
}

// flipByte damages one byte of the file at p in place.
func flipByte(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x20
	os.Chmod(p, 0o600)
	if err := os.WriteFile(p, b, 0o400); err != nil {
		t.Fatal(err)
	}
}

const introWant = `node rows rows deps=[]
node count count deps=[rows]
node site site deps=[count]
lineage:out/count.csv
  cell 0 n "rows with grp = a" rows=[0]
  cell 1 n "rows with grp = b" rows=[1 2]
lineage:out/rows.csv
  row 0 source src/in.csv:2 K1
  row 1 source src/in.csv:3 K2
  row 1 patch move-K2 src/p/1.toml:1
  row 2 source src/in.csv:4 K3
`

func introWorkspace(t *testing.T) (string, Options) {
	root := workspace(t, map[string]string{
		"pipeline.toml": introPipeline,
		"src/in.csv":    "key,grp\nK1,a\nK2,a\nK3,b\n",
		"src/cfg.txt":   "v1\n",
		"src/p/1.toml":  introPatch,
	})
	opts := Options{Version: "t", Registry: introRegistry(t)}
	mustBuild(t, root, opts)
	if got := read(t, root, "out/site.txt"); got != introWant {
		t.Fatalf("site saw:\n%s\nwant:\n%s", got, introWant)
	}
	return root, opts
}

// TestCorruptLineageBlobRebuilds: a damaged lineage blob of an up-to-date
// node fails the one build that reads it (the blob is discarded), and the
// next build reruns the node that stored it instead of failing for ever
// with "not in cache".
func TestCorruptLineageBlobRebuilds(t *testing.T) {
	root, opts := introWorkspace(t)
	flipByte(t, lineageBlob(t, root, "count", "out/count.csv"))
	// The patch moves down a line: rows.csv is the same bytes (count is cut
	// off), its lineage is not, so the site reruns and reads count's.
	moved := "# moved down\n" + introPatch
	write(t, root, "src/p/1.toml", moved)
	Build(context.Background(), load(t, root, opts.Registry), opts)
	res := mustBuild(t, root, opts)
	if !slices.Contains(res.Ran, "count") {
		t.Errorf("count did not rerun to store its lineage again: ran %v", res.Ran)
	}
	want := strings.Replace(introWant, "src/p/1.toml:1", "src/p/1.toml:2", 1)
	if got := read(t, root, "out/site.txt"); got != want {
		t.Fatalf("site saw:\n%s\nwant:\n%s", got, want)
	}
	if res := mustBuild(t, root, opts); len(res.Ran)+len(res.Restored) != 0 {
		t.Fatalf("not a no-op after healing: ran %v restored %v", res.Ran, res.Restored)
	}
}

// TestLostActionLogRebuilds: an emptied action log loses every node's
// lineage. The next build must rerun the nodes whose lineage a dependent
// reads, never hand the site an empty answer, and status must not call the
// damaged state up to date.
func TestLostActionLogRebuilds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		noop  bool // a no-op build first: the clean fingerprint is written
		empty string
	}{
		{"truncated", false, ""},
		{"truncated after a no-op", true, ""},
		{"header only", false, "bethel-actions 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, opts := introWorkspace(t)
			if tc.noop {
				mustBuild(t, root, opts)
				mustBuild(t, root, opts)
			}
			if err := os.WriteFile(filepath.Join(cacheDir(root), "actions"), []byte(tc.empty), 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := Check(load(t, root, opts.Registry), opts)
			if err != nil {
				t.Fatal(err)
			}
			stale := 0
			for _, r := range st {
				if r.Status == Stale {
					stale++
				}
			}
			if stale == 0 {
				t.Errorf("status calls a workspace that lost its lineage up to date: %+v", st)
			}
			mustBuild(t, root, opts)
			if got := read(t, root, "out/site.txt"); got != introWant {
				t.Fatalf("site saw:\n%s\nwant:\n%s", got, introWant)
			}
			if res := mustBuild(t, root, opts); len(res.Ran)+len(res.Restored) != 0 {
				t.Fatalf("not a no-op after healing: ran %v restored %v", res.Ran, res.Restored)
			}
		})
	}
}

// TestCleanThenMakeSkipsCorruptLineage: restoring an entry whose lineage
// blob is damaged would give the node's dependents damaged lineage; the
// restore is a miss and the node runs.
func TestCleanThenMakeSkipsCorruptLineage(t *testing.T) {
	root, opts := introWorkspace(t)
	flipByte(t, lineageBlob(t, root, "count", "out/count.csv"))
	opts.Targets = []string{"count"}
	if _, err := Clean(load(t, root, opts.Registry), opts); err != nil {
		t.Fatal(err)
	}
	opts.Targets = nil
	res := mustBuild(t, root, opts)
	if !slices.Contains(res.Ran, "count") {
		t.Fatalf("count was not run: ran %v restored %v", res.Ran, res.Restored)
	}
	// The site's key did not change (count's lineage is the same bytes as
	// before the damage): it stays up to date, and the next site build
	// reads a good blob.
	write(t, root, "src/p/1.toml", "# moved down\n"+introPatch)
	mustBuild(t, root, opts)
}

// TestGCDiscardsCorruptBlobs: gc re-hashes what the current outputs need,
// so a damaged lineage blob is found by gc, not by the next build that
// reads it.
func TestGCDiscardsCorruptBlobs(t *testing.T) {
	root, opts := introWorkspace(t)
	mustBuild(t, root, opts) // writes the clean fingerprint
	blob := lineageBlob(t, root, "count", "out/count.csv")
	flipByte(t, blob)
	res, err := GC(load(t, root, opts.Registry), opts, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if res.Corrupt != 1 {
		t.Fatalf("gc found %d corrupt blobs, want 1", res.Corrupt)
	}
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Fatalf("the corrupt blob is still there: %v", err)
	}
	b := mustBuild(t, root, opts)
	if !slices.Contains(b.Ran, "count") {
		t.Fatalf("count did not rerun after gc discarded its lineage: ran %v", b.Ran)
	}
	write(t, root, "src/p/1.toml", "# moved down\n"+introPatch)
	mustBuild(t, root, opts)
}

// TestLostProvenanceRecordsRestore: outputs whose provenance records are
// gone (deleted, or never written after a crash) are restored, which
// writes the records again, even after a no-op wrote the clean
// fingerprint; status calls the workspace stale meanwhile.
func TestLostProvenanceRecordsRestore(t *testing.T) {
	root, opts := introWorkspace(t)
	mustBuild(t, root, opts)
	mustBuild(t, root, opts)
	if err := os.RemoveAll(provenanceDir(root)); err != nil {
		t.Fatal(err)
	}
	st, err := Check(load(t, root, opts.Registry), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range st {
		if r.Status != Stale || !slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, "provenance record") }) {
			t.Errorf("status of %s without its records: %s %q", r.Name, r.Status, r.Reasons)
		}
	}
	res := mustBuild(t, root, opts)
	if len(res.Ran) != 0 || len(res.Restored) != 3 {
		t.Fatalf("ran %v, restored %v; want every node restored", res.Ran, res.Restored)
	}
	recs := provenance.OpenStore(provenanceDir(root))
	for _, p := range []string{"out/rows.csv", "out/count.csv", "out/site.txt"} {
		h, _, err := cache.HashFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := recs.Get(p, h); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if res := mustBuild(t, root, opts); len(res.Ran)+len(res.Restored) != 0 {
		t.Fatalf("not a no-op after healing: ran %v restored %v", res.Ran, res.Restored)
	}
}
