package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bethel/pkg/stage"
)

// writeWS writes a workspace of files (path -> content) and returns its root.
func writeWS(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, s := range files {
		abs := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(abs, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// counter declares the stage "count" a declassifier counting the field its
// params name, and "publish" one that also suppresses small counts.
func counter(n *Node) (*stage.Declassification, error) {
	switch n.Stage {
	case "count":
		f, _ := n.Params["field"].(string)
		return &stage.Declassification{Counts: []string{f}}, nil
	case "publish":
		return &stage.Declassification{Counts: []string{"bethel"}, Suppressed: true}, nil
	}
	return nil, nil
}

// privacyTOML leaves which fields are sensitive to fieldsTOML.
const privacyTOML = `# which fields are sensitive is declared with the fields
# (fieldsTOML)
min_cell = 5
[sources]
private  = ["inputs/**", "patches/**"]
internal = ["inputs/program.csv", "patches/program/**"]
`

// fieldsTOML is the field model: first_name sensitive, allergies
// sensitive and countable.
const fieldsTOML = `primaryKey = "registration_id"

[[fields]]
name = "registration_id"

[[fields]]
name      = "first_name"
sensitive = true

[[fields]]
name      = "allergies"
sensitive = true
countable = true
`

// classify loads a pipeline whose nodes are given and classifies it.
func classify(t *testing.T, nodes string, extra map[string]string) (*Pipeline, error) {
	t.Helper()
	files := map[string]string{
		"pipeline.toml":          nodes,
		"inputs/regs.csv":        "x\n",
		"inputs/program.csv":     "x\n",
		"config/privacy.toml":    privacyTOML,
		"config/fields.toml":     fieldsTOML,
		"config/bethels.csv":     "x\n",
		"patches/regs/fix.toml":  "",
		"patches/program/a.toml": "",
	}
	for k, v := range extra {
		files[k] = v
	}
	root := writeWS(t, files)
	p, err := Load(root, "pipeline.toml", nil)
	if err != nil {
		return nil, err
	}
	d, err := LoadDeclaration(p)
	if err != nil {
		return nil, err
	}
	return p, Classify(p, d, counter)
}

const regsNode = `
[[node]]
name = "regs"
stage = "normalize"
inputs = ["inputs/regs.csv"]
patches = ["patches/regs/*.toml"]
outputs = ["out/private/regs.csv"]
`

// TestClassify checks the levels the engine computes and the load errors
// for a declared level below them (issue cases 1 and 4).
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes string
		extra map[string]string
		want  map[string]stage.Visibility // node -> level, when no error
		err   []string                    // substrings of the error
	}{
		{
			name:  "raw export is private, undeclared output inherits",
			nodes: regsNode,
			want:  map[string]stage.Visibility{"regs": stage.Private},
		},
		{
			name: "case 1: a built-in stage fed a private file, marked public",
			nodes: regsNode + `
[[node]]
name = "leak"
stage = "summary.json"
inputs = ["out/private/regs.csv"]
outputs = ["out/leak/leak.json"]
visibility = "public"
`,
			err: []string{`pipeline.toml:9:1: node "leak" declares visibility "public" but its outputs are private`,
				`reads out/private/regs.csv, private as written by node "regs"`,
				`which reads inputs/regs.csv, private by config/privacy.toml:5 (inputs/**)`,
				`stage summary.json is not a declassifier`},
		},
		{
			name: "case 4: a node brings its own privacy file",
			nodes: regsNode + `
[[node]]
name = "roster"
stage = "roster"
inputs = ["out/private/regs.csv", "leak/privacy.toml"]
outputs = ["out/leak/roster.csv"]
visibility = "public"
`,
			extra: map[string]string{"leak/privacy.toml": "sensitive = []\nmin_cell = 1\n"},
			err:   []string{`node "roster" reads leak/privacy.toml, a privacy declaration of its own (the workspace's is config/privacy.toml)`},
		},
		{
			name: "case 4: a node names its own privacy file in its params",
			nodes: regsNode + `
[[node]]
name = "roster"
stage = "roster"
inputs = ["out/private/regs.csv", "leak/mine.toml"]
outputs = ["out/leak/roster.csv"]
visibility = "public"
  [node.params]
  options = { privacy = "leak/privacy.toml" }
`,
			extra: map[string]string{"leak/privacy.toml": "min_cell = 1\n", "leak/mine.toml": "min_cell = 1\n"},
			err:   []string{`node "roster" names leak/privacy.toml in its params, a privacy declaration of its own: a node cannot bring its own`},
		},
		{
			name: "case 4: a roster marked public",
			nodes: regsNode + `
[[node]]
name = "roster"
stage = "roster"
inputs = ["out/private/regs.csv"]
outputs = ["out/public/roster.csv"]
visibility = "public"
`,
			err: []string{`node "roster" declares visibility "public" but its outputs are private`},
		},
		{
			name: "a declassifier counting a non-sensitive field is internal, not public",
			nodes: regsNode + `
[[node]]
name = "meals"
stage = "count"
inputs = ["out/private/regs.csv"]
outputs = ["out/summary/meals.csv"]
params = { field = "banquet_meal" }

[[node]]
name = "pub"
stage = "count"
inputs = ["out/summary/meals.csv"]
outputs = ["out/public/meals.csv"]
visibility = "public"
params = { field = "banquet_meal" }
`,
			err: []string{`node "pub" declares visibility "public" but its outputs are internal: it reads out/summary/meals.csv, internal as written by node "meals"`,
				"not suppressed for publication"},
		},
		{
			name: "declassifier levels",
			nodes: regsNode + `
[[node]]
name = "allergies"
stage = "count"
inputs = ["out/private/regs.csv"]
outputs = ["out/summary/allergies.csv"]
params = { field = "allergies" }

[[node]]
name = "pub"
stage = "publish"
inputs = ["out/summary/allergies.csv"]
outputs = ["out/public/att.csv"]
visibility = "public"

[[node]]
name = "program"
stage = "program"
inputs = ["inputs/program.csv"]
patches = ["patches/program/*.toml"]
outputs = ["out/program/schedule.csv"]

[[node]]
name = "cmd"
run = "true"
inputs = ["out/private/regs.csv"]
outputs = ["out/summary/n.txt"]
visibility = "internal"
declassify = "a line count"
`,
			want: map[string]stage.Visibility{"regs": stage.Private, "allergies": stage.Internal, "pub": stage.Public,
				"program": stage.Internal, "cmd": stage.Internal},
		},
		{
			name: "a command reading engine artifacts: the graph is internal, lineage as private as its output",
			nodes: regsNode + `
[[node]]
name = "allergies"
stage = "count"
inputs = ["out/private/regs.csv"]
outputs = ["out/summary/allergies.csv"]
params = { field = "allergies" }

[[node]]
name = "nodes"
run = "true"
inputs = ["graph:"]
outputs = ["out/graph/nodes.txt"]

[[node]]
name = "cells"
run = "true"
inputs = ["lineage:out/summary/allergies.csv"]
outputs = ["out/graph/cells.txt"]

[[node]]
name = "cellcount"
run = "true"
inputs = ["lineage:out/summary/allergies.csv"]
outputs = ["out/graph/cellcount.txt"]
declassify = "one number: how many cells have lineage"
`,
			want: map[string]stage.Visibility{"nodes": stage.Internal, "cells": stage.Private, "cellcount": stage.Internal},
		},
		{
			name: "a command reading the graph, marked public",
			nodes: `
[[node]]
name = "nodes"
run = "true"
inputs = ["graph:"]
outputs = ["out/public/nodes.txt"]
visibility = "public"
`,
			extra: map[string]string{"config/privacy.toml": privacyTOML + "public = [\"config/**\"]\n"},
			err:   []string{`node "nodes" declares visibility "public" but its outputs are internal: it reads graph:, internal as the pipeline's graph`},
		},
		{
			name: "a command reading the lineage of a private output, marked internal",
			nodes: regsNode + `
[[node]]
name = "keys"
run = "true"
inputs = ["lineage:out/private/regs.csv"]
outputs = ["out/graph/keys.txt"]
visibility = "internal"
`,
			err: []string{`node "keys" declares visibility "internal" but its outputs are private: it reads lineage:out/private/regs.csv, private as the lineage of an output of node "regs"`},
		},
		{
			name: "a declassifier counting a sensitive field that is not countable",
			nodes: regsNode + `
[[node]]
name = "names"
stage = "count"
inputs = ["out/private/regs.csv"]
outputs = ["out/summary/names.csv"]
params = { field = "first_name" }
`,
			err: []string{`node "names": stage count counts sensitive field "first_name", which the field model does not mark countable`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := classify(t, tc.nodes, tc.extra)
			if len(tc.err) > 0 {
				if err == nil {
					t.Fatalf("no error, want %q", tc.err)
				}
				for _, s := range tc.err {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error\n%v\nlacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range p.Nodes {
				if want, ok := tc.want[n.Name]; ok && n.Visibility != want {
					t.Errorf("node %s: visibility %s, want %s", n.Name, n.Visibility, want)
				}
			}
		})
	}
}

// TestDeclarationReads checks that every node reads the privacy
// declaration and that a stage sees it.
func TestDeclarationReads(t *testing.T) {
	p, err := classify(t, regsNode, map[string]string{"config/fields.toml": fieldsTOML + "\n[[fields]]\nname = \"email\"\nsensitive = true\n"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Fields != "config/fields.toml" || p.Privacy != "config/privacy.toml" {
		t.Fatalf("Fields, Privacy = %q, %q", p.Fields, p.Privacy)
	}
	got := strings.Join(p.Nodes[0].InputFiles, " ")
	if want := "inputs/regs.csv config/fields.toml config/privacy.toml"; got != want {
		t.Errorf("InputFiles = %s, want %s", got, want)
	}
	d, err := LoadDeclaration(p)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Sensitive("email") || !d.Sensitive("first_name") || d.Sensitive("bethel") || !d.Countable("allergies") {
		t.Errorf("sensitive fields of fields.toml not read")
	}
}

// TestDeclarationFieldsOneReader: the engine reads the field model with
// the stages' reader (pkg/schema), so a field model the stages refuse is
// refused at load too, never read as "nothing sensitive" by the engine.
func TestDeclarationFieldsOneReader(t *testing.T) {
	_, err := classify(t, regsNode, map[string]string{"config/fields.toml": fieldsTOML + "\n[[fields]]\nname = \"email\"\nsensitve = true\n"})
	if err == nil || !strings.Contains(err.Error(), `config/fields.toml:17: unknown key "sensitve"`) {
		t.Fatalf("a field model with a misspelt key: %v", err)
	}
}

func TestSourceLevel(t *testing.T) {
	d := &Declaration{Privacy: "config/privacy.toml", sources: []sourceRule{
		{"inputs/**", stage.Private, 5}, {"inputs/program.csv", stage.Internal, 6},
		{"patches/**", stage.Private, 5}, {"patches/program/**", stage.Internal, 6}, {"patches/**/x.toml", stage.Public, 7},
	}}
	for p, want := range map[string]stage.Visibility{
		"inputs/regs.csv":         stage.Private,
		"inputs/sub/regs.csv":     stage.Private,
		"inputs/program.csv":      stage.Internal,
		"patches/program/a.toml":  stage.Internal,
		"patches/regs/a.toml":     stage.Private,
		"patches/program/x.toml":  stage.Internal, // patches/program/** and patches/**/x.toml tie: more private wins
		"config/bethels.csv":      stage.Internal,
		"scripts/badges.py":       stage.Internal,
		"patches/regs/sub/b.toml": stage.Private,
	} {
		if got, why := d.SourceLevel(p); got != want {
			t.Errorf("SourceLevel(%s) = %s (%s), want %s", p, got, why, want)
		}
	}
}
