package graph

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"bethel/pkg/cache"
)

// keyVariants is a description with one line of every kind, and for each
// kind the same description with only that kind's line changed.
func keyVariants() (base string, variants [numKeyKinds]string) {
	h := func(s string) string { return cache.Sum([]byte(s)).String() }
	lines := [numKeyKinds]string{
		kBethel:     "bethel v1",
		kStage:      "stage s 1",
		kRun:        `run "true"`,
		kLineageOff: "lineage off",
		kVisibility: "visibility internal",
		kDeclassify: `declassify "counts"`,
		kEnv:        "env TOKEN=" + h("t")[:12],
		kParam:      "param a=1",
		kOutput:     "output out/a.csv",
		kInput:      "input in/a.csv " + h("a"),
		kPatch:      "patch p/a.toml " + h("p"),
	}
	changed := [numKeyKinds]string{
		kBethel:     "bethel v2",
		kStage:      "stage s 2",
		kRun:        `run "false"`,
		kLineageOff: "",
		kVisibility: "visibility public",
		kDeclassify: `declassify "sums"`,
		kEnv:        "env TOKEN=" + h("T")[:12],
		kParam:      "param a=2",
		kOutput:     "output out/b.csv",
		kInput:      "input in/a.csv " + h("A"),
		kPatch:      "patch p/a.toml " + h("P"),
	}
	join := func(ls [numKeyKinds]string) string {
		var b strings.Builder
		for _, l := range ls {
			if l != "" {
				b.WriteString(l + "\n")
			}
		}
		return b.String()
	}
	base = join(lines)
	for k := range lines {
		v := lines
		v[k] = changed[k]
		variants[k] = join(v)
	}
	return base, variants
}

// TestEveryKeyKindExplainsItself: a change to one line of any kind is
// explained by that kind, in one message, and no two kinds say the same:
// a new kind can never be reported as another (lineage of an upstream
// output as "cell lineage switched on", the graph as "inputs reordered").
func TestEveryKeyKindExplainsItself(t *testing.T) {
	base, variants := keyVariants()
	said := map[string]keyKind{}
	for k, v := range variants {
		got, _ := explainChange(base, v)
		if len(got) != 1 {
			t.Errorf("%s: explained as %q, want one message", keyKinds[k].word, got)
			continue
		}
		if prev, ok := said[got[0]]; ok {
			t.Errorf("%s and %s are both explained as %q", keyKinds[prev].word, keyKinds[k].word, got[0])
		}
		said[got[0]] = keyKind(k)
		for _, bad := range []string{"inputs reordered", "its key description changed", "key line"} {
			if strings.Contains(got[0], bad) {
				t.Errorf("%s: explained as %q", keyKinds[k].word, got[0])
			}
		}
		if back, _ := explainChange(v, base); len(back) != 1 {
			t.Errorf("%s, reverted: explained as %q, want one message", keyKinds[k].word, back)
		}
	}
	if got, _ := explainChange(base, base); len(got) != 0 {
		t.Errorf("an unchanged description is explained as %q", got)
	}
}

// TestKeyLinesParseBack: every line decide writes parses
// back to a known kind (nothing lands among the unknown lines).
func TestKeyLinesParseBack(t *testing.T) {
	base, _ := keyVariants()
	d := parseDesc(base)
	if len(d.other) != 0 {
		t.Fatalf("lines of no kind: %q", d.other)
	}
	for k := range keyKinds {
		if len(d.lines[k]) != 1 {
			t.Errorf("%s: %d lines parsed, want 1", keyKinds[k].word, len(d.lines[k]))
		}
	}
	if got, _ := explainChange(base, base+"future thing\n"); !slices.Equal(got, []string{`key line "future thing" added`}) {
		t.Errorf("an unknown line: %q", got)
	}
	a, b := "input in/a.csv "+cache.Sum([]byte("a")).String()+"\n", "input in/b.csv "+cache.Sum([]byte("b")).String()+"\n"
	if got, _ := explainChange("bethel v1\n"+a+b, "bethel v1\n"+b+a); !slices.Equal(got, []string{"inputs reordered"}) {
		t.Errorf("two inputs swapped: %q", got)
	}
}

// TestEngineArtifactReasons: a change only an engine artifact shows is
// told as that input's change, like a file's.
func TestEngineArtifactReasons(t *testing.T) {
	root, opts := introWorkspace(t)
	reasons := func(res *Result, node string) []string {
		for _, n := range res.Nodes {
			if n.Name == node {
				return n.Reasons
			}
		}
		return nil
	}
	// The patch moves down a line: rows.csv is the same bytes, its lineage
	// is not.
	write(t, root, "src/p/1.toml", "# moved down\n"+introPatch)
	res := mustBuild(t, root, opts)
	got := reasons(res, "site")
	if len(got) != 1 || !strings.HasPrefix(got[0], "input lineage:out/rows.csv changed: ") {
		t.Errorf("site after an upstream lineage change: %q", got)
	}
	// A node the site does not read is added: only the graph changed.
	write(t, root, "pipeline.toml", introPipeline+`
[[node]]
name = "extra"
run = "cp src/cfg.txt out/extra.txt"
inputs = ["src/cfg.txt"]
outputs = ["out/extra.txt"]
`)
	res = mustBuild(t, root, opts)
	got = reasons(res, "site")
	if len(got) != 1 || !strings.HasPrefix(got[0], "input graph: changed: ") {
		t.Errorf("site after a graph change: %q", got)
	}
}

// TestFileChangesTyped: a reason that one input or patch file changed
// comes back typed too, naming its reason, with the full hashes and the
// path unquoted; other reasons do not.
func TestFileChangesTyped(t *testing.T) {
	h := func(s string) string { return cache.Sum([]byte(s)).String() }
	old := "bethel v1\nparam a=1\ninput in/a.csv " + h("a") + "\ninput \"in/odd name.csv\" " + h("o") + "\npatch p/x.toml " + h("x") + "\n"
	cur := "bethel v1\nparam a=2\ninput in/a.csv " + h("A") + "\npatch p/x.toml " + h("X") + "\npatch p/y.toml " + h("y") + "\n"
	reasons, changes := explainChange(old, cur)
	want := []FileChange{
		{Kind: "input", Path: "in/a.csv", Old: h("a"), New: h("A")},
		{Kind: "input", Path: "in/odd name.csv", Old: h("o")},
		{Kind: "patch", Path: "p/x.toml", Old: h("x"), New: h("X")},
		{Kind: "patch", Path: "p/y.toml", New: h("y")},
	}
	if len(changes) != len(want) {
		t.Fatalf("changes %+v for reasons %q", changes, reasons)
	}
	for i, c := range changes {
		w := want[i]
		w.Reason = c.Reason
		if c != w {
			t.Errorf("change %d: %+v, want %+v", i, c, w)
		}
		if r := reasons[c.Reason]; !strings.Contains(r, w.Path) && !strings.Contains(r, strconv.Quote(w.Path)) {
			t.Errorf("change %d names reason %q", i, r)
		}
	}
	if !strings.HasPrefix(reasons[0], "param a changed") {
		t.Errorf("reasons %q", reasons)
	}
}
