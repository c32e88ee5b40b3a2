package suppress

import (
	"errors"
	"math"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// lpInterval solves, as two linear programs, the range an adversary can
// deduce for hidden cell (ci, cj) from everything res publishes: the
// visible cells, the table's equations, and that counts are not negative.
// It is independent of the flows Interval uses. hi is +Inf when unbounded.
func lpInterval(t *testing.T, res Result, ci, cj int) (lo, hi float64) {
	t.Helper()
	n, m := len(res.Values)-1, len(res.Values[0])-1
	idx := map[[2]int]int{}
	for i := 0; i <= n; i++ {
		for j := 0; j <= m; j++ {
			if res.Hidden[i][j] {
				idx[[2]int{i, j}] = len(idx)
			}
		}
	}
	k := len(idx)
	var rows [][]float64
	var rhs []float64
	line := func(cells [][3]int) { // i, j, coefficient
		r := make([]float64, k)
		b := 0.0
		for _, c := range cells {
			if x, ok := idx[[2]int{c[0], c[1]}]; ok {
				r[x] += float64(c[2])
			} else {
				b -= float64(c[2] * res.Values[c[0]][c[1]])
			}
		}
		rows, rhs = append(rows, r), append(rhs, b)
	}
	for i := 0; i <= n; i++ {
		var cs [][3]int
		for j := 0; j < m; j++ {
			cs = append(cs, [3]int{i, j, 1})
		}
		line(append(cs, [3]int{i, m, -1}))
	}
	for j := 0; j <= m; j++ {
		var cs [][3]int
		for i := 0; i < n; i++ {
			cs = append(cs, [3]int{i, j, 1})
		}
		line(append(cs, [3]int{n, j, -1}))
	}
	// Keep an independent set of equations (Simplex wants full row rank).
	var A [][]float64
	var b []float64
	var basis [][]float64
	for r, row := range rows {
		v := append([]float64(nil), row...)
		for _, e := range basis {
			p := pivot(e)
			if f := v[p]; f != 0 {
				for c := range v {
					v[c] -= f * e[c]
				}
			}
		}
		p := pivot(v)
		if p < 0 {
			continue
		}
		for c := range v {
			if c != p {
				v[c] /= v[p]
			}
		}
		v[p] = 1
		// Keep the basis reduced so that later rows reduce against it.
		for bi, e := range basis {
			if f := e[p]; f != 0 {
				for c := range e {
					basis[bi][c] -= f * v[c]
				}
			}
		}
		basis = append(basis, v)
		A, b = append(A, rows[r]), append(b, rhs[r])
	}
	target := idx[[2]int{ci, cj}]
	if len(A) == 0 {
		return 0, math.Inf(1)
	}
	dense := mat.NewDense(len(A), k, nil)
	for r := range A {
		dense.SetRow(r, A[r])
	}
	solve := func(sign float64) (float64, error) {
		c := make([]float64, k)
		c[target] = sign
		opt, _, err := lp.Simplex(c, dense, b, 1e-10, nil)
		return sign * opt, err
	}
	lo, err := solve(1)
	if err != nil {
		t.Fatalf("min of (%d,%d): %v", ci, cj, err)
	}
	hi, err = solve(-1)
	if errors.Is(err, lp.ErrUnbounded) {
		return lo, math.Inf(1)
	}
	if err != nil {
		t.Fatalf("max of (%d,%d): %v", ci, cj, err)
	}
	return lo, hi
}

func pivot(v []float64) int {
	for i, x := range v {
		if math.Abs(x) > 1e-9 {
			return i
		}
	}
	return -1
}

// checkIntervals: for every hidden cell, the exact range (linear
// programming) equals Interval's, holds the true value, and is at least
// threshold wide.
func checkIntervals(t *testing.T, cells [][]int, m, threshold int) {
	t.Helper()
	res := Suppress(cells, m, threshold)
	for i := range res.Hidden {
		for j, h := range res.Hidden[i] {
			if !h {
				continue
			}
			lo, hi := lpInterval(t, res, i, j)
			glo, ghi := Interval(res, i, j)
			fhi := float64(ghi)
			if ghi == math.MaxInt {
				fhi = math.Inf(1)
			}
			if math.Abs(lo-float64(glo)) > 1e-6 || (math.IsInf(hi, 1) != math.IsInf(fhi, 1)) || (!math.IsInf(hi, 1) && math.Abs(hi-fhi) > 1e-6) {
				t.Fatalf("table %v: cell (%d,%d): linear program [%g, %g], Interval [%d, %d]", cells, i, j, lo, hi, glo, ghi)
			}
			if v := float64(res.Values[i][j]); v < lo-1e-6 || v > hi+1e-6 {
				t.Fatalf("table %v: cell (%d,%d) = %v outside [%g, %g]", cells, i, j, v, lo, hi)
			}
			if hi-lo < float64(threshold)-1e-6 {
				t.Fatalf("table %v threshold %d: hidden cell (%d,%d) = %d can be told to lie in [%g, %g]; hidden %v",
					cells, threshold, i, j, res.Values[i][j], lo, hi, res.Hidden)
			}
		}
	}
}

// TestProtectionInterval: tables where cycle-closing alone published a
// row 9, *, *, 10 (its two hidden cells summing to 1), among them the
// attendance of `bethel-sample -rows 120 -bethels 10 -seed 4`, and many
// generated attendance-shaped tables: no hidden cell can be narrowed
// below min_cell.
func TestProtectionInterval(t *testing.T) {
	checkIntervals(t, [][]int{{30, 4, 2}, {9, 1, 0}, {25, 6, 0}, {12, 3, 8}, {40, 7, 9}}, 3, 5)
	checkIntervals(t, [][]int{{7, 2, 2}, {5, 1, 3}, {7, 1, 2}, {8, 2, 3}, {5, 6, 2}, {8, 3, 1}, {10, 1, 0}, {7, 1, 5}, {4, 1, 1}, {13, 3, 1}}, 3, 5)
	rng := rand.New(rand.NewSource(12))
	for iter := 0; iter < 300; iter++ {
		n := 1 + rng.Intn(25)
		m := 1 + rng.Intn(4)
		cells := make([][]int, n)
		for i := range cells {
			cells[i] = make([]int, m)
			for j := range cells[i] {
				cells[i][j] = rng.Intn([]int{3, 8, 40}[rng.Intn(3)])
			}
		}
		checkIntervals(t, cells, m, []int{2, 5, 10}[rng.Intn(3)])
	}
}
