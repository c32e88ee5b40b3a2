package stages

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestRowUnionIsMergeSorted checks the bitmap union of a session's row
// lists against mergeSorted on disjoint ascending lists of every shape:
// empty ones, one list, rows at word edges, a bitmap reused after a
// larger union.
func TestRowUnionIsMergeSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var u rowUnion
	for iter := 0; iter < 2000; iter++ {
		n := rng.IntN(400)
		k := 1 + rng.IntN(6)
		lists := make([][]int, k)
		for row := 0; row < n; row++ {
			if rng.IntN(3) == 0 {
				continue // a row of a bethel not in the session
			}
			l := rng.IntN(k)
			lists[l] = append(lists[l], row)
		}
		if iter%7 == 0 {
			lists = append(lists, nil)
		}
		got, want := u.of(lists), mergeSorted(lists...)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("lists %v: union %v, mergeSorted %v", lists, got, want)
		}
	}
}
