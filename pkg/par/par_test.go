package par

import (
	"sync/atomic"
	"testing"
)

// TestGo: every index is worked exactly once, by at most the workers
// asked for, each with its own work function; wait waits for all.
func TestGo(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{0, 2}, {1, 2}, {1000, 2}, {7, 1}, {5, 0}, {3, 8}} {
		counts := make([]atomic.Int32, tc.n)
		var made atomic.Int32
		wait := Go(tc.n, tc.workers, func() func(int) {
			made.Add(1)
			mine := 0 // per-worker state
			return func(i int) {
				mine++
				counts[i].Add(1)
			}
		})
		wait()
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("n %d workers %d: index %d worked %d times", tc.n, tc.workers, i, c)
			}
		}
		if want := int32(max(tc.workers, 1)); made.Load() != want {
			t.Errorf("n %d workers %d: %d work functions made, want %d", tc.n, tc.workers, made.Load(), want)
		}
	}
}
