package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"bethel/pkg/csvio"
	"bethel/pkg/graph"
	"bethel/pkg/pipeline"
	"bethel/pkg/stages"
)

// builtImpactMethod says how `bethel patches --impact --exact` finds the
// cells.
const builtImpactMethod = "built with and without each patch in a scratch copy of the workspace (the program lock lifted " +
	"there, so that a program patch's effect is measured, not the lock's verdict): a cell is listed when " +
	"its value differs (cells a record left because of the patch included); rows are matched by the first column " +
	"whose values are unique in both builds, and positions are those of the build with every patch " +
	"(the outputs `bethel make` writes from the current inputs)"

// exactImpact answers --impact by building: once with every patch (the
// baseline), then once per patch without it, in a scratch copy of the
// workspace's sources, and comparing every output with the baseline's.
// Lineage cannot see a cell that lost a record (it no longer derives from
// it); a build without the patch can. Each build after the first reruns
// only what the patch reaches, as `bethel make` would.
func exactImpact(ctx context.Context, p *pipeline.Pipeline, reports []nodeReport) (*patchImpact, error) {
	// The copy holds the private export, so it lives in the workspace's
	// own state directory (never a shared temporary one); a copy left by
	// a killed run is removed by a later run once it is a day old (a
	// younger one may belong to a run still going).
	state := filepath.Join(p.Root, graph.StateDir)
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, err
	}
	old, _ := filepath.Glob(filepath.Join(state, "impact-*"))
	for _, d := range old {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
			os.RemoveAll(d)
		}
	}
	scratch, err := os.MkdirTemp(state, "impact-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	for _, f := range append([]string{p.File}, p.Sources...) {
		if err := copyFile(filepath.Join(p.Root, f), filepath.Join(scratch, f)); err != nil {
			return nil, err
		}
		// The lock guards the program; in the copy it would fail every
		// build without a program patch, whose effect is what is measured.
		if filepath.Base(f) == stages.ProgramLockFile {
			if err := os.WriteFile(filepath.Join(scratch, f), stages.UnlockedProgram(), 0o600); err != nil {
				return nil, err
			}
		}
	}
	var sp *pipeline.Pipeline
	build := func() error {
		// Loaded for every build: a patch file left without entries is
		// removed, and the globs must no longer find it.
		var err error
		if sp, err = pipeline.Load(scratch, p.File, stages.Registry().Names()); err != nil {
			return err
		}
		opts := graph.Options{Version: Version, Registry: stages.Registry()}
		res, err := graph.Build(ctx, sp, opts)
		if res != nil {
			for _, n := range res.Nodes {
				if n.Err != nil {
					return n.Err
				}
			}
		}
		return err
	}
	if err := build(); err != nil {
		return nil, fmt.Errorf("building the current inputs failed, so no patch's impact can be measured (run bethel make): %v", err)
	}
	base := map[string][]byte{}
	var outputs []string
	for _, n := range sp.Order {
		for _, o := range n.Outputs {
			b, err := os.ReadFile(filepath.Join(scratch, o))
			if err != nil {
				return nil, err
			}
			base[o] = b
			outputs = append(outputs, o)
		}
	}
	imp := &patchImpact{Method: builtImpactMethod, Cells: map[string][]string{}}
	for _, nr := range reports {
		for _, e := range nr.Report.Patches {
			file := filepath.Join(scratch, e.File)
			orig, err := os.ReadFile(file)
			if err != nil {
				return nil, err
			}
			without, ok := withoutEntry(orig, e.Line)
			if !ok {
				imp.Skipped = append(imp.Skipped, fmt.Sprintf("%s: no [[patch]] entry at %s:%d", e.ID, e.File, e.Line))
				imp.NotMeasured = append(imp.NotMeasured, e.ID)
				continue
			}
			if len(bytes.TrimSpace(without)) == 0 || !bytes.Contains(without, []byte("[[patch]]")) {
				err = os.Remove(file) // a patch file without entries is an error
			} else {
				err = os.WriteFile(file, without, 0o600)
			}
			if err != nil {
				return nil, err
			}
			berr := build()
			if err := os.WriteFile(file, orig, 0o600); err != nil {
				return nil, err
			}
			if ctx.Err() != nil { // interrupted: not a patch's doing
				return nil, ctx.Err()
			}
			if berr != nil {
				// Another patch needs this one (a set on a record it adds):
				// without it there is no build to compare.
				imp.Skipped = append(imp.Skipped, fmt.Sprintf("%s: the build fails without it (%s)", e.ID, firstLine(berr.Error())))
				imp.NotMeasured = append(imp.NotMeasured, e.ID)
				continue
			}
			cells := []string{}
			for _, o := range outputs {
				b, err := os.ReadFile(filepath.Join(scratch, o))
				if err != nil {
					return nil, err
				}
				cells = append(cells, diffOutput(o, base[o], b)...)
			}
			sortTargets(cells)
			imp.Cells[e.ID] = cells
		}
	}
	return imp, nil
}

// sortTargets sorts targets by path, then row number, then the rest, so
// that row 5 comes before row 10.
func sortTargets(ts []string) {
	row := func(t string) (string, int, string) {
		path, rest, _ := strings.Cut(t, ":")
		num, col, _ := strings.Cut(rest, ":")
		n, err := strconv.Atoi(num)
		if err != nil {
			return path, -1, rest
		}
		return path, n, col
	}
	sort.SliceStable(ts, func(i, j int) bool {
		pi, ni, ci := row(ts[i])
		pj, nj, cj := row(ts[j])
		if pi != pj {
			return pi < pj
		}
		if ni != nj {
			return ni < nj
		}
		return ci < cj
	})
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// withoutEntry returns a patch file without the [[patch]] entry whose
// header is on line (1-based): its lines up to the next [[patch]] header.
// Other entries keep their text, so their ids and positions are unchanged
// but for the lines that follow.
func withoutEntry(data []byte, line int) ([]byte, bool) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	header := func(l []byte) bool { return bytes.HasPrefix(bytes.TrimSpace(l), []byte("[[patch]]")) }
	if line < 1 || line > len(lines) || !header(lines[line-1]) {
		return nil, false
	}
	end := line
	for end < len(lines) && !header(lines[end]) {
		end++
	}
	var out []byte
	for i, l := range lines {
		if i < line-1 || i >= end {
			out = append(out, l...)
		}
	}
	return out, true
}

// diffOutput lists what differs between an output with every patch (base)
// and without one (other), as `bethel why` targets in base's positions:
// PATH:ROW:COL cells of a CSV, PATH#/POINTER values of a JSON file, PATH
// for any other file. Values are never printed, so nothing private is.
func diffOutput(path string, base, other []byte) []string {
	if bytes.Equal(base, other) {
		return nil
	}
	switch {
	case strings.HasSuffix(path, ".csv"):
		if cells, ok := diffCSV(path, base, other); ok {
			return cells
		}
	case strings.HasSuffix(path, ".json"):
		var a, b any
		if json.Unmarshal(base, &a) == nil && json.Unmarshal(other, &b) == nil {
			var cells []string
			diffJSON(path+"#", a, b, &cells)
			for i, c := range cells {
				if c == path+"#" { // the whole document differs
					cells[i] = path
				}
			}
			return cells
		}
	}
	return []string{path}
}

// diffCSV compares two tables with the same header, rows matched by the
// first column whose values are unique and non-empty in both (a record
// key), else by position. ok is false when the headers differ.
func diffCSV(path string, base, other []byte) ([]string, bool) {
	h1, r1, err1 := csvio.ReadAll(bytes.NewReader(base), path)
	h2, r2, err2 := csvio.ReadAll(bytes.NewReader(other), path)
	if err1 != nil || err2 != nil || strings.Join(h1, "\x00") != strings.Join(h2, "\x00") {
		return nil, false
	}
	key := -1
	for c := range h1 {
		if uniqueColumn(r1, c) && uniqueColumn(r2, c) {
			key = c
			break
		}
	}
	var cells []string
	matched := map[int]bool{}
	byKey := map[string]int{}
	if key >= 0 {
		for j, r := range r2 {
			byKey[r[key]] = j
		}
	}
	for i, r := range r1 {
		j, ok := i, i < len(r2)
		if key >= 0 {
			j, ok = byKey[r[key]]
		}
		if !ok {
			cells = append(cells, fmt.Sprintf("%s:%d (the whole row: not there without the patch)", path, i+2)) // the header is row 1
			continue
		}
		matched[j] = true
		for c := range h1 {
			if c >= len(r) || c >= len(r2[j]) || r[c] != r2[j][c] {
				cells = append(cells, fmt.Sprintf("%s:%d:%s", path, i+2, h1[c]))
			}
		}
	}
	if gone := len(r2) - len(matched); gone > 0 {
		cells = append(cells, fmt.Sprintf("%s (rows there without the patch, gone with it: %d)", path, gone))
	}
	return cells, true
}

func uniqueColumn(rows [][]string, c int) bool {
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		if c >= len(r) || r[c] == "" || seen[r[c]] {
			return false
		}
		seen[r[c]] = true
	}
	return true
}

// diffJSON appends the JSON pointers (RFC 6901) under at whose values
// differ between a and b.
func diffJSON(at string, a, b any, out *[]string) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			*out = append(*out, at)
			return
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		for _, k := range sortedKeySet(keys) {
			p := at + "/" + strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
			va, inA := x[k]
			vb, inB := y[k]
			if inA != inB {
				*out = append(*out, p)
				continue
			}
			diffJSON(p, va, vb, out)
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			*out = append(*out, at)
			return
		}
		for i := range x {
			diffJSON(fmt.Sprintf("%s/%d", at, i), x[i], y[i], out)
		}
	default:
		if a != b {
			*out = append(*out, at)
		}
	}
}

func sortedKeySet(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
