// Package stages holds bethel's built-in stages for event data: normalizing
// registration exports, applying patches, enriching the program and building
// every summary. Each stage lives in its own file and registers itself in
// init; the engine finds them through Registry and sees only the
// stage.Stage interface. Nothing here knows the cache, the graph or the
// disk layout beyond the paths a stage.Run hands over.
package stages

import (
	"sort"
	"sync"

	"bethel/pkg/stage"
)

var (
	mu       sync.Mutex
	builtins []stage.Stage
	registry *stage.Registry
)

// register adds a built-in stage; stage files call it from init.
func register(s stage.Stage) {
	mu.Lock()
	defer mu.Unlock()
	builtins = append(builtins, s)
	registry = nil
}

// Registry returns every built-in stage.
func Registry() *stage.Registry {
	mu.Lock()
	defer mu.Unlock()
	if registry == nil {
		all := append([]stage.Stage(nil), builtins...)
		sort.Slice(all, func(i, j int) bool { return all[i].Name() < all[j].Name() })
		registry = stage.NewRegistry(all...)
	}
	return registry
}
