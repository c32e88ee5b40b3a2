package graph

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"

	"bethel/pkg/cache"
	"bethel/pkg/pipeline"
)

// The clean fingerprint lets a no-op build prove itself with stat(2) alone,
// as ninja does, instead of recomputing every action key.
//
// A full build in which every node was already up to date writes
// .bethel/state/clean: the BLAKE3 hash of the boot id (stat data is only
// trusted within one boot, see cache.StatCache), the bethel version, every stage's
// name and version, the pipeline file's content (the hash its loader took,
// Pipeline.SourceSum), and, node by node in
// pipeline order, the path and stat data (size, modification time in
// nanoseconds, inode, change time) of every input, patch and output, then
// the stat data of the journal and of the cache's action log (which holds
// the outputs' lineage), and the modification time of the provenance
// records' directory. The next full build stats the same files
// (which it must do anyway) and, if the hash is the same, knows that
// nothing any action key depends on changed, no output was touched and no
// run was recorded since: every node is up to date. Any difference, a
// missing file or a damaged fingerprint falls back to deciding every node.
//
// Safety: the fingerprint is not written when any file's modification or
// change time is at or after the time stamp the lock file got when this
// build took the lock, before anything was stat'ed (git's racy-clean rule:
// a file changed in the same clock tick as the stat could change again in
// that tick and keep its stat data). Nor is it written after a build that
// ran, restored or failed anything, nor for a build of selected targets. A
// run, even a failed one, appends to the journal and so changes the
// journal's stat data.

const cleanHeader = "bethel-clean 1\n"

func cleanPath(root string) string { return filepath.Join(root, StateDir, "state", "clean") }

// fpBuf is how many bytes of the fingerprint's lines are gathered before
// they go to the hasher.
const fpBuf = 16 << 10

// fingerprint hashes what a no-op build depends on, from the stats
// prestatWait took. ok is false when a file changed at or after ref (the
// lock's time stamp; 0: never ok): the fingerprint can be compared but must
// not be written.
func (e *engine) fingerprint(nodes []*pipeline.Node, ref int64) (fp cache.Hash, ok bool) {
	// The pipeline as loaded: by the hash its loader took, or else by
	// the file's content now.
	srcSum := e.p.SourceSum
	if srcSum == ([32]byte{}) {
		src, err := os.ReadFile(filepath.Join(e.root, filepath.FromSlash(e.p.File)))
		if err != nil {
			return cache.Hash{}, false
		}
		srcSum = cache.Sum(src)
	}
	// The lines go to the hasher through a small buffer: the whole of
	// them, about 130 bytes a node, was fresh memory, and every page of it
	// a page fault (32 at 1000 nodes).
	h := cache.NewHasher()
	b := make([]byte, 0, fpBuf+4096)
	b = append(b, cleanHeader...)
	b = append(b, cache.BootID()...) // stat data is trusted within one boot only
	b = append(b, 0)
	b = append(b, e.opts.Version...)
	b = append(b, 0)
	if e.opts.NoLineage { // a build with lineage is not one without it
		b = append(b, "lineage off"...)
		b = append(b, 0)
	}
	for _, name := range e.opts.Registry.Names() {
		st, _ := e.opts.Registry.Lookup(name)
		b = append(b, name...)
		b = append(b, ' ')
		b = append(b, st.Version()...)
		b = append(b, 0)
	}
	b = append(b, e.p.File...)
	b = append(b, srcSum[:]...)
	ok = ref > 0
	// The stats come in the order prestatWait took them for these nodes.
	k := 0
	add := func(kind byte, p string) {
		var st cache.FileStat
		if k < len(e.preOcc) && e.prePaths[e.preOcc[k]] == p {
			st = e.preStats[e.preOcc[k]]
		} else {
			st = cache.Stat(e.abs(p))
		}
		k++
		if st.ChangedSince(ref) {
			ok = false
		}
		b = append(b, kind)
		b = append(b, p...)
		b = append(b, 0)
		b = st.AppendTo(b)
		if len(b) >= fpBuf {
			h.Write(b)
			b = b[:0]
		}
	}
	for _, n := range nodes {
		b = append(b, 'N')
		b = append(b, n.Name...)
		b = append(b, 0)
		for _, p := range n.InputFiles {
			add('i', p)
		}
		for _, p := range n.PatchFiles {
			add('p', p)
		}
		for _, p := range n.Outputs {
			add('o', p)
		}
	}
	js := cache.Stat(journalPath(e.root))
	if js.Err() != nil || js.ChangedSince(ref) {
		ok = false
	}
	b = append(b, 'J')
	b = js.AppendTo(b)
	// The action log holds the nodes' lineage: one lost or rewritten since
	// (a truncated file, gc) means deciding every node again.
	as := cache.Stat(filepath.Join(cacheDir(e.root), "actions"))
	if as.ChangedSince(ref) {
		ok = false
	}
	b = append(b, 'A')
	b = as.AppendTo(b)
	// The provenance records: their directory removed, or its log (or an
	// earlier version's shard) added, removed or rewritten since, means
	// deciding every node (each checks its records).
	if fi, err := os.Stat(provenanceDir(e.root)); err == nil {
		t := fi.ModTime().UnixNano()
		if t >= ref {
			ok = false
		}
		b = append(b, 'P')
		b = binary.LittleEndian.AppendUint64(b, uint64(t))
	} else {
		b = append(b, 'p')
	}
	h.Write(b)
	return h.Sum(), ok
}

// cleanMatches reports whether the stored fingerprint is fp.
func cleanMatches(root string, fp cache.Hash) bool {
	b, err := os.ReadFile(cleanPath(root))
	if err != nil || !bytes.HasPrefix(b, []byte(cleanHeader)) {
		return false
	}
	h, err := cache.ParseHash(string(bytes.TrimSpace(b[len(cleanHeader):])))
	return err == nil && h == fp
}

// writeClean stores fp. It needs no fsync: a lost or torn fingerprint is
// a mismatch, and the next build decides every node.
func writeClean(root string, fp cache.Hash) error {
	f, err := cache.Create(cleanPath(root), 0o600)
	if err != nil {
		return err
	}
	f.NoSync = true
	defer f.Abort()
	if _, err := f.Write([]byte(cleanHeader + fp.String() + "\n")); err != nil {
		return err
	}
	return f.Commit()
}

// allUpToDate returns the result of a build in which every node was up to
// date, emitting the events a decided build would.
func (e *engine) allUpToDate(nodes []*pipeline.Node) *Result {
	res := &Result{Nodes: make([]NodeResult, len(nodes)), UpToDate: make([]string, len(nodes))}
	for i, n := range nodes {
		res.Nodes[i] = NodeResult{Name: n.Name, Status: UpToDate}
		res.UpToDate[i] = n.Name
		e.emit(Event{Kind: Finish, Node: n.Name, Status: UpToDate, Done: i + 1, Total: len(nodes)})
	}
	return res
}
