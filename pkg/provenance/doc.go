// Package provenance stores where outputs came from: an artifact record for
// every output of every node (which node, stage or command, params, action
// key, every file read with its hash, run or restored, when), and the cell
// lineage of built-in stages' outputs in a compact binary form with random
// access to any row or cell. It knows the lineage and cache formats but not
// the graph: the engine hands it what it knows, and `bethel why` reads it
// back.
package provenance
