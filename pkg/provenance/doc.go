// Package provenance stores where outputs came from: an artifact record for
// every output of every node (which node, stage or command, params, action
// key, every file read with its hash, run or restored, when), each naming
// the cell lineage blob of its output (whose format is pkg/lineage's). It
// knows the lineage and cache formats but not the graph: the engine hands
// it what it knows, and `bethel why` reads it back.
package provenance
