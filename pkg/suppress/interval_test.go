package suppress_test

import (
	"math"
	"math/rand"
	"testing"

	"bethel/pkg/suppress"
	"bethel/pkg/suppress/suppresstest"
)

// checkIntervals: for every hidden cell, the exact range (linear
// programming) equals Interval's, holds the true value, and is at least
// threshold wide.
func checkIntervals(t *testing.T, cells [][]int, m, threshold int) {
	t.Helper()
	res := suppress.Suppress(cells, m, threshold)
	for i := range res.Hidden {
		for j, h := range res.Hidden[i] {
			if !h {
				continue
			}
			lo, hi, err := suppresstest.LPInterval(res, i, j)
			if err != nil {
				t.Fatal(err)
			}
			glo, ghi := suppress.Interval(res, i, j)
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
