package suppress

import (
	"context"
	"math/rand"
	"testing"
)

// denseSlack is slack as it was first written: Edmonds-Karp over a V×V
// capacity matrix. It is kept as the reference the adjacency-list maxFlow
// must agree with exactly, since suppression decisions compare its
// figures.
func denseSlack(g *graph, i, j int) (inc, dec int64) {
	V := g.vertices()
	big := g.big()
	capacity := make([]int64, V*V)
	for a := 0; a <= g.n; a++ {
		for b := 0; b <= g.m; b++ {
			if !g.hidden[a][b] || (a == i && b == j) {
				continue
			}
			t, h := g.arc(a, b)
			capacity[t*V+h] += big
			capacity[h*V+t] += int64(g.values[a][b])
		}
	}
	t, h := g.arc(i, j)
	return denseMaxFlow(capacity, V, h, t, big), denseMaxFlow(capacity, V, t, h, int64(g.values[i][j]))
}

func denseMaxFlow(capacity []int64, V, s, t int, limit int64) int64 {
	flow := make([]int64, V*V)
	prev := make([]int, V)
	var total int64
	for total < limit {
		for v := range prev {
			prev[v] = -1
		}
		prev[s] = s
		queue := []int{s}
		for k := 0; k < len(queue) && prev[t] < 0; k++ {
			u := queue[k]
			for w := 0; w < V; w++ {
				if prev[w] < 0 && capacity[u*V+w]-flow[u*V+w] > 0 {
					prev[w] = u
					queue = append(queue, w)
				}
			}
		}
		if prev[t] < 0 {
			break
		}
		push := limit - total
		for v := t; v != s; v = prev[v] {
			push = min(push, capacity[prev[v]*V+v]-flow[prev[v]*V+v])
		}
		for v := t; v != s; v = prev[v] {
			flow[prev[v]*V+v] += push
			flow[v*V+prev[v]] -= push
		}
		total += push
	}
	return total
}

// TestMaxFlowMatchesDense compares slack with the dense reference for
// every hidden cell of many random tables and hidden patterns, reusing
// one graph's scratch space across sizes as widen does.
func TestMaxFlowMatchesDense(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for iter := 0; iter < 400; iter++ {
		g := randomGraph(rng, 30, 5)
		n, m, hidden := g.n, g.m, g.hidden
		for i := 0; i <= n; i++ {
			for j := 0; j <= m; j++ {
				if !hidden[i][j] {
					continue
				}
				inc, dec := g.slack(i, j)
				winc, wdec := denseSlack(g, i, j)
				if inc != winc || dec != wdec {
					t.Fatalf("table %d (%dx%d), cell (%d,%d): slack = %d, %d; dense reference = %d, %d",
						iter, n, m, i, j, inc, dec, winc, wdec)
				}
				// width stopped at a limit is exact below it.
				exact := min(winc, g.big()) + wdec
				for limit := int64(0); limit <= 12; limit++ {
					w := g.width(i, j, limit)
					if (exact < limit && w != exact) || (exact >= limit && w < limit) {
						t.Fatalf("table %d, cell (%d,%d): width up to %d = %d, exact width %d",
							iter, i, j, limit, w, exact)
					}
				}
			}
		}
	}
}

// TestFirstBridgeMatchesReach compares firstBridge with its definition:
// the first hidden cell, row-major, whose removal disconnects its ends.
func TestFirstBridgeMatchesReach(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	for iter := 0; iter < 2000; iter++ {
		n, m := 1+rng.Intn(12), 1+rng.Intn(5)
		hidden := grid(n+1, m+1)
		density := rng.Float64()
		for i := range hidden {
			for j := range hidden[i] {
				hidden[i][j] = rng.Float64() < density
			}
		}
		g := &graph{ctx: context.Background(), n: n, m: m, hidden: hidden}
		wi, wj, wok := 0, 0, false
	search:
		for i := 0; i <= n; i++ {
			for j := 0; j <= m; j++ {
				if hidden[i][j] && !g.reach(i, i, j)[g.col(j)] {
					wi, wj, wok = i, j, true
					break search
				}
			}
		}
		if i, j, ok := g.firstBridge(); i != wi || j != wj || ok != wok {
			t.Fatalf("table %d (%dx%d) %v: firstBridge = %d, %d, %v; by definition %d, %d, %v",
				iter, n, m, hidden, i, j, ok, wi, wj, wok)
		}
	}
}

// TestGainsExact checks the claim widen relies on: a visible cell that
// gains rules out leaves the hidden cell's exact width as it was.
func TestGainsExact(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	exact := func(g *graph, i, j int) int64 {
		inc, dec := g.slack(i, j)
		return min(inc, g.big()) + dec
	}
	ruled := 0
	for iter := 0; iter < 300; iter++ {
		g := randomGraph(rng, 15, 4)
		n, m, hidden := g.n, g.m, g.hidden
		for i := 0; i <= n; i++ {
			for j := 0; j <= m; j++ {
				if !hidden[i][j] {
					continue
				}
				before := exact(g, i, j)
				g.build(i, j)
				gains := g.gains(i, j)
				for a := 0; a <= n; a++ {
					for b := 0; b <= m; b++ {
						if hidden[a][b] || gains(a, b) {
							continue
						}
						ruled++
						hidden[a][b] = true
						after := exact(g, i, j)
						hidden[a][b] = false
						g.build(i, j)
						gains = g.gains(i, j)
						if after != before {
							t.Fatalf("table %d, cell (%d,%d): hiding (%d,%d) ruled out, but width %d -> %d",
								iter, i, j, a, b, before, after)
						}
					}
				}
			}
		}
	}
	if ruled == 0 {
		t.Fatal("gains ruled out no cell: the test checks nothing")
	}
}

// randomGraph is a table of up to maxN rows and maxM columns of small,
// mixed counts with a random share of its cells hidden.
func randomGraph(rng *rand.Rand, maxN, maxM int) *graph {
	n, m := 1+rng.Intn(maxN), 1+rng.Intn(maxM)
	cells := make([][]int, n)
	for i := range cells {
		cells[i] = make([]int, m)
		for j := range cells[i] {
			cells[i][j] = rng.Intn([]int{3, 8, 40}[rng.Intn(3)])
		}
	}
	hidden := grid(n+1, m+1)
	density := rng.Float64()
	for i := range hidden {
		for j := range hidden[i] {
			hidden[i][j] = rng.Float64() < density
		}
	}
	return &graph{ctx: context.Background(), n: n, m: m, hidden: hidden, values: Extend(cells, m)}
}
