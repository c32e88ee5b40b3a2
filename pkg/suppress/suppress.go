// Package suppress protects small counts in a published two-way table
// (rows × columns plus a total column, a TOTAL row and a grand total), so
// that no count below a threshold can be read off or worked out from the
// published cells.
//
// Primary suppression hides every cell, totals included, whose value is
// at least 1 and below the threshold. Zero cells are published: a zero
// singles nobody out. Complementary suppression then hides further cells
// until no hidden cell can be recovered from the published ones by the
// table's additive equations (each row and each column, the TOTAL row and
// the total column included, sums to its total).
//
// The test for "recoverable" is exact, not the weaker "every line has 0 or
// at least 2 hidden cells": see the graph view below. A line with exactly
// one hidden cell is the simplest recoverable case, but two lines with two
// hidden cells each can still combine to give one away.
//
// Graph view. Take a vertex per line of the extended table (every row, the
// TOTAL row, every column, the total column) and an edge per hidden cell,
// joining its row and its column. The equations, weighted +1 for data rows
// and the total column and -1 for data columns and the TOTAL row, cancel
// every edge with both ends in one set of vertices; so a hidden cell whose
// edge is a bridge (its removal disconnects its ends) is recovered by
// summing the equations of one side. A hidden cell on a cycle is not: the
// values along the cycle can be shifted by ±d without changing any
// published cell. Complementary suppression therefore adds, for each
// bridge, the cheapest path of cells joining its two sides, closing a
// cycle through it, and repeats until no hidden cell is a bridge.
//
// The cost of hiding a cell is its value (small cells are the cheapest to
// lose); zero cells cost like a cell at the threshold, since a hidden zero
// protects little; totals cost far more than data cells, so they are hidden
// only when nothing else closes a cycle.
package suppress

import (
	"container/heap"
)

// Result is the outcome of Suppress over the extended table: row n is the
// TOTAL row and column m the total column, for n data rows and m data
// columns.
type Result struct {
	// Values is the extended table, totals filled in.
	Values [][]int
	// Hidden marks every suppressed cell.
	Hidden [][]bool
	// Primary marks the cells hidden because they are small; the others in
	// Hidden are complementary.
	Primary [][]bool
}

// Extend returns the extended table of cells: each row with its total
// appended, then the TOTAL row.
func Extend(cells [][]int, m int) [][]int {
	n := len(cells)
	ext := make([][]int, n+1)
	for i := range ext {
		ext[i] = make([]int, m+1)
	}
	for i, row := range cells {
		for j := 0; j < m; j++ {
			v := row[j]
			ext[i][j] = v
			ext[i][m] += v
			ext[n][j] += v
			ext[n][m] += v
		}
	}
	return ext
}

// Suppress returns which cells of the table to hide so that no cell with
// 1 <= value < threshold is published or recoverable. cells has one slice
// of m data columns per data row (m is given so that an empty table is
// well formed).
func Suppress(cells [][]int, m int, threshold int) Result {
	n := len(cells)
	ext := Extend(cells, m)
	res := Result{Values: ext, Hidden: grid(n+1, m+1), Primary: grid(n+1, m+1)}
	for i := 0; i <= n; i++ {
		for j := 0; j <= m; j++ {
			if v := ext[i][j]; v >= 1 && v < threshold {
				res.Hidden[i][j] = true
				res.Primary[i][j] = true
			}
		}
	}
	g := &graph{n: n, m: m, hidden: res.Hidden, cost: costs(ext, n, m, threshold)}
	for {
		i, j, ok := g.firstBridge()
		if !ok {
			break
		}
		if !g.closeCycle(i, j) {
			// Only a table with a single data row or column has no
			// cycle to close (e.g. n = 0); hide the whole line instead.
			g.hideAll()
			break
		}
	}
	return res
}

func grid(r, c int) [][]bool {
	g := make([][]bool, r)
	for i := range g {
		g[i] = make([]bool, c)
	}
	return g
}

func costs(ext [][]int, n, m, threshold int) [][]int64 {
	c := make([][]int64, n+1)
	for i := range c {
		c[i] = make([]int64, m+1)
		for j := range c[i] {
			v := int64(ext[i][j])
			if v == 0 {
				v = int64(threshold)
			}
			switch {
			case i == n && j == m:
				v += 1 << 40
			case i == n || j == m:
				v += 1 << 30
			}
			// +1 so that a path never prefers more cells for free.
			c[i][j] = v + 1
		}
	}
	return c
}

// graph is the bipartite line graph: vertices 0..n are rows (n = TOTAL),
// n+1..n+1+m are columns (n+1+m = total column).
type graph struct {
	n, m   int
	hidden [][]bool
	cost   [][]int64
}

func (g *graph) vertices() int { return g.n + g.m + 2 }
func (g *graph) col(j int) int { return g.n + 1 + j }

// neighbours calls f for each vertex joined to v by a hidden cell, with the
// cell's coordinates.
func (g *graph) neighbours(v int, f func(w, i, j int)) {
	if v <= g.n {
		for j := 0; j <= g.m; j++ {
			if g.hidden[v][j] {
				f(g.col(j), v, j)
			}
		}
		return
	}
	j := v - g.n - 1
	for i := 0; i <= g.n; i++ {
		if g.hidden[i][j] {
			f(i, i, j)
		}
	}
}

// reach returns the vertices reachable from v over hidden cells, not using
// cell (si, sj).
func (g *graph) reach(v, si, sj int) []bool {
	seen := make([]bool, g.vertices())
	stack := []int{v}
	seen[v] = true
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		g.neighbours(u, func(w, i, j int) {
			if (i == si && j == sj) || seen[w] {
				return
			}
			seen[w] = true
			stack = append(stack, w)
		})
	}
	return seen
}

// firstBridge returns the first hidden cell, row-major, that is a bridge.
// Tables are small (tens of rows, a handful of columns), so the quadratic
// check is fine and easy to trust.
func (g *graph) firstBridge() (int, int, bool) {
	for i := 0; i <= g.n; i++ {
		for j := 0; j <= g.m; j++ {
			if g.hidden[i][j] && !g.reach(i, i, j)[g.col(j)] {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// closeCycle hides the cheapest set of cells that joins the two sides of
// bridge (bi, bj), found by Dijkstra from the row's side to the column's
// side over all cells (hidden cells cost nothing).
func (g *graph) closeCycle(bi, bj int) bool {
	src := g.reach(bi, bi, bj)
	dst := g.reach(g.col(bj), bi, bj)
	V := g.vertices()
	const inf = int64(1) << 62
	dist := make([]int64, V)
	prev := make([]int, V)
	done := make([]bool, V)
	pq := &queue{}
	for v := 0; v < V; v++ {
		dist[v], prev[v] = inf, -1
		if src[v] {
			dist[v] = 0
			heap.Push(pq, item{v, 0})
		}
	}
	cellOf := func(u, w int) (int, int) {
		if u <= g.n {
			return u, w - g.n - 1
		}
		return w, u - g.n - 1
	}
	target := -1
	for pq.Len() > 0 {
		it := heap.Pop(pq).(item)
		u := it.v
		if done[u] {
			continue
		}
		done[u] = true
		if dst[u] {
			target = u
			break
		}
		// Every row meets every column in exactly one cell.
		lo, hi := g.n+1, V
		if u > g.n {
			lo, hi = 0, g.n+1
		}
		for w := lo; w < hi; w++ {
			i, j := cellOf(u, w)
			if done[w] || (i == bi && j == bj) {
				continue
			}
			c := g.cost[i][j]
			if g.hidden[i][j] {
				c = 0
			}
			if d := dist[u] + c; d < dist[w] || (d == dist[w] && prev[w] > u) {
				dist[w], prev[w] = d, u
				heap.Push(pq, item{w, d})
			}
		}
	}
	if target < 0 {
		return false
	}
	for v := target; prev[v] >= 0; v = prev[v] {
		i, j := cellOf(prev[v], v)
		g.hidden[i][j] = true
	}
	return true
}

func (g *graph) hideAll() {
	for i := range g.hidden {
		for j := range g.hidden[i] {
			g.hidden[i][j] = true
		}
	}
}

type item struct {
	v int
	d int64
}

type queue []item

func (q queue) Len() int { return len(q) }
func (q queue) Less(a, b int) bool {
	if q[a].d != q[b].d {
		return q[a].d < q[b].d
	}
	return q[a].v < q[b].v
}
func (q queue) Swap(a, b int) { q[a], q[b] = q[b], q[a] }
func (q *queue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}
