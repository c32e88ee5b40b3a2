// Package suppresstest checks a suppressed table from outside: the exact
// range an adversary can deduce for each hidden cell, solved as linear
// programs (gonum), independently of pkg/suppress's own flow computation.
// Tests of pkg/suppress and of the stages that publish suppressed tables
// use it.
package suppresstest

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"

	"bethel/pkg/suppress"
)

// LPInterval solves, as two linear programs, the range an adversary can
// deduce for hidden cell (ci, cj) from everything res publishes: the
// visible cells, the extended table's equations (every row and column
// total, the TOTAL row), and that counts are not negative. It is
// independent of the flows suppress.Interval uses. hi is +Inf when
// unbounded. A table that publishes less than all of res has a range at
// least as wide.
func LPInterval(res suppress.Result, ci, cj int) (lo, hi float64, err error) {
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
		return 0, math.Inf(1), nil
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
	if lo, err = solve(1); err != nil {
		return 0, 0, fmt.Errorf("min of (%d,%d): %w", ci, cj, err)
	}
	hi, err = solve(-1)
	if errors.Is(err, lp.ErrUnbounded) {
		return lo, math.Inf(1), nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("max of (%d,%d): %w", ci, cj, err)
	}
	return lo, hi, nil
}

// pivot is the index of v's first non-zero entry, -1 for none.
func pivot(v []float64) int {
	for i, x := range v {
		if math.Abs(x) > 1e-9 {
			return i
		}
	}
	return -1
}
