package pipeline

import (
	"slices"
	"strings"
	"testing"
)

func TestExpandSummaries(t *testing.T) {
	const counts = `
[[node]]
name = "regs"
run = "cp inputs/regs.csv out/private/regs.csv"
inputs = ["inputs/regs.csv"]
outputs = ["out/private/regs.csv"]
visibility = "private"

[[node]]
name = "meals"
stage = "summary.count"
inputs = ["out/private/regs.csv"]
outputs = ["out/summary/meals.csv"]

[[node]]
name = "other"
stage = "summary.json"
inputs = ["out/summary/meals.csv"]
outputs = ["out/summary/other.json"]

[[node]]
name = "days"
stage = "summary.count"
inputs = ["out/private/regs.csv"]
outputs = ["out/summary/days.csv"]
`
	tests := []struct {
		name, node string
		inputs     []string // the node "all"'s InputFiles
		err        string
	}{
		{name: "every summary, in pipeline order, before the listed inputs when none is listed",
			node:   "inputs = [\"config/extra.csv\"]\nstage = \"summary.json\"\n[node.params]\nsummaries = \"all\"\n",
			inputs: []string{"out/summary/meals.csv", "out/summary/days.csv", "config/extra.csv"}},
		{name: "the others after the last summary listed",
			node:   "inputs = [\"out/summary/days.csv\", \"config/extra.csv\"]\nstage = \"summary.json\"\n[node.params]\nsummaries = \"all\"\n",
			inputs: []string{"out/summary/days.csv", "out/summary/meals.csv", "config/extra.csv"}},
		{name: "listed summaries keep their order",
			node:   "inputs = [\"out/summary/days.csv\", \"out/summary/meals.csv\", \"config/extra.csv\"]\nstage = \"summary.json\"\n[node.params]\nsummaries = \"all\"\n",
			inputs: []string{"out/summary/days.csv", "out/summary/meals.csv", "config/extra.csv"}},
		{name: "without the param, only what is listed",
			node:   "inputs = [\"config/extra.csv\"]\nstage = \"summary.json\"\n",
			inputs: []string{"config/extra.csv"}},
		{name: "another value",
			node: "inputs = [\"config/extra.csv\"]\nstage = \"summary.json\"\n[node.params]\nsummaries = [\"meals\"]\n",
			err:  `node "all": param summaries must be "all" (every summary.count node's outputs), not [meals]`},
		{name: "a command node",
			node: "inputs = [\"config/extra.csv\"]\nrun = \"true\"\n[node.params]\nsummaries = \"all\"\n",
			err:  `node "all": param summaries is for built-in stages; a command names its inputs`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := writeWS(t, map[string]string{
				"pipeline.toml":    counts + "\n[[node]]\nname = \"all\"\noutputs = [\"out/summary/all.json\"]\n" + tc.node,
				"inputs/regs.csv":  "x\n",
				"config/extra.csv": "x\n",
			})
			p, err := Load(root, "pipeline.toml", []string{"summary.count", "summary.json"})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n := p.Lookup("all")
			if !slices.Equal(n.InputFiles, tc.inputs) {
				t.Errorf("InputFiles = %q, want %q", n.InputFiles, tc.inputs)
			}
			// The expansion makes edges like any input.
			for _, in := range tc.inputs {
				if w := p.Producer[in]; w != nil && !slices.Contains(p.Closure(n), w) {
					t.Errorf("node all does not depend on %s, which writes %s", w.Name, in)
				}
			}
		})
	}
}
