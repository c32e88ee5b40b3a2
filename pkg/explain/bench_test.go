package explain

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"bethel/pkg/lineage"
)

// BenchmarkExplainEager times what the review site asks of the engine, on
// a build shaped like the sample's at -rows records: an export, a mapped
// table (a record per row), a patched table (a row per mapped row, 1% of
// them patched, 5% dropped), and six count tables of about 56 cells each
// over random subsets (a record counted about 33 times in all, many cells
// counting the same records), blobs encoded before timing.
//
//	go test ./pkg/explain -run '^$' -bench BenchmarkExplainEager -benchtime 10x
func BenchmarkExplainEager(b *testing.B) {
	for _, n := range []int{100000, 1000000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchExplain(b, n) })
	}
}

func benchExplain(b *testing.B, n int) {
	rng := rand.New(rand.NewPCG(1, 1))
	blobs := map[string][]byte{}
	reads := map[string][]string{}
	mapped := &lineage.Recorder{}
	for i := 0; i < n; i++ {
		mapped.AddSource(lineage.Source{File: "inputs/registrations.csv", Line: i + 2, Key: fmt.Sprintf("R-%07d", i)})
	}
	blobs["out/private/registrations.mapped"] = lineage.Encode(mapped)
	reads["out/private/registrations.mapped"] = []string{"inputs/registrations.csv"}
	patched := &lineage.Recorder{}
	var active []int
	for i := 0; i < n; i++ {
		if rng.IntN(100) == 0 {
			patched.AddRow(lineage.Row{Refs: []lineage.Ref{{Input: "out/private/registrations.mapped", Row: i}},
				Patches: []lineage.Patch{{ID: fmt.Sprintf("p%d", i%50), File: "patches/registrations/10.toml", Line: 3 + i%50, Fields: []string{"tshirt_size"}}}})
		} else {
			patched.AddRef("out/private/registrations.mapped", i)
		}
		if rng.IntN(20) != 0 {
			active = append(active, i)
		}
	}
	blobs["out/private/registrations.csv"] = lineage.Encode(patched)
	reads["out/private/registrations.csv"] = []string{"out/private/registrations.mapped", "patches/registrations/10.toml"}
	var paths []string
	var shared [][]int
	for t := 0; t < 6; t++ {
		path := fmt.Sprintf("out/summary/t%d.csv", t)
		rec := &lineage.Recorder{}
		for row := 0; row < 14; row++ {
			for _, col := range []string{"daughters", "adults", "guests", "total"} {
				var rows []int
				if len(shared) > 0 && rng.IntN(3) == 0 {
					rows = shared[rng.IntN(len(shared))]
				} else {
					p := []float64{0.002, 0.02, 0.1, 0.3}[rng.IntN(4)]
					for _, r := range active {
						if rng.Float64() < p {
							rows = append(rows, r)
						}
					}
					shared = append(shared, rows)
				}
				rec.AddCell(lineage.Cell{Row: row, Col: col, Derivation: "count", Fields: []string{"member_type"}, Input: "out/private/registrations.csv", Rows: rows})
			}
		}
		blobs[path] = lineage.Encode(rec)
		reads[path] = []string{"out/private/registrations.csv"}
		paths = append(paths, path)
	}
	b.ResetTimer()
	for b.Loop() {
		m := &memArtifacts{arts: map[string]*Artifact{}, asked: map[string]int{}}
		for p, data := range blobs {
			tab, err := lineage.Open(data)
			if err != nil {
				b.Fatal(err)
			}
			a := &Artifact{Path: p, Hash: testSum([]byte(p)), Node: p, Stage: "s", Reads: map[string][32]byte{}, Table: tab}
			for _, r := range reads[p] {
				a.Reads[r] = testSum([]byte(r))
			}
			m.arts[p] = a
		}
		w := New(m)
		w.Eager = true
		var arts []*Artifact
		for _, p := range paths {
			a, err := w.Artifact(p, testSum([]byte(p)))
			if err != nil {
				b.Fatal(err)
			}
			arts = append(arts, a)
		}
		if _, err := w.Explain(arts, func(string) int { return 0 }); err != nil {
			b.Fatal(err)
		}
	}
}
