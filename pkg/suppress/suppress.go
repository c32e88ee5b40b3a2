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
// Not recoverable is not enough: counts are never negative, so a row
// 9, *, *, 10 tells that its two hidden cells lie in [0, 1]. Every hidden
// cell must keep a protection interval: the range of values consistent
// with everything published (the exact bounds of the linear program) is
// at least threshold wide. Interval computes that range exactly, as two
// maximum flows (see slack); while a hidden cell is narrower, the
// cheapest visible cell (or pair of cells of a new line) that widens it
// is hidden too, zeros included, and cycles are closed again.
//
// The cost of hiding a cell is its value (small cells are the cheapest to
// lose); zero cells cost like a cell at the threshold, since a hidden zero
// protects little; totals cost far more than data cells, so they are hidden
// only when nothing else closes a cycle.
package suppress

import (
	"cmp"
	"container/heap"
	"context"
	"math"
	"slices"
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
// 1 <= value < threshold is published or recoverable, and no hidden cell
// can be placed in a range narrower than threshold. cells has one slice
// of m data columns per data row (m is given so that an empty table is
// well formed).
func Suppress(cells [][]int, m int, threshold int) Result {
	res, _ := SuppressContext(context.Background(), cells, m, threshold)
	return res
}

// SuppressContext is Suppress that gives up when ctx is done (an
// interrupted build): a large table takes many maximum flows, and the
// build must stop at once. Its error is then ctx's, and the Result is not
// to be published.
func SuppressContext(ctx context.Context, cells [][]int, m int, threshold int) (Result, error) {
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
	g := &graph{ctx: ctx, n: n, m: m, hidden: res.Hidden, cost: costs(ext, n, m, threshold), values: ext}
	for steps := 0; steps <= (n+1)*(m+1); steps++ {
		if ctx.Err() != nil {
			break
		}
		if !g.closeBridges() {
			break
		}
		i, j, ok := g.narrow(threshold)
		if !ok {
			break
		}
		if !g.widen(i, j, threshold) {
			g.hideAll()
			break
		}
	}
	return res, ctx.Err()
}

// closeBridges closes a cycle through every bridge; false when it had to
// hide the whole table instead.
func (g *graph) closeBridges() bool {
	for {
		i, j, ok := g.firstBridge()
		if !ok {
			return true
		}
		if !g.closeCycle(i, j) {
			// Only a table with a single data row or column has no
			// cycle to close (e.g. n = 0); hide the whole line instead.
			g.hideAll()
			return false
		}
	}
}

// Interval returns the range [lo, hi] of values that hidden cell (i, j) of
// res can take given everything published: every visible cell, and that
// no count is negative. It is exact (the bounds of the linear program,
// computed as maximum flows, see width); hi is math.MaxInt when nothing
// bounds it.
func Interval(res Result, i, j int) (lo, hi int) {
	n, m := len(res.Values)-1, len(res.Values[0])-1
	g := &graph{ctx: context.Background(), n: n, m: m, hidden: res.Hidden, values: res.Values}
	inc, dec := g.slack(i, j)
	v := res.Values[i][j]
	if inc >= g.big() {
		return v - int(dec), math.MaxInt
	}
	return v - int(dec), v + int(inc)
}

// The widths of hidden cells: the published equations, each weighted as
// in the package comment, leave free exactly the circulations on the
// graph of hidden cells, each cell an arc from the line where it counts
// -1 to the line where it counts +1. A cell can grow by t when t units
// can return from its head to its tail over the other hidden cells, each
// of which may grow without limit (its arc's direction) or shrink by at
// most its value (against it, since no count goes below zero): a maximum
// flow. It can shrink likewise, from tail to head, by at most its value.

// arc is hidden cell (i, j) as an arc tail -> head of the line graph.
func (g *graph) arc(i, j int) (tail, head int) {
	switch {
	case i < g.n && j < g.m:
		return g.col(j), i
	case i < g.n:
		return i, g.col(g.m)
	case j < g.m:
		return g.n, g.col(j)
	}
	return g.col(g.m), g.n
}

// big stands for "without limit": more than any count of the table.
func (g *graph) big() int64 {
	return int64(g.values[g.n][g.m])*2 + 1
}

// slack is how much hidden cell (i, j) can grow and shrink.
func (g *graph) slack(i, j int) (inc, dec int64) {
	g.build(i, j)
	return g.flows(i, j)
}

// build lays out the edges of every hidden cell but (i, j).
func (g *graph) build(i, j int) {
	V := g.vertices()
	if len(g.adj) != V {
		g.adj, g.via = make([][]int32, V), make([]int32, V)
		g.queue = make([]int, 0, V)
	}
	for v := range g.adj {
		g.adj[v] = g.adj[v][:0]
	}
	g.to, g.capacity = g.to[:0], g.capacity[:0]
	for a := 0; a <= g.n; a++ {
		for b := 0; b <= g.m; b++ {
			if g.hidden[a][b] && (a != i || b != j) {
				g.addArc(a, b)
			}
		}
	}
}

// addArc adds the edges of hidden cell (a, b): edge e runs along its arc,
// e^1 against it; pushing on one frees as much on the other.
func (g *graph) addArc(a, b int) {
	t, h := g.arc(a, b)
	e := int32(len(g.to))
	g.to = append(g.to, h, t)
	g.capacity = append(g.capacity, g.big(), int64(g.values[a][b]))
	g.adj[t] = append(g.adj[t], e)
	g.adj[h] = append(g.adj[h], e+1)
}

// popArc removes the edges of cell (a, b), the last ones added.
func (g *graph) popArc(a, b int) {
	t, h := g.arc(a, b)
	g.to, g.capacity = g.to[:len(g.to)-2], g.capacity[:len(g.capacity)-2]
	g.adj[t] = g.adj[t][:len(g.adj[t])-1]
	g.adj[h] = g.adj[h][:len(g.adj[h])-1]
}

// sizeFlow gives the flow scratch one entry per edge laid out.
func (g *graph) sizeFlow() {
	if cap(g.flow) < len(g.to) {
		g.flow = make([]int64, len(g.to), cap(g.to))
	}
	g.flow = g.flow[:len(g.to)]
}

// flows is slack over the edges laid out.
func (g *graph) flows(i, j int) (inc, dec int64) {
	g.sizeFlow()
	t, h := g.arc(i, j)
	inc = g.maxFlow(h, t, g.big())
	dec = g.maxFlow(t, h, int64(g.values[i][j]))
	return inc, dec
}

// width is the width of hidden cell (i, j)'s interval when narrower than
// limit, else some figure at least limit: suppression only asks whether a
// cell is narrower than threshold, and compares exact widths only below
// it, so the flows stop at limit instead of running to their maxima.
func (g *graph) width(i, j int, limit int64) int64 {
	g.build(i, j)
	return g.capped(i, j, limit)
}

// capped is width over the edges laid out.
func (g *graph) capped(i, j int, limit int64) int64 {
	g.sizeFlow()
	t, h := g.arc(i, j)
	dec := g.maxFlow(t, h, min(int64(g.values[i][j]), limit))
	if dec >= limit {
		return dec
	}
	return dec + g.maxFlow(h, t, min(g.big(), limit-dec))
}

// maxFlow is the maximum flow from s to t over the edges slack built, up
// to limit: Edmonds-Karp over adjacency lists (a BFS costs vertices plus
// hidden cells, not vertices squared), on scratch space the graph keeps,
// since it runs for every candidate cell.
func (g *graph) maxFlow(s, t int, limit int64) int64 {
	to, capacity, flow, via := g.to, g.capacity, g.flow, g.via
	clear(flow)
	var total int64
	for total < limit {
		for v := range via {
			via[v] = -1
		}
		via[s] = -2
		queue := append(g.queue[:0], s)
		for k := 0; k < len(queue) && via[t] == -1; k++ {
			for _, e := range g.adj[queue[k]] {
				if w := to[e]; via[w] == -1 && capacity[e]-flow[e] > 0 {
					via[w] = e
					queue = append(queue, w)
				}
			}
		}
		g.queue = queue
		if via[t] == -1 {
			break
		}
		push := limit - total
		for v := t; v != s; v = to[via[v]^1] {
			e := via[v]
			push = min(push, capacity[e]-flow[e])
		}
		for v := t; v != s; v = to[via[v]^1] {
			e := via[v]
			flow[e] += push
			flow[e^1] -= push
		}
		total += push
	}
	return total
}

// narrow returns the first hidden cell, row-major, whose interval is
// narrower than threshold. Hiding more cells only widens intervals (the
// adversary knows less), so a cell found wide enough is not measured
// again.
func (g *graph) narrow(threshold int) (int, int, bool) {
	if g.wide == nil {
		g.wide = grid(g.n+1, g.m+1)
	}
	for i := 0; i <= g.n; i++ {
		for j := 0; j <= g.m; j++ {
			if !g.hidden[i][j] || g.wide[i][j] {
				continue
			}
			if g.ctx.Err() != nil {
				return 0, 0, false // SuppressContext reports it
			}
			if g.width(i, j, int64(threshold)) < int64(threshold) {
				return i, j, true
			}
			g.wide[i][j] = true
		}
	}
	return 0, 0, false
}

// widen hides the cheapest published cell, or pair of cells in one line,
// that widens hidden cell (i, j) to threshold; failing that, the one that
// widens it most (the cheapest, then the first row-major, among equals).
// False when nothing widens it.
//
// Each group of candidates is tried cheapest first (stably, so equal
// costs keep row-major order): once one is wide enough, no later one can
// be chosen, and the rest are not measured. The choice is the one a
// row-major scan of every candidate makes.
func (g *graph) widen(i, j, threshold int) bool {
	cur := g.width(i, j, int64(threshold)) // below threshold: exact
	gains := g.gains(i, j)
	var best []cand
	var bestW, bestC int64
	try := func(cs []cand) {
		slices.SortStableFunc(cs, func(x, y cand) int { return cmp.Compare(x.cost, y.cost) })
		for k := 0; k < len(cs); {
			// The cells of one candidate share its cost and are adjacent.
			end := k + 1
			for end < len(cs) && cs[end].id == cs[k].id {
				end++
			}
			x, c := cs[k:end], cs[k].cost
			k = end
			if best != nil && bestW >= int64(threshold) && c >= bestC {
				return
			}
			if g.ctx.Err() != nil {
				return // SuppressContext reports it
			}
			if len(x) == 1 && !gains(x[0].i, x[0].j) {
				continue // its width stays cur
			}
			for _, y := range x {
				g.addArc(y.i, y.j)
			}
			w := g.capped(i, j, int64(threshold))
			for y := len(x) - 1; y >= 0; y-- {
				g.popArc(x[y].i, x[y].j)
			}
			if w <= cur {
				continue
			}
			enough, bestEnough := w >= int64(threshold), bestW >= int64(threshold)
			better := best == nil ||
				(enough && (!bestEnough || c < bestC)) ||
				(!enough && !bestEnough && (w > bestW || (w == bestW && c < bestC)))
			if better {
				best, bestW, bestC = append([]cand(nil), x...), w, c
			}
		}
	}
	var cs []cand
	add := func(cells ...[2]int) {
		var c int64
		for _, x := range cells {
			if g.hidden[x[0]][x[1]] {
				return
			}
			c += g.cost[x[0]][x[1]]
		}
		id := len(cs)
		for _, x := range cells {
			cs = append(cs, cand{x[0], x[1], id, c})
		}
	}
	// A new arc carries flow for (i, j) only if it joins two lines its
	// hidden cells reach; a line they do not reach joins with two cells.
	in := g.reach(i, -1, -1)
	for a := 0; a <= g.n; a++ {
		for b := 0; b <= g.m; b++ {
			if in[a] && in[g.col(b)] {
				add([2]int{a, b})
			}
		}
	}
	try(cs)
	if best == nil || bestW < int64(threshold) {
		cs = cs[:0]
		for a := 0; a <= g.n; a++ {
			if in[a] {
				continue
			}
			for b := 0; b <= g.m; b++ {
				for c := b + 1; c <= g.m; c++ {
					if in[g.col(b)] && in[g.col(c)] {
						add([2]int{a, b}, [2]int{a, c})
					}
				}
			}
		}
		try(cs)
	}
	if best == nil {
		// Rarely: a column they do not reach, joined by two cells.
		cs = cs[:0]
		for b := 0; b <= g.m; b++ {
			if in[g.col(b)] {
				continue
			}
			for a := 0; a <= g.n; a++ {
				for c := a + 1; c <= g.n; c++ {
					if in[a] && in[c] {
						add([2]int{a, b}, [2]int{c, b})
					}
				}
			}
		}
		try(cs)
	}
	if best == nil {
		return false
	}
	for _, x := range best {
		g.hidden[x.i][x.j] = true
	}
	return true
}

// gains returns whether hiding one more cell can widen hidden cell
// (i, j), over the edges laid out for it. Each of its two flows is either
// at its limit already or maximum, and then a new arc raises it only if
// the arc lies on an augmenting path: it leaves a vertex the source still
// reaches in the residual graph and enters one that still reaches the
// sink (along the arc, or against it when the cell is not zero). So a
// cell that fails this test would measure exactly the current width.
func (g *graph) gains(i, j int) func(a, b int) bool {
	g.sizeFlow()
	t, h := g.arc(i, j)
	type sets struct{ from, to []bool }
	var open []sets
	if g.maxFlow(h, t, g.big()) < g.big() {
		open = append(open, sets{g.residual(h, false), g.residual(t, true)})
	}
	v := int64(g.values[i][j])
	if g.maxFlow(t, h, v) < v {
		open = append(open, sets{g.residual(t, false), g.residual(h, true)})
	}
	return func(a, b int) bool {
		at, ah := g.arc(a, b)
		for _, s := range open {
			if s.from[at] && s.to[ah] || g.values[a][b] > 0 && s.from[ah] && s.to[at] {
				return true
			}
		}
		return false
	}
}

// residual returns the vertices reachable from v over edges with room
// left after the last maxFlow or, with back, the vertices that reach v so.
func (g *graph) residual(v int, back bool) []bool {
	seen := make([]bool, g.vertices())
	seen[v] = true
	queue := []int{v}
	for k := 0; k < len(queue); k++ {
		for _, e := range g.adj[queue[k]] {
			w := int(g.to[e])
			if back {
				e ^= 1 // the edge from w into queue[k]
			}
			if !seen[w] && g.capacity[e]-g.flow[e] > 0 {
				seen[w] = true
				queue = append(queue, w)
			}
		}
	}
	return seen
}

// cand is one cell of a candidate of widen: the cells sharing id are
// hidden together, at cost the sum of theirs.
type cand struct {
	i, j int
	id   int
	cost int64
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
	ctx    context.Context // done: stop measuring (see SuppressContext)
	n, m   int
	hidden [][]bool
	cost   [][]int64
	values [][]int
	// wide marks hidden cells known to be wide enough (see narrow).
	wide [][]bool
	// Scratch space of slack and maxFlow: edge e goes to vertex to[e],
	// e^1 is its reverse; adj lists each vertex's edges, via the edge a
	// BFS reached each vertex by.
	to             []int
	capacity, flow []int64
	adj            [][]int32
	via            []int32
	queue          []int
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
// All bridges are found in one depth-first search (Tarjan's low-link):
// a tree edge u-w is a bridge when nothing below w reaches back to u or
// above. Each row and column share at most one cell, so the graph has no
// parallel edges and skipping the edge to the parent is exact.
func (g *graph) firstBridge() (int, int, bool) {
	V := g.vertices()
	adj := make([][]int, V)
	for i := 0; i <= g.n; i++ {
		for j := 0; j <= g.m; j++ {
			if g.hidden[i][j] {
				adj[i] = append(adj[i], g.col(j))
				adj[g.col(j)] = append(adj[g.col(j)], i)
			}
		}
	}
	disc, low := make([]int, V), make([]int, V)
	clock := 0
	bi, bj, found := 0, 0, false
	var dfs func(u, parent int)
	dfs = func(u, parent int) {
		clock++
		disc[u], low[u] = clock, clock
		for _, w := range adj[u] {
			if w == parent {
				continue
			}
			if disc[w] != 0 {
				low[u] = min(low[u], disc[w])
				continue
			}
			dfs(w, u)
			low[u] = min(low[u], low[w])
			if low[w] > disc[u] {
				i, j := u, w
				if i > g.n {
					i, j = w, u
				}
				j -= g.n + 1
				if !found || i < bi || (i == bi && j < bj) {
					bi, bj, found = i, j, true
				}
			}
		}
	}
	for v := 0; v < V; v++ {
		if disc[v] == 0 {
			dfs(v, -1)
		}
	}
	return bi, bj, found
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
