package graph

import (
	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

// classify reads the workspace's privacy declaration and computes every
// node's visibility (pipeline.Classify) before anything is decided: the
// level is part of every action key and sets the outputs' file modes. The
// engine keeps the declaration for the sandbox and the leak gate.
func (e *engine) classify() error {
	d, err := pipeline.LoadDeclaration(e.p)
	if err != nil {
		return err
	}
	e.decl = d
	return pipeline.Classify(e.p, d, func(n *pipeline.Node) (*stage.Declassification, error) {
		st, ok := e.opts.Registry.Lookup(n.Stage)
		if !ok {
			return nil, nil // the unknown stage fails the node itself
		}
		dc, ok := st.(stage.Declassifier)
		if !ok {
			return nil, nil
		}
		c, err := dc.Declassifies(n.Params)
		if err != nil {
			return nil, err
		}
		return &c, nil
	})
}
