package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"bethel/pkg/cache"
	"bethel/pkg/graph"
	"bethel/pkg/provenance"
	"bethel/pkg/stage"
)

// runCachePush uploads the entries behind the workspace's current outputs
// to the shared cache. A build uploads only what it runs, so a workspace
// built before the shared cache was configured would otherwise share
// nothing until its inputs change.
func runCachePush(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("cache push", flag.ContinueOnError)
	ws := addWorkspaceFlags(fs)
	rf := addRemoteFlags(fs)
	fs.Usage = usageFunc(fs, "bethel cache push [-C DIR] [-f FILE] [--remote-cache URL]",
		"Uploads to the shared cache the cache entry of every node whose outputs are as the last\n"+
			"build left them (private nodes only encrypted to the workspace's recipients, and not at\n"+
			"all without them). Entries the server has are not sent again. Writes nothing locally.")
	rest, err := parseFlags(fs, env, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("cache push: unexpected argument %q", rest[0])
	}
	p, err := ws.loadReadOnly(env)
	if err != nil {
		return err
	}
	sc, err := sharedCacheFor(rf, p, env.Stderr)
	if err != nil {
		return err
	}
	if sc == nil {
		return usagef("cache push: no shared cache: give --remote-cache URL, set %s, or url in %s", remoteEnv, "config/remote-cache.toml")
	}
	if rf.upload.set && !rf.upload.v {
		return usagef("cache push: --remote-cache-upload=false leaves nothing to do")
	}
	sc.opts.Upload = true
	root := p.Root
	store := cache.OpenReadOnly(filepath.Join(root, graph.StateDir, "cache"))
	recs := provenance.OpenStore(filepath.Join(root, filepath.FromSlash(graph.ProvenanceDir)))
	// A node is private for the upload when the pipeline or the level the
	// engine recorded for its outputs at the last build says so: no build
	// runs here to classify it again.
	private := map[string]bool{}
	sc.opts.Private = func(node string) bool { v, ok := private[node]; return v || !ok }
	type entry struct {
		node string
		key  cache.Hash
		m    *cache.Manifest
	}
	var (
		todo  []entry
		stale []string
	)
	for _, n := range p.Order {
		var key cache.Hash
		ok := len(n.Outputs) > 0
		for _, o := range n.Outputs {
			h, _, err := cache.HashFile(filepath.Join(root, filepath.FromSlash(o)))
			var rec *provenance.Record
			if err == nil {
				rec, err = recs.Get(o, h)
			}
			if err != nil || rec.Node != n.Name || (!key.IsZero() && rec.ActionKey != key) {
				ok = false
				break
			}
			key = rec.ActionKey
			private[n.Name] = private[n.Name] || n.Visibility == stage.Private ||
				rec.Visibility != string(stage.Internal) && rec.Visibility != string(stage.Public)
		}
		var m *cache.Manifest
		if ok {
			m, err = store.GetManifest(key)
			ok = err == nil
		}
		if !ok {
			stale = append(stale, n.Name)
			continue
		}
		todo = append(todo, entry{n.Name, key, m})
	}
	// The uploads read private from other goroutines: it is complete now.
	c := sc.client()
	for _, t := range todo {
		c.Upload(t.node, t.key, t.m, store)
	}
	s := c.Wait(sc.wait)
	fmt.Fprintf(env.Stdout, "bethel: shared cache: %d uploaded, %d already there, %d given up", s.Uploaded, s.Present, s.GivenUp)
	if s.KeptLocal > 0 {
		fmt.Fprintf(env.Stdout, ", %d private kept local (no recipients in config/remote-cache.toml)", s.KeptLocal)
	}
	fmt.Fprintln(env.Stdout)
	if len(stale) > 0 {
		fmt.Fprintf(env.Stdout, "bethel: not pushed (not built, or changed since the last build): %s\n", joinNames(stale))
	}
	if c.Down() || s.GivenUp > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}
