package suppress

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// recoverable returns the hidden cells of ext whose value the published
// cells determine through the table's equations. It is an independent
// check of the graph argument in the package comment: plain linear
// algebra (a hidden cell is determined iff its unit
// vector lies in the row space of the equations restricted to hidden
// cells).
func recoverable(hidden [][]bool) [][2]int {
	n, m := len(hidden)-1, len(hidden[0])-1
	idx := map[[2]int]int{}
	var cells [][2]int
	for i := 0; i <= n; i++ {
		for j := 0; j <= m; j++ {
			if hidden[i][j] {
				idx[[2]int{i, j}] = len(cells)
				cells = append(cells, [2]int{i, j})
			}
		}
	}
	k := len(cells)
	// Coefficients are ±1 on tiny systems: float64 elimination with a
	// tolerance is exact enough and keeps the exhaustive test fast.
	const eps = 1e-9
	var rows [][]float64
	newRow := func() []float64 { return make([]float64, k) }
	add := func(r []float64, i, j int, c float64) {
		if x, ok := idx[[2]int{i, j}]; ok {
			r[x] += c
		}
	}
	for i := 0; i <= n; i++ { // each row, TOTAL row included
		r := newRow()
		for j := 0; j < m; j++ {
			add(r, i, j, 1)
		}
		add(r, i, m, -1)
		rows = append(rows, r)
	}
	for j := 0; j <= m; j++ { // each column, total column included
		r := newRow()
		for i := 0; i < n; i++ {
			add(r, i, j, 1)
		}
		add(r, n, j, -1)
		rows = append(rows, r)
	}
	// Reduced row echelon form.
	var pivots []int
	rank := 0
	for c := 0; c < k && rank < len(rows); c++ {
		p := -1
		for r := rank; r < len(rows); r++ {
			if math.Abs(rows[r][c]) > eps {
				p = r
				break
			}
		}
		if p < 0 {
			continue
		}
		rows[rank], rows[p] = rows[p], rows[rank]
		inv := 1 / rows[rank][c]
		for x := range rows[rank] {
			rows[rank][x] *= inv
		}
		for r := range rows {
			if r == rank || math.Abs(rows[r][c]) <= eps {
				continue
			}
			f := rows[r][c]
			for x := range rows[r] {
				rows[r][x] -= f * rows[rank][x]
			}
		}
		pivots = append(pivots, c)
		rank++
	}
	var out [][2]int
	for t := 0; t < k; t++ {
		v := newRow()
		v[t] = 1
		for r, c := range pivots {
			if math.Abs(v[c]) <= eps {
				continue
			}
			f := v[c]
			for x := range v {
				v[x] -= f * rows[r][x]
			}
		}
		zero := true
		for _, x := range v {
			if math.Abs(x) > eps {
				zero = false
				break
			}
		}
		if zero {
			out = append(out, cells[t])
		}
	}
	return out
}

func checkTable(t *testing.T, cells [][]int, m, threshold int) {
	t.Helper()
	res := Suppress(cells, m, threshold)
	for i, row := range res.Values {
		for j, v := range row {
			if v >= 1 && v < threshold && !res.Hidden[i][j] {
				t.Fatalf("table %v: small cell (%d,%d)=%d published", cells, i, j, v)
			}
			if res.Primary[i][j] && !res.Hidden[i][j] {
				t.Fatalf("primary cell not hidden")
			}
		}
	}
	// Every line (TOTAL row and total column included) has 0 or >= 2
	// hidden cells: the subtraction rule of the product brief.
	n := len(cells)
	for i := 0; i <= n; i++ {
		c := 0
		for j := 0; j <= m; j++ {
			if res.Hidden[i][j] {
				c++
			}
		}
		if c == 1 {
			t.Fatalf("table %v: row %d has exactly one hidden cell", cells, i)
		}
	}
	for j := 0; j <= m; j++ {
		c := 0
		for i := 0; i <= n; i++ {
			if res.Hidden[i][j] {
				c++
			}
		}
		if c == 1 {
			t.Fatalf("table %v: column %d has exactly one hidden cell", cells, j)
		}
	}
	if r := recoverable(res.Hidden); len(r) > 0 {
		t.Fatalf("table %v threshold %d: hidden cells %v are recoverable; hidden %v", cells, threshold, r, res.Hidden)
	}
}

// TestRecoverableDetects makes sure the checker can fail: a hidden pattern
// with a bridge (two 4-cycles joined by one cell) must be reported.
func TestRecoverableDetects(t *testing.T) {
	h := grid(5, 5)
	for _, c := range [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {2, 2}, {2, 3}, {3, 2}, {3, 3}, {1, 2}} {
		h[c[0]][c[1]] = true
	}
	got := recoverable(h)
	if fmt.Sprint(got) != "[[1 2]]" {
		t.Fatalf("recoverable = %v, want the bridge [1 2]", got)
	}
	h = grid(3, 3)
	h[0][0], h[0][1], h[1][0], h[1][1] = true, true, true, true
	if got := recoverable(h); len(got) != 0 {
		t.Fatalf("a 4-cycle is not recoverable, got %v", got)
	}
	h[2][2] = true // alone in its row and column
	if got := recoverable(h); fmt.Sprint(got) != "[[2 2]]" {
		t.Fatalf("got %v", got)
	}
}

// TestExhaustive runs every table of a few small shapes over a value set
// that straddles the threshold.
func TestExhaustive(t *testing.T) {
	for _, sh := range []struct {
		n, m int
		vals []int
	}{
		{1, 1, []int{0, 1, 2, 4, 5, 6, 9}},
		{1, 3, []int{0, 1, 4, 5, 7}},
		{2, 2, []int{0, 1, 2, 4, 5, 6, 9}},
		{3, 2, []int{0, 1, 3, 5, 8}},
		{2, 3, []int{0, 1, 3, 5, 8}},
		{3, 3, []int{0, 2, 6}},
	} {
		k := sh.n * sh.m
		count := 1
		for i := 0; i < k; i++ {
			count *= len(sh.vals)
		}
		for code := 0; code < count; code++ {
			c := code
			cells := make([][]int, sh.n)
			for i := range cells {
				cells[i] = make([]int, sh.m)
				for j := range cells[i] {
					cells[i][j] = sh.vals[c%len(sh.vals)]
					c /= len(sh.vals)
				}
			}
			checkTable(t, cells, sh.m, 5)
		}
	}
}

// TestRandom covers attendance-shaped tables: many bethels, three member
// types, mostly large daughter counts and small guest counts.
func TestRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for iter := 0; iter < 300; iter++ {
		n := 1 + rng.Intn(40)
		m := 1 + rng.Intn(4)
		cells := make([][]int, n)
		for i := range cells {
			cells[i] = make([]int, m)
			for j := range cells[i] {
				scale := []int{3, 8, 40}[rng.Intn(3)]
				cells[i][j] = rng.Intn(scale)
			}
		}
		threshold := []int{2, 5, 10}[rng.Intn(3)]
		checkTable(t, cells, m, threshold)
	}
}

func TestDeterministic(t *testing.T) {
	cells := [][]int{{30, 2, 1}, {25, 6, 0}, {3, 1, 0}, {40, 7, 9}}
	a := fmt.Sprint(Suppress(cells, 3, 5).Hidden)
	for i := 0; i < 20; i++ {
		if b := fmt.Sprint(Suppress(cells, 3, 5).Hidden); a != b {
			t.Fatalf("run %d differs: %s vs %s", i, a, b)
		}
	}
}

func TestNothingSmall(t *testing.T) {
	res := Suppress([][]int{{10, 20}, {30, 0}}, 2, 5)
	for _, row := range res.Hidden {
		for _, h := range row {
			if h {
				t.Fatalf("a table without small cells hides %v", res.Hidden)
			}
		}
	}
}

// BenchmarkSuppress suppresses attendance-shaped tables of n rows by 3
// columns (one large column, two of small counts) at threshold 5.
func BenchmarkSuppress(b *testing.B) {
	for _, n := range []int{100, 300, 1000, 4000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			cells := make([][]int, n)
			for i := range cells {
				cells[i] = []int{rng.Intn(60), rng.Intn(10), rng.Intn(6)}
			}
			for i := 0; i < b.N; i++ {
				Suppress(cells, 3, 5)
			}
		})
	}
}

// TestSuppressContextStops: an interrupted build stops a suppression of a
// table large enough to take minutes, and says so instead of returning a
// table to publish.
func TestSuppressContextStops(t *testing.T) {
	cells := make([][]int, 4000)
	for i := range cells {
		cells[i] = []int{1, 0, 2}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SuppressContext(ctx, cells, 3, 5); !errors.Is(err, context.Canceled) {
		t.Fatalf("SuppressContext on a cancelled context: err = %v, want context.Canceled", err)
	}
	// The small table still completes under a live context.
	res, err := SuppressContext(context.Background(), [][]int{{1, 9, 9}, {9, 9, 9}, {9, 9, 9}}, 3, 5)
	if err != nil || !res.Hidden[0][0] {
		t.Fatalf("live context: err = %v, hidden = %v", err, res.Hidden)
	}
}
