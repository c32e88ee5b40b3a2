package stages

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/lineage"
	"bethel/pkg/pos"
	"bethel/pkg/stage"
)

// The summary stages share one shape: read the normalized registrations
// (out/private/registrations.csv, canonical fields, active records only),
// count records by some key and by member type, check that the output is
// an aggregation under the privacy declaration, write a CSV and, when the
// engine asks, the lineage of every count cell.

// RegistrationsFile is the input name summary stages look for.
const RegistrationsFile = "registrations.csv"

// regRows is the normalized registrations a summary reads: only the
// columns it asked for, one slice per column, so that a million rows cost
// a few string headers each rather than 22.
type regRows struct {
	file string
	cols map[string][]string
	// lines are the file lines of each row, for error positions.
	lines []int
	n     int
}

func (rr *regRows) col(name string) []string { return rr.cols[name] }

// readRegistrations reads the named canonical columns of the node's
// registrations input. Records whose payment_status is inactive are
// skipped defensively (normalize already leaves them out); skipped rows
// still count toward row numbers, so lineage refs name the file's rows.
// rowIdx maps each kept row to its 0-based data row in the file.
func readRegistrations(ctx context.Context, r *stage.Run, cols ...string) (*regRows, []int, error) {
	file, err := r.Input(RegistrationsFile)
	if err != nil {
		return nil, nil, err
	}
	f, err := r.FS.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, file)
	if err != nil {
		return nil, nil, err
	}
	want := append([]string{"payment_status"}, cols...)
	idx, err := cr.Require(want...)
	if err != nil {
		return nil, nil, err
	}
	rr := &regRows{file: file, cols: map[string][]string{}}
	var rowIdx []int
	inactive := map[string]bool{}
	for _, s := range InactiveStatuses {
		inactive[s] = true
	}
	for row := 0; ; row++ {
		if row&0xffff == 0 && ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if inactive[rec.Fields[idx[0]]] {
			continue
		}
		for k, c := range cols {
			rr.cols[c] = append(rr.cols[c], csvio.Unescape(rec.Fields[idx[k+1]]))
		}
		rr.lines = append(rr.lines, rec.Line)
		rowIdx = append(rowIdx, row)
		rr.n++
	}
	return rr, rowIdx, nil
}

// checkAggregate runs the privacy check for an output whose every column
// is a count over the given input columns, plus label columns copied from
// non-sensitive inputs.
func checkAggregate(r *stage.Run, output string, labels map[string][]string, counts []string, from []string) error {
	priv, err := PrivacyOf(r)
	if err != nil {
		return err
	}
	var ds []Derivation
	for _, c := range sortedKeys(labels) {
		ds = append(ds, Derivation{Column: c, From: labels[c]})
	}
	for _, c := range counts {
		ds = append(ds, Derivation{Column: c, From: from, Aggregate: true})
	}
	return priv.CheckPrivacy(r.Node, r.Visibility, declassifyOf(r), output, ds)
}

// declassifyOf reads the node's declassification reason: the engine hands
// stages params, not the node, so the reason travels as the param
// `declassify` when a node needs one.
func declassifyOf(r *stage.Run) string {
	s, _ := r.Params["declassify"].(string)
	return s
}

// output returns the node's one output ending in suffix.
func output(r *stage.Run, suffix string) (string, error) {
	var found []string
	for _, o := range r.Outputs {
		if strings.HasSuffix(o, suffix) {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("node %s: want exactly one output ending in %q, have %v", r.Node, suffix, found)
	}
	return found[0], nil
}

// countTable counts rows into labelled rows × member type columns.
type countTable struct {
	keys   []string // row keys in output order
	pos    map[string]int
	counts [][3]int
	refs   [][3][]int // input rows per cell, only when lineage is on
	track  bool
}

func newCountTable(keys []string, track bool) *countTable {
	t := &countTable{pos: map[string]int{}, track: track}
	for _, k := range keys {
		t.addKey(k)
	}
	return t
}

func (t *countTable) addKey(k string) int {
	if i, ok := t.pos[k]; ok {
		return i
	}
	t.pos[k] = len(t.keys)
	t.keys = append(t.keys, k)
	t.counts = append(t.counts, [3]int{})
	t.refs = append(t.refs, [3][]int{})
	return len(t.keys) - 1
}

// memberIndex maps a canonical member type to its column.
func memberIndex(mt string) int {
	switch mt {
	case "daughter":
		return 0
	case "adult":
		return 1
	case "guest":
		return 2
	}
	return -1
}

// memberColumns are the plural column names of MemberTypes.
var memberColumns = []string{"daughters", "adults", "guests"}

func (t *countTable) add(key string, mt, row int) {
	i := t.addKey(key)
	t.counts[i][mt]++
	if t.track {
		t.refs[i][mt] = append(t.refs[i][mt], row)
	}
}

// badMember is the error for a member type the normalizer should have
// refused: the file was edited or produced by something else.
func badMember(rr *regRows, i int, key, value string) error {
	return pos.Errorf(pos.Pos{File: rr.file, Line: rr.lines[i]}, "%s: member_type %q is not one of %s (is the file normalized?)", key, value, strings.Join(MemberTypes, ", "))
}

// writeMemberTable writes `<first>,daughters,adults,guests,total` rows,
// plus a TOTAL row when total is set, and records the lineage of each
// count cell. describe says in words which records a row counts.
func writeMemberTable(r *stage.Run, out, first string, t *countTable, label func(key string) []string, extra []string, total bool, input string, fields []string, describe func(key string) string) error {
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	cw := csvio.NewWriter(w)
	header := append(append([]string{first}, extra...), "daughters", "adults", "guests", "total")
	cw.Write(header)
	rec := lineageOf(r, out)
	var sum [3]int
	var sumRefs [3][]int
	for i, k := range t.keys {
		c := t.counts[i]
		row := append(label(k), itoa(c[0]), itoa(c[1]), itoa(c[2]), itoa(c[0]+c[1]+c[2]))
		if err := cw.Write(row); err != nil {
			return err
		}
		for m := 0; m < 3; m++ {
			sum[m] += c[m]
			if rec != nil {
				sumRefs[m] = append(sumRefs[m], t.refs[i][m]...)
				rec.AddCell(countCell(i, memberColumns[m], fmt.Sprintf("count of active registrations with %s and member_type = %s", describe(k), MemberTypes[m]), fields, input, t.refs[i][m]))
			}
		}
		if rec != nil {
			rec.AddCell(countCell(i, "total", fmt.Sprintf("count of active registrations with %s", describe(k)), fields, input, concat(t.refs[i][:]...)))
		}
	}
	if total {
		row := append([]string{"TOTAL"}, make([]string, len(extra))...)
		row = append(row, itoa(sum[0]), itoa(sum[1]), itoa(sum[2]), itoa(sum[0]+sum[1]+sum[2]))
		if err := cw.Write(row); err != nil {
			return err
		}
		if rec != nil {
			n := len(t.keys)
			for m := 0; m < 3; m++ {
				rec.AddCell(countCell(n, memberColumns[m], "count of active registrations with member_type = "+MemberTypes[m], []string{"member_type"}, input, sumRefs[m]))
			}
			rec.AddCell(countCell(n, "total", "count of active registrations", []string{"member_type"}, input, concat(sumRefs[:]...)))
		}
	}
	return cw.Flush()
}

func lineageOf(r *stage.Run, out string) *lineage.Recorder {
	if r.Lineage == nil {
		return nil
	}
	return r.Lineage(out)
}

func countCell(row int, col, derivation string, fields []string, input string, rows []int) lineage.Cell {
	refs := make([]lineage.Ref, len(rows))
	for i, x := range rows {
		refs[i] = lineage.Ref{Input: input, Row: x}
	}
	sort.Slice(refs, func(a, b int) bool { return refs[a].Row < refs[b].Row })
	return lineage.Cell{Row: row, Col: col, Derivation: derivation, Fields: fields, Refs: refs}
}

func concat(ls ...[]int) []int {
	var out []int
	for _, l := range ls {
		out = append(out, l...)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// tracking reports whether lineage is wanted for out.
func tracking(r *stage.Run, out string) bool { return lineageOf(r, out) != nil }
