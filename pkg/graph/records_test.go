package graph

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"bethel/pkg/lineage"
	"bethel/pkg/provenance"
)

// TestRecords: what bethel why asks the engine. The record of an output's
// current content, with its lineage; the walk upstream to the sources;
// no record for bytes bethel never built; and a stale record once a file
// its node read has changed.
func TestRecords(t *testing.T) {
	root, opts := introWorkspace(t)
	p := load(t, root, opts.Registry)
	r := OpenRecords(p)

	h, err := r.Current("out/count.csv")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Record("out/count.csv", h)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Node != "count" || rec.Stage != "count" {
		t.Fatalf("record of out/count.csv: node %s stage %s", rec.Node, rec.Stage)
	}
	b, err := r.Lineage(rec)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := lineage.Open(b)
	if err != nil || tab.NumCells() != 2 {
		t.Fatalf("lineage of out/count.csv: %v cells, err %v", tab.NumCells(), err)
	}

	var nodes, raw []string
	err = r.Upstream(rec, func(x *provenance.Record) { nodes = append(nodes, x.Node) }, func(f string) {
		if !slices.Contains(raw, f) {
			raw = append(raw, f)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(raw)
	if !slices.Equal(nodes, []string{"count", "rows"}) || !slices.Contains(raw, "src/in.csv") || !slices.Contains(raw, "src/cfg.txt") {
		t.Fatalf("upstream: nodes %v raw %v", nodes, raw)
	}

	if bh, brec, err := r.Built("out/count.csv"); err != nil || bh != h || brec == nil || brec.Node != "count" {
		t.Fatalf("Built(out/count.csv) = %v, %v, %v", bh.Short(), brec, err)
	}
	if _, brec, err := r.Built("src/in.csv"); err != nil || brec != nil {
		t.Fatalf("Built(src/in.csv), a source: %v, %v", brec, err)
	}

	if _, err := r.Record("out/count.csv", [32]byte{1}); !errors.Is(err, provenance.ErrNoRecord) {
		t.Fatalf("bytes never built: %v, want ErrNoRecord", err)
	}

	write(t, root, "src/cfg.txt", "v2\n")
	r = OpenRecords(p)
	if _, err := r.Record("out/count.csv", h); err == nil || !strings.Contains(err.Error(), "out/count.csv is stale: src/cfg.txt changed since node count built it") {
		t.Fatalf("after an input changed: %v", err)
	}
}
