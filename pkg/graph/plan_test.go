package graph

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// drive runs a plan to the end with one worker, deciding every ready node
// stale, and returns the order nodes were handed out, the skipped ones and
// the ones never finished. fail lists the nodes whose run fails.
func drive(deps [][]int, keepGoing bool, fail ...int) (order, skipped, never []int) {
	p := newPlan(deps, nil, keepGoing)
	for {
		for {
			i, ok := p.nextReady()
			if !ok {
				break
			}
			p.enqueue(i)
		}
		i, ok := p.nextQueued()
		if !ok {
			break
		}
		order = append(order, i)
		skipped = append(skipped, p.finish(i, slices.Contains(fail, i))...)
	}
	return order, skipped, p.unfinished()
}

func TestPlan(t *testing.T) {
	// 0 -> 1 -> 2 -> 3 (a chain), 4 a leaf, 5 after 0 and 4.
	dag := [][]int{{}, {0}, {1}, {2}, {}, {0, 4}}
	for _, c := range []struct {
		name                  string
		deps                  [][]int
		keepGoing             bool
		fail                  []int
		order, skipped, never string
	}{
		{"every node once, the longest chain first, ties in queue order", dag, false, nil, "[0 1 4 2 5 3]", "[]", "[]"},
		{"a failure skips what depends on it and stops", dag, false, []int{1}, "[0 1]", "[2 3]", "[4 5]"},
		{"with -k the rest runs", dag, true, []int{1}, "[0 1 4 5]", "[2 3]", "[]"},
		{"a failed leaf skips its one dependent", dag, true, []int{4}, "[0 1 4 2 3]", "[5]", "[]"},
		{"diamond: a shared dependency waits for both", [][]int{{}, {0}, {0}, {1, 2}}, false, nil, "[0 1 2 3]", "[]", "[]"},
		{"no nodes", nil, false, nil, "[]", "[]", "[]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			order, skipped, never := drive(c.deps, c.keepGoing, c.fail...)
			got := fmt.Sprint(orEmpty(order), orEmpty(skipped), orEmpty(never))
			want := strings.Join([]string{c.order, c.skipped, c.never}, " ")
			if got != want {
				t.Fatalf("order, skipped, never = %s, want %s", got, want)
			}
		})
	}
}

// TestPlanWeighedCriticalPath: weighed by what their runs took, a slow
// leaf goes before a chain of quick nodes (the roster before the
// summaries the site reads), and a chain that weighs more than the leaf
// still goes first.
func TestPlanWeighedCriticalPath(t *testing.T) {
	// 0 feeds everything; 1 is a leaf; 2 -> 3 -> 4 is a chain.
	deps := [][]int{{}, {0}, {0}, {2}, {3}}
	for _, c := range []struct {
		name   string
		weight []int64
		first  int
	}{
		{"no times: the longest chain by count", nil, 2},
		{"a slow leaf before quick summaries", []int64{150, 230, 17, 7, 65}, 1},
		{"a chain heavier than the leaf", []int64{150, 80, 17, 7, 65}, 2},
		{"an unknown time weighs one", []int64{150, 0, 1, 1, 1}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPlan(deps, c.weight, false)
			i, _ := p.nextReady()
			p.enqueue(i)
			if i, _ := p.nextQueued(); i != 0 {
				t.Fatalf("first %d, want 0", i)
			}
			p.finish(0, false)
			for {
				i, ok := p.nextReady()
				if !ok {
					break
				}
				p.enqueue(i)
			}
			if i, _ := p.nextQueued(); i != c.first {
				t.Errorf("after 0, handed out %d, want %d", i, c.first)
			}
		})
	}
}

func orEmpty(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// TestPlanCriticalPathFirst: of two queued nodes the one with the longer
// chain below it gets the worker, whatever order they were queued in.
func TestPlanCriticalPathFirst(t *testing.T) {
	// 0 is a leaf; 1 starts a chain of three.
	p := newPlan([][]int{{}, {}, {1}, {2}}, nil, false)
	for {
		i, ok := p.nextReady()
		if !ok {
			break
		}
		p.enqueue(i)
	}
	if i, _ := p.nextQueued(); i != 1 {
		t.Fatalf("first handed out %d, want 1 (the head of the longest chain)", i)
	}
	p.stop()
	if _, ok := p.nextQueued(); ok {
		t.Fatal("a stopped plan handed out a node")
	}
	if !p.idle() || !slices.Equal(p.unfinished(), []int{0, 1, 2, 3}) {
		t.Fatalf("after stop: idle %v, unfinished %v", p.idle(), p.unfinished())
	}
}
