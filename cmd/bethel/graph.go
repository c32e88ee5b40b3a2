package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

func init() {
	register(&command{
		name:    "graph",
		summary: "print the pipeline's DAG (dot, mermaid or json)",
		run:     runGraph,
	})
}

func runGraph(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("graph", flag.ContinueOnError)
	ws := addWorkspaceFlags(fs)
	format := fs.String("format", "dot", "output `FORMAT`: dot, mermaid or json")
	fs.Usage = usageFunc(fs, "bethel graph [-C DIR] [-f FILE] [--format dot|mermaid|json]",
		"Prints the validated pipeline as a graph: one vertex per node, an edge from each node\n"+
			"to every node that reads one of its outputs. Nodes are listed in build order. Reads\n"+
			"only the pipeline file and the directory listings its globs need; runs nothing.")
	rest, err := parseFlags(fs, env, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("graph: unexpected argument %q", rest[0])
	}
	var write func(io.Writer, *pipeline.Pipeline) error
	switch *format {
	case "dot":
		write = writeDot
	case "mermaid":
		write = writeMermaid
	case "json":
		write = writeGraphJSON
	default:
		return usagef("graph: unknown format %q (want dot, mermaid or json)", *format)
	}
	p, err := ws.load(env)
	if err != nil {
		return err
	}
	return write(env.Stdout, p)
}

// vertexLabel is what a node runs, shortened for a picture: the stage
// name, or the command cut at 48 characters.
func vertexLabel(n *pipeline.Node) string {
	if n.IsStage() {
		return "stage " + n.Stage
	}
	r := []rune(strings.Join(strings.Fields(n.Run), " "))
	if len(r) > 48 {
		r = append(r[:47], '…')
	}
	return "run " + string(r)
}

// visColor is the fill of a vertex: private red, public green, internal
// plain, so that a picture shows where private data flows.
var visColor = map[stage.Visibility]string{
	stage.Private:  "#f4cccc",
	stage.Internal: "#ffffff",
	stage.Public:   "#d9ead3",
}

func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func writeDot(w io.Writer, p *pipeline.Pipeline) error {
	var b strings.Builder
	b.WriteString("digraph bethel {\n\trankdir=LR;\n\tnode [shape=box, style=filled, fontname=\"Helvetica\"];\n")
	for _, n := range p.Order {
		fmt.Fprintf(&b, "\t%s [label=%s, fillcolor=%s, tooltip=%s];\n",
			dotQuote(n.Name), dotQuote(n.Name+"\n"+vertexLabel(n)+"\n"+string(n.Visibility)),
			dotQuote(visColor[n.Visibility]), dotQuote(strings.Join(n.Outputs, " ")))
	}
	for _, n := range p.Order {
		for _, d := range n.Deps {
			fmt.Fprintf(&b, "\t%s -> %s;\n", dotQuote(d.Name), dotQuote(n.Name))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidText escapes a label for a quoted mermaid node: quotes and the
// characters mermaid would read as markup become entity codes.
func mermaidText(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", "<br/>")
	return r.Replace(s)
}

func writeMermaid(w io.Writer, p *pipeline.Pipeline) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	// Vertex ids are n<index>: node names may hold '.' and '-', which
	// mermaid reads as syntax.
	for _, n := range p.Order {
		fmt.Fprintf(&b, "    n%d[\"%s<br/>%s\"]:::%s\n", n.Index, mermaidText(n.Name), mermaidText(vertexLabel(n)), n.Visibility)
	}
	for _, n := range p.Order {
		for _, d := range n.Deps {
			fmt.Fprintf(&b, "    n%d --> n%d\n", d.Index, n.Index)
		}
	}
	for _, v := range []stage.Visibility{stage.Private, stage.Internal, stage.Public} {
		fmt.Fprintf(&b, "    classDef %s fill:%s\n", v, visColor[v])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// graphJSON is the --format json document. Scripts read it: keep the keys
// stable.
type graphJSON struct {
	File    string      `json:"file"`
	Nodes   []graphNode `json:"nodes"`
	Sources []string    `json:"sources"`
	Globs   []string    `json:"globs"`
}

type graphNode struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Stage       string         `json:"stage,omitempty"`
	Run         string         `json:"run,omitempty"`
	Inputs      []string       `json:"inputs"`
	Patches     []string       `json:"patches"`
	Outputs     []string       `json:"outputs"`
	Visibility  string         `json:"visibility"`
	Declassify  string         `json:"declassify,omitempty"`
	Params      map[string]any `json:"params,omitempty"`
	Deps        []string       `json:"deps"`
	Pos         string         `json:"pos"`
}

// orEmpty makes a nil list print as [] rather than null.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeGraphJSON(w io.Writer, p *pipeline.Pipeline) error {
	doc := graphJSON{File: p.File, Sources: orEmpty(p.Sources), Globs: orEmpty(p.Globs), Nodes: []graphNode{}}
	for _, n := range p.Order {
		deps := []string{}
		for _, d := range n.Deps {
			deps = append(deps, d.Name)
		}
		doc.Nodes = append(doc.Nodes, graphNode{
			Name: n.Name, Description: n.Description, Stage: n.Stage, Run: n.Run,
			Inputs: orEmpty(n.InputFiles), Patches: orEmpty(n.PatchFiles), Outputs: orEmpty(n.Outputs),
			Visibility: string(n.Visibility), Declassify: n.Declassify, Params: jsonParams(n.Params),
			Deps: deps, Pos: n.Pos.String(),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// jsonParams returns params with TOML dates and times as their TOML text:
// a local date or time has no zone, and JSON's time format would print
// this machine's offset, making the output differ between machines.
func jsonParams(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = jsonValue(v)
	}
	return out
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return jsonParams(x)
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = jsonValue(e)
		}
		return a
	case time.Time:
		switch x.Location().String() {
		case "datetime-local":
			return x.Format("2006-01-02T15:04:05.999999999")
		case "date-local":
			return x.Format("2006-01-02")
		case "time-local":
			return x.Format("15:04:05.999999999")
		}
		return x.Format(time.RFC3339Nano)
	}
	return v
}
