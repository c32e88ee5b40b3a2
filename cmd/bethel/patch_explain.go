package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"bethel/pkg/cache"
	"bethel/pkg/graph"
	"bethel/pkg/patch"
	"bethel/pkg/pipeline"
)

// The engine knows a patch file by its hash only, so it tells a patch
// file's edit as a typed graph.FileChange (kind patch, the file, the old
// and the new hash). To name the patches instead, the
// CLI keeps, for every patch file content a build read, the list of its
// entries: one line "ID DIGEST" per [[patch]] in file order, where DIGEST
// hashes everything the entry says (not where it is written). The lists live
// in .bethel/state/patch-ids/, one file named by the patch file's full hash,
// so a content seen once is never parsed again. --explain finds the old and
// the new list by the change's hashes and diffs them by id.
// Ids only: a reason or a value may be private, a digest says nothing.

// patchIDsDir is where the entry lists are kept.
func patchIDsDir(root string) string {
	return filepath.Join(root, graph.StateDir, "state", "patch-ids")
}

// patchEntry is one [[patch]] entry's id and the digest of its content.
type patchEntry struct{ id, digest string }

// entryDigest hashes what an entry does, leaving out where it is written,
// so moving an entry or editing a comment changes no digest.
func entryDigest(p *patch.Patch) string {
	strip := func(fs []patch.Field) []patch.Field {
		out := make([]patch.Field, len(fs))
		for i, f := range fs {
			out[i] = patch.Field{Name: f.Name, Value: f.Value}
		}
		return out
	}
	b, _ := json.Marshal(struct {
		Target, Kind, Reason, Author, Date string
		Match, Expect, Values              []patch.Field
		Many, AfterLock                    bool
	}{p.Target, string(p.Kind), p.Reason, p.Author, p.Date, strip(p.Match), strip(p.Expect), strip(p.Values), p.Many, p.AfterLock})
	return cache.Sum(b).Short()
}

// patchEntries returns the entry list of the patch file content whose hash
// starts with short: the kept list, or else the file as it is now when its
// hash matches (kept for next time when write is set). ok is false when
// neither is there (a build by an older bethel, or a file edited since).
// sum is the file's hash as read now, or "" when the kept list answered
// without reading it.
func patchEntries(root, file, short string, write bool) (ents []patchEntry, sum string, ok bool) {
	dir := patchIDsDir(root)
	if short != "" {
		if m, _ := filepath.Glob(filepath.Join(dir, short+"*")); len(m) == 1 {
			if data, err := os.ReadFile(m[0]); err == nil {
				return parseEntryList(data), "", true
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
	if err != nil {
		return nil, "", false
	}
	sum = cache.Sum(data).String()
	if short != "" && !strings.HasPrefix(sum, short) {
		return nil, sum, false
	}
	kept := filepath.Join(dir, sum)
	if short == "" {
		if _, err := os.Stat(kept); err == nil {
			return nil, sum, true
		}
	}
	ps, err := patch.Parse(file, data)
	if err != nil {
		return nil, sum, false
	}
	var b bytes.Buffer
	for _, p := range ps {
		e := patchEntry{p.ID, entryDigest(p)}
		ents = append(ents, e)
		fmt.Fprintf(&b, "%s %s\n", e.id, e.digest)
	}
	if write && os.MkdirAll(dir, 0o700) == nil {
		cache.WriteFile(kept, b.Bytes(), 0o600)
	}
	return ents, sum, true
}

func parseEntryList(data []byte) []patchEntry {
	var ents []patchEntry
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if id, d, ok := strings.Cut(l, " "); ok {
			ents = append(ents, patchEntry{id, d})
		}
	}
	return ents
}

// recordPatchEntries keeps the entry list of every patch file of the
// pipeline as it is now, for the next build's --explain. With prune (a
// build of every node that failed nowhere: each node's key now names the
// current contents) the lists of other contents go, so the directory holds
// one list per patch file rather than one per edit ever built.
func recordPatchEntries(p *pipeline.Pipeline, prune bool) {
	seen := map[string]bool{}
	keep := map[string]bool{}
	for _, n := range p.Order {
		for _, f := range n.PatchFiles {
			if !seen[f] {
				seen[f] = true
				// The file is read and hashed once: its sum names the list to keep.
				if _, sum, _ := patchEntries(p.Root, f, "", true); sum != "" {
					keep[sum] = true
				} else {
					prune = false
				}
			}
		}
	}
	if !prune {
		return
	}
	dir := patchIDsDir(p.Root)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !keep[e.Name()] {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// maxPatchIDs bounds how many ids one --explain line lists.
const maxPatchIDs = 10

// explainReasons renders a node's reasons as --explain and status print
// them: each patch file's edit (a typed change of kind patch) as the ids
// of the patches changed, added or removed in it, every other reason, or
// one whose entry lists are not known, as the engine tells it.
func explainReasons(root string, reasons []string, changes []graph.FileChange, write bool) []string {
	out := make([]string, 0, len(reasons))
	for i, r := range reasons {
		lines := []string{r}
		for _, c := range changes {
			if c.Reason == i {
				lines = explainPatchChange(root, c, r, write)
			}
		}
		out = append(out, lines...)
	}
	return out
}

// explainPatchChange tells the change c of a patch file (the engine's
// reason) as the ids of the patches added, removed or changed in it; a
// change of another kind, or one whose lists are not known, is the
// reason as it is.
func explainPatchChange(root string, c graph.FileChange, reason string, write bool) []string {
	if c.Kind != "patch" || c.Old == "" || c.New == "" {
		return []string{reason}
	}
	file := c.Path
	old, _, ok1 := patchEntries(root, file, c.Old, false)
	cur, _, ok2 := patchEntries(root, file, c.New, write)
	if !ok1 || !ok2 {
		return []string{reason}
	}
	oldDigest := make(map[string]string, len(old))
	for _, e := range old {
		oldDigest[e.id] = e.digest
	}
	curIDs := make(map[string]bool, len(cur))
	var added, changed, removed []string
	for _, e := range cur {
		curIDs[e.id] = true
		switch d, ok := oldDigest[e.id]; {
		case !ok:
			added = append(added, e.id)
		case d != e.digest:
			changed = append(changed, e.id)
		}
	}
	for _, e := range old {
		if !curIDs[e.id] {
			removed = append(removed, e.id)
		}
	}
	var r []string
	for _, g := range []struct {
		verb string
		ids  []string
	}{{"changed", changed}, {"added", added}, {"removed", removed}} {
		if len(g.ids) > 0 {
			r = append(r, fmt.Sprintf("%s %s in %s", patchWord(g.ids), g.verb, file))
		}
	}
	if len(r) > 0 {
		return r
	}
	// No id came or went and none changed: the ids are the same set.
	for i := range old {
		if old[i].id != cur[i].id {
			return []string{fmt.Sprintf("patches reordered in %s (they apply in file order)", file)}
		}
	}
	return []string{fmt.Sprintf("patch file %s changed, no patch in it (comments or layout)", file)}
}

// patchWord is "patch a", "patches a, b" or the first maxPatchIDs ids and
// how many more.
func patchWord(ids []string) string {
	if len(ids) == 1 {
		return "patch " + ids[0]
	}
	s := ids
	more := ""
	if len(s) > maxPatchIDs {
		more = fmt.Sprintf(" and %d more", len(s)-maxPatchIDs)
		s = s[:maxPatchIDs]
	}
	return "patches " + strings.Join(s, ", ") + more
}
