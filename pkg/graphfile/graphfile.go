// Package graphfile is the form of the pipeline's static graph that a stage
// reads as the engine artifact stage.GraphInput ("graph:"): one JSON
// document listing every node in build order. The engine writes it; a
// stage that shows the pipeline (the review site) decodes it. It holds
// only what pipeline.toml declares after glob expansion, never a fact of
// one build (when a node ran, whether it was restored), so that it changes
// only when the pipeline does.
package graphfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Node is one node of the graph.
type Node struct {
	Name string `json:"name"`
	// Stage and StageVersion are set for a built-in stage node, Command
	// for a command node.
	Stage        string `json:"stage,omitempty"`
	StageVersion string `json:"stage_version,omitempty"`
	Command      string `json:"command,omitempty"`
	// Inputs and Patches are the files the node reads, after glob
	// expansion; engine artifacts are not among them.
	Inputs  []string `json:"inputs"`
	Patches []string `json:"patches"`
	Outputs []string `json:"outputs"`
	// Visibility is the level the engine computed: private, internal or
	// public.
	Visibility string `json:"visibility"`
	Declassify string `json:"declassify,omitempty"`
	// Deps are the names of the nodes whose outputs this node reads,
	// sorted.
	Deps []string `json:"deps"`
}

// Encode writes nodes as the graph document: compact JSON, one node per
// line, nil lists written as [], so that equal graphs are equal bytes.
func Encode(nodes []Node) []byte {
	var b bytes.Buffer
	b.WriteString("[")
	for i, n := range nodes {
		for _, l := range []*[]string{&n.Inputs, &n.Patches, &n.Outputs, &n.Deps} {
			if *l == nil {
				*l = []string{}
			}
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n")
		line, err := json.Marshal(n)
		if err != nil {
			panic(err) // strings and lists of strings always encode
		}
		b.Write(line)
	}
	b.WriteString("\n]\n")
	return b.Bytes()
}

// Decode reads a graph document. An unknown key, a wrong type or a node
// without a name is an error naming the node.
func Decode(data []byte) ([]Node, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	var nodes []Node
	if err := d.Decode(&nodes); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	if d.More() {
		return nil, errors.New("graph: data after the node list")
	}
	if nodes == nil {
		return nil, errors.New("graph: not a list of nodes")
	}
	for i, n := range nodes {
		if n.Name == "" {
			return nil, fmt.Errorf("graph: node %d has no name", i+1)
		}
	}
	return nodes, nil
}
