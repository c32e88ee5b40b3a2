// Package par shares a loop's iterations among a few goroutines. The
// engine, the lineage walk and the review site each split a list of
// independent jobs (blobs to read, row sets to resolve, index lists to
// encode) over the machine's cores the same way: each goroutine takes the
// next undone index until none is left.
package par

import (
	"sync"
	"sync/atomic"
)

// Go starts workers goroutines that together call work(i) once for every
// i in [0, n), each taking the next index in turn. newWorker is called
// once per goroutine and returns that goroutine's work function, so that
// it can keep buffers of its own. wait returns once every call has
// returned; a caller that needs nothing from the work may drop it.
func Go(n, workers int, newWorker func() (work func(i int))) (wait func()) {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range max(workers, 1) {
		wg.Go(func() {
			work := newWorker()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				work(i)
			}
		})
	}
	return wg.Wait
}
