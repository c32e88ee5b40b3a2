// Command benchgen writes a layered benchmark workspace (pipeline.toml,
// Makefile, build.ninja and sources) for scripts/bench-engine.sh.
//
//	benchgen -n 1000 -dir /tmp/w [-log log.txt]
package main

import (
	"flag"
	"fmt"
	"os"

	"bethel/pkg/graph/graphtest"
)

func main() {
	n := flag.Int("n", 1000, "number of nodes")
	dir := flag.String("dir", "", "directory to write the workspace into")
	log := flag.String("log", "", "file every command appends its node name to (counts executions)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: benchgen -n N -dir DIR [-log FILE]")
		os.Exit(2)
	}
	g := graphtest.Sized(*n)
	g.Log = *log
	if err := g.Write(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
}
