package graph

// plan is ninja's Plan for one build: which nodes are ready (every node
// they depend on has finished), which stale ones wait for a worker and in
// what order they get one, and what a failure skips. It knows node indices
// only (no disk, no stage, no clock), so it is tested on its own; the
// Builder (schedule) decides, runs and reports.
type plan struct {
	waiting    []int   // dependencies not finished yet, per node
	dependents [][]int // the nodes that depend on each node
	// height is the heaviest chain of dependents from a node down, each
	// node weighing what its last run took (ninja's critical path): a
	// stale node waiting for a worker goes first when its height is
	// greater, because the critical path decides the build's wall time.
	// A leaf that takes long (the check-in roster and its workbook) goes
	// before a chain of quick summaries, which share the other core.
	height    []int64
	finished  []bool
	ready     []int // every dependency finished, not decided yet
	queue     []int // decided stale, waiting for a worker
	keepGoing bool
	stopped   bool
}

// newPlan makes the plan of nodes 0..len(deps)-1, where deps[i] lists the
// nodes i depends on (all lower than i: nodes come in build order), and
// weight[i] is what node i costs (nil: 1 each, the longest chain by count).
func newPlan(deps [][]int, weight []int64, keepGoing bool) *plan {
	n := len(deps)
	p := &plan{
		waiting:    make([]int, n),
		dependents: make([][]int, n),
		height:     make([]int64, n),
		finished:   make([]bool, n),
		keepGoing:  keepGoing,
	}
	for i, ds := range deps {
		for _, d := range ds {
			p.waiting[i]++
			p.dependents[d] = append(p.dependents[d], i)
		}
	}
	for i := n - 1; i >= 0; i-- {
		below := int64(0)
		for _, k := range p.dependents[i] {
			below = max(below, p.height[k])
		}
		w := int64(1)
		if weight != nil {
			w = max(weight[i], 1)
		}
		p.height[i] = below + w
	}
	for i := range n {
		if p.waiting[i] == 0 {
			p.ready = append(p.ready, i)
		}
	}
	return p
}

// nextReady returns a node whose dependencies have all finished, to be
// decided, in build order; false when there is none or the plan stopped.
func (p *plan) nextReady() (int, bool) {
	for !p.stopped && len(p.ready) > 0 {
		i := p.ready[0]
		p.ready = p.ready[1:]
		if !p.finished[i] {
			return i, true
		}
	}
	return 0, false
}

// enqueue puts a decided, stale node in line for a worker.
func (p *plan) enqueue(i int) { p.queue = append(p.queue, i) }

// nextQueued returns the queued node with the heaviest chain from it down
// (the first queued among equals); false when none waits or the plan
// stopped.
func (p *plan) nextQueued() (int, bool) {
	if p.stopped || len(p.queue) == 0 {
		return 0, false
	}
	best := 0
	for q := range p.queue {
		if p.height[p.queue[q]] > p.height[p.queue[best]] {
			best = q
		}
	}
	i := p.queue[best]
	p.queue = append(p.queue[:best], p.queue[best+1:]...)
	return i, true
}

// finish records that node i is done. Its dependents whose last dependency
// it was become ready. A failure instead returns every node downstream of
// i that had not finished, now finished as skipped, and stops the plan
// unless it keeps going.
func (p *plan) finish(i int, failed bool) (skipped []int) {
	p.finished[i] = true
	if !failed {
		for _, k := range p.dependents[i] {
			p.waiting[k]--
			if p.waiting[k] == 0 && !p.finished[k] {
				p.ready = append(p.ready, k)
			}
		}
		return nil
	}
	var skip func(int)
	skip = func(j int) {
		for _, k := range p.dependents[j] {
			if !p.finished[k] {
				p.finished[k] = true
				skipped = append(skipped, k)
				skip(k)
			}
		}
	}
	skip(i)
	if !p.keepGoing {
		p.stopped = true
	}
	return skipped
}

// stop ends the plan: nothing more is ready or handed out (an interrupt).
func (p *plan) stop() { p.stopped = true }

// idle reports whether nothing is left to decide or hand out.
func (p *plan) idle() bool { return p.stopped || (len(p.ready) == 0 && len(p.queue) == 0) }

// unfinished lists the nodes that never finished, in build order.
func (p *plan) unfinished() []int {
	var out []int
	for i, f := range p.finished {
		if !f {
			out = append(out, i)
		}
	}
	return out
}
