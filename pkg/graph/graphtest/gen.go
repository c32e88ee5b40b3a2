// Package graphtest generates layered command-node workspaces for the
// engine's end-to-end tests and benchmarks: the same graph as pipeline.toml,
// as a Makefile and as build.ninja, plus a simulation of what every output
// must contain, so that tests check content and not only counts.
package graphtest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Layered is a graph of Nodes command nodes in layers of Width nodes.
// Layer 0 node i copies source src/s<i>.txt; an odd layer counts the lines
// of one node of the layer below (wc -l), an even layer concatenates two
// neighbours of the layer below (cat). The wc layers give early cutoff:
// changing a source without changing its line count reruns exactly two
// nodes.
type Layered struct {
	Nodes, Width int
	// Log, when set, is a workspace-relative file every command appends
	// its node name to, which counts executions.
	Log string
}

// Sized returns the benchmark shape for n nodes: about 20 layers.
func Sized(n int) Layered {
	w := max(n/20, 10)
	return Layered{Nodes: n, Width: w}
}

// Node is one generated node.
type Node struct {
	Name   string
	Layer  int
	Index  int
	Inputs []string
	Output string
	Cmd    string // without the log append
}

// Graph lists the nodes in layer order.
func (g Layered) Graph() []Node {
	var ns []Node
	for k := 0; len(ns) < g.Nodes; k++ {
		for i := 0; i < g.Width && len(ns) < g.Nodes; i++ {
			n := Node{Name: fmt.Sprintf("n%d_%d", k, i), Layer: k, Index: i, Output: fmt.Sprintf("out/%d/%d.txt", k, i)}
			switch {
			case k == 0:
				n.Inputs = []string{fmt.Sprintf("src/s%d.txt", i)}
				n.Cmd = fmt.Sprintf("cat %s > %s", n.Inputs[0], n.Output)
			case k%2 == 1:
				n.Inputs = []string{fmt.Sprintf("out/%d/%d.txt", k-1, i)}
				n.Cmd = fmt.Sprintf("wc -l < %s > %s", n.Inputs[0], n.Output)
			default:
				// Layer k exists only if layer k-1 is full.
				j := (i + 1) % g.Width
				n.Inputs = uniq([]string{fmt.Sprintf("out/%d/%d.txt", k-1, i), fmt.Sprintf("out/%d/%d.txt", k-1, j)})
				n.Cmd = fmt.Sprintf("cat %s > %s", strings.Join(n.Inputs, " "), n.Output)
			}
			ns = append(ns, n)
		}
	}
	return ns
}

func uniq(s []string) []string {
	if len(s) == 2 && s[0] == s[1] {
		return s[:1]
	}
	return s
}

func (g Layered) cmd(n Node) string {
	if g.Log == "" {
		return n.Cmd
	}
	return n.Cmd + " && echo " + n.Name + " >> " + g.Log
}

// Sources are the source files, sorted.
func (g Layered) Sources() []string {
	var s []string
	for i := 0; i < min(g.Width, g.Nodes); i++ {
		s = append(s, fmt.Sprintf("src/s%d.txt", i))
	}
	return s
}

// Write creates the sources (two lines each), pipeline.toml, Makefile and
// build.ninja in dir, and the output directories (GNU make does not create
// them; bethel and ninja do).
func (g Layered) Write(dir string) error {
	ns := g.Graph()
	for i, s := range g.Sources() {
		if err := writeFile(dir, s, fmt.Sprintf("source %d\nline two\n", i)); err != nil {
			return err
		}
	}
	var toml, mk, nj bytes.Buffer
	var all []string
	nj.WriteString("rule sh\n  command = $cmd\n\n")
	for _, n := range ns {
		fmt.Fprintf(&toml, "[[node]]\nname = %q\nrun = %q\ninputs = [%s]\noutputs = [%q]\n\n", n.Name, g.cmd(n), quoteList(n.Inputs), n.Output)
		fmt.Fprintf(&mk, "%s: %s\n\t@%s\n\n", n.Output, strings.Join(n.Inputs, " "), g.cmd(n))
		fmt.Fprintf(&nj, "build %s: sh %s\n  cmd = %s\n\n", n.Output, strings.Join(n.Inputs, " "), g.cmd(n))
		all = append(all, n.Output)
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(n.Output)), 0o755); err != nil {
			return err
		}
	}
	mkAll := ".PHONY: all\nall: " + strings.Join(all, " ") + "\n\n"
	if err := writeFile(dir, "pipeline.toml", toml.String()); err != nil {
		return err
	}
	if err := writeFile(dir, "Makefile", mkAll+mk.String()); err != nil {
		return err
	}
	return writeFile(dir, "build.ninja", nj.String())
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

func writeFile(dir, rel, content string) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

// Expected computes what every output must contain, from the sources
// currently in dir.
func (g Layered) Expected(dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range g.Graph() {
		var buf bytes.Buffer
		for _, in := range n.Inputs {
			if c, ok := out[in]; ok {
				buf.WriteString(c)
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(in)))
			if err != nil {
				return nil, err
			}
			buf.Write(b)
		}
		if n.Layer%2 == 1 {
			out[n.Output] = fmt.Sprintf("%d\n", bytes.Count(buf.Bytes(), []byte("\n")))
		} else {
			out[n.Output] = buf.String()
		}
	}
	return out, nil
}

// Contents is Expected plus the sources: every file a node reads or writes.
func (g Layered) Contents(dir string) (map[string]string, error) {
	m, err := g.Expected(dir)
	if err != nil {
		return nil, err
	}
	for _, s := range g.Sources() {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(s)))
		if err != nil {
			return nil, err
		}
		m[s] = string(b)
	}
	return m, nil
}

// Rerun returns, sorted, the nodes a minimal build must run to go from
// the contents before to the contents after (as returned by Contents):
// exactly those with an input whose content changed.
func (g Layered) Rerun(before, after map[string]string) []string {
	var names []string
	for _, n := range g.Graph() {
		for _, in := range n.Inputs {
			if before[in] != after[in] {
				names = append(names, n.Name)
				break
			}
		}
	}
	sort.Strings(names)
	return names
}

// Downstream returns the names of every node that reads path directly or
// indirectly, sorted.
func (g Layered) Downstream(path string) []string {
	ns := g.Graph()
	dirty := map[string]bool{path: true}
	var names []string
	for _, n := range ns {
		for _, in := range n.Inputs {
			if dirty[in] {
				dirty[n.Output] = true
				names = append(names, n.Name)
				break
			}
		}
	}
	sort.Strings(names)
	return names
}
