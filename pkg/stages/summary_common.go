package stages

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"bethel/pkg/coltable"
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
// columns it asked for. Columns are pointer-free (dictionary codes, or one
// byte arena for the unique registration ids), so that a million rows
// cost a few megabytes and nothing for the garbage collector to scan.
type regRows struct {
	file   string
	header []string
	cols   map[string]*regCol
	// lines are the file lines of each row, for error positions; rowIdx
	// the 0-based data rows, for lineage.
	lines  []int32
	rowIdx []int32
	n      int
}

func (rr *regRows) col(name string) *regCol { return rr.cols[name] }

func (rr *regRows) line(i int) int { return int(rr.lines[i]) }

// regCol is one column: either dictionary codes or an arena of values.
type regCol struct {
	dict  []string
	index map[string]uint32
	codes []uint32
	arena []byte
	offs  []uint32 // end offsets in arena
}

func (c *regCol) at(i int) string {
	if c.index != nil {
		return c.dict[c.codes[i]]
	}
	start := uint32(0)
	if i > 0 {
		start = c.offs[i-1]
	}
	if start == c.offs[i] {
		return ""
	}
	// The arena is never written once the column is built (columns are
	// shared read-only), so the value can point into it: scanning a
	// column of a million submission times then allocates nothing.
	return unsafe.String(&c.arena[start], int(c.offs[i]-start))
}

// newRegCol is an empty column for field; registration ids are unique
// and submission times nearly so, so they get an arena instead of a
// dictionary (whose map would grow by one entry per row).
func newRegCol(field string, capacity int) *regCol {
	c := &regCol{}
	if field == "registration_id" || field == "submitted_at" {
		c.offs = make([]uint32, 0, capacity)
	} else {
		c.index = map[string]uint32{}
		c.codes = make([]uint32, 0, capacity)
	}
	return c
}

// add appends a value as it is: a cell as csvio.Reader gives it (formula
// escaping already undone; undoing it again would turn '=x into =x), or a
// record's value handed over by the stage that wrote the file. Strings
// are copied, so a reader's reused buffer may be passed.
func (c *regCol) add(v string) {
	if c.index != nil {
		code, ok := c.index[v]
		if !ok {
			code = uint32(len(c.dict))
			v = strings.Clone(v)
			c.dict = append(c.dict, v)
			c.index[v] = code
		}
		c.codes = append(c.codes, code)
		return
	}
	c.arena = append(c.arena, v...)
	c.offs = append(c.offs, uint32(len(c.arena)))
}

// readRegistrations reads the named canonical columns of the node's
// registrations input, every record as the file holds it (the
// registrations stage writes active ones only; summary.count filters by
// the status role itself). rowIdx maps each row to its 0-based data row in
// the file, for lineage refs. The result is read-only.
//
// When the node also lists the registrations node's column table
// (registrations.table beside registrations.csv, package coltable), the
// columns are read from it: the few a stage needs, already split,
// instead of parsing the whole file again.
func readRegistrations(ctx context.Context, r *stage.Run, cols ...string) (*regRows, []int, error) {
	file, err := r.Input(RegistrationsFile)
	if err != nil {
		return nil, nil, err
	}
	if tab := regTableOf(r, file); tab != "" {
		return readRegTable(r.FS, file, tab, cols)
	}
	return parseRegistrations(ctx, r.FS, file, cols, false)
}

// regTableSuffix names the column table the registrations node writes
// beside its CSV.
const regTableSuffix = ".table"

// regTableOf is the column table of the registrations file csv among the
// node's inputs, or "".
func regTableOf(r *stage.Run, csv string) string {
	want := strings.TrimSuffix(csv, ".csv") + regTableSuffix
	if slices.Contains(r.Inputs, want) {
		return want
	}
	return ""
}

// readRegTable reads cols from the column table of file. Its lines are
// file's lines, its rows file's data rows.
func readRegTable(fsys fs.FS, file, table string, cols []string) (*regRows, []int, error) {
	t, closeT, err := openRegTable(fsys, table)
	if err != nil {
		return nil, nil, err
	}
	defer closeT()
	var missing []string
	for _, c := range cols {
		if !slices.Contains(t.Names, c) {
			missing = append(missing, fmt.Sprintf("%q", c))
		}
	}
	if len(missing) > 0 {
		return nil, nil, pos.Errorf(pos.Pos{File: file, Line: 1}, "missing required %s %s (header has %s)",
			plural(len(missing), "column", "columns"), strings.Join(missing, ", "), strings.Join(t.Names, ", "))
	}
	n := t.Len()
	rr := &regRows{file: file, header: t.Names, cols: map[string]*regCol{}, n: n, lines: t.Lines, rowIdx: make([]int32, n)}
	rowIdx := make([]int, n)
	for i := range rowIdx {
		rowIdx[i] = i
		rr.rowIdx[i] = int32(i)
	}
	for _, c := range cols {
		col, err := t.Column(c)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", table, err)
		}
		// A non-nil index marks a dictionary column; nothing is added to
		// a column read from a table.
		rr.cols[c] = &regCol{dict: col.Dict, codes: col.Codes, index: map[string]uint32{}}
	}
	return rr, rowIdx, nil
}

// openRegTable opens a column table for reading its columns at their
// offsets; close releases it.
func openRegTable(fsys fs.FS, table string) (*coltable.Table, func(), error) {
	f, err := fsys.Open(table)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	ra, ok := f.(io.ReaderAt)
	if !ok {
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		t, err := coltable.Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", table, err)
		}
		return t, func() {}, nil
	}
	t, err := coltable.Read(ra, st.Size())
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", table, err)
	}
	return t, func() { f.Close() }, nil
}

// parseRegistrations reads cols of file; with optional, columns missing
// from the header are left out instead of being an error.
func parseRegistrations(ctx context.Context, fsys fs.FS, file string, cols []string, optional bool) (*regRows, []int, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, file)
	if err != nil {
		return nil, nil, err
	}
	if optional {
		var present []string
		for _, c := range cols {
			if cr.Index(c) >= 0 {
				present = append(present, c)
			}
		}
		cols = present
	}
	idx, err := cr.Require(cols...)
	if err != nil {
		return nil, nil, err
	}
	rr := &regRows{file: file, cols: map[string]*regCol{}, header: cr.Header()}
	cs := make([]*regCol, len(cols))
	for k, c := range cols {
		cs[k] = newRegCol(c, 0)
		rr.cols[c] = cs[k]
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
		for k, c := range cs {
			c.add(rec.Fields[idx[k]])
		}
		rr.lines = append(rr.lines, int32(rec.Line))
		rr.rowIdx = append(rr.rowIdx, int32(row))
		rr.n++
	}
	rowIdx := make([]int, rr.n)
	for i, x := range rr.rowIdx {
		rowIdx[i] = int(x)
	}
	return rr, rowIdx, nil
}

// checkAggregate runs the privacy check for an output whose every column
// is a count over the given input columns, plus label columns copied from
// non-sensitive inputs.
func checkAggregate(r *stage.Run, priv *Privacy, output string, labels map[string][]string, counts []string, from []string) error {
	var ds []Derivation
	for _, c := range sortedKeys(labels) {
		ds = append(ds, Derivation{Column: c, From: labels[c]})
	}
	for _, c := range counts {
		ds = append(ds, Derivation{Column: c, From: from, Aggregate: true})
	}
	return priv.CheckPrivacy(r.Node, r.Visibility, declassifyOf(r), output, ds)
}

// declassifyOf reads the node's declassification reason, which the engine
// hands over from the node's `declassify` key.
func declassifyOf(r *stage.Run) string { return r.Declassify }

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

// byValue answers f once per distinct value of a column: summaries count a
// hundred thousand rows over a few dozen values, and per row the string
// work (map lookups, splitting, keyword search) was most of their cost.
// The answer for a row is then an array index on its dictionary code.
// ok false is remembered too: the caller reports the first row holding
// the value, as it did when it checked every row.
type byValue[T any] struct {
	c    *regCol
	seen []bool
	ok   []bool
	vals []T
	f    func(v string) (T, bool)
}

func newByValue[T any](c *regCol, f func(v string) (T, bool)) *byValue[T] {
	n := len(c.dict)
	return &byValue[T]{c: c, f: f, seen: make([]bool, n), ok: make([]bool, n), vals: make([]T, n)}
}

// at returns f's answer for row i's value.
func (b *byValue[T]) at(i int) (T, bool) {
	if b.c.index == nil { // an arena column: every value differs
		return b.f(b.c.at(i))
	}
	code := b.c.codes[i]
	if !b.seen[code] {
		b.vals[code], b.ok[code] = b.f(b.c.dict[code])
		b.seen[code] = true
	}
	return b.vals[code], b.ok[code]
}

func lineageOf(r *stage.Run, out string) *lineage.Recorder {
	if r.Lineage == nil {
		return nil
	}
	return r.Lineage(out)
}

func countCell(row int, col, derivation string, fields []string, input string, rows []int) lineage.Cell {
	if !slices.IsSorted(rows) {
		rows = slices.Clone(rows)
		slices.Sort(rows)
	}
	return lineage.Cell{Row: row, Col: col, Derivation: derivation, Fields: fields, Input: input, Rows: rows}
}

// mergeSorted merges ascending lists into one ascending list. Count
// cells record the rows they count in ascending order; a total's rows are
// the union of its parts', and merging them is linear where sorting their
// concatenation was the largest cost of a summary at 100,000 rows.
func mergeSorted(ls ...[]int) []int {
	var nonEmpty [][]int
	for _, l := range ls {
		if len(l) > 0 {
			nonEmpty = append(nonEmpty, l)
		}
	}
	for len(nonEmpty) > 1 {
		next := nonEmpty[:0:0]
		for i := 0; i < len(nonEmpty); i += 2 {
			if i+1 == len(nonEmpty) {
				next = append(next, nonEmpty[i])
				break
			}
			next = append(next, merge2(nonEmpty[i], nonEmpty[i+1]))
		}
		nonEmpty = next
	}
	if len(nonEmpty) == 0 {
		return nil
	}
	return nonEmpty[0]
}

func merge2(a, b []int) []int {
	out := make([]int, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0] < a[0] {
			out = append(out, b[0])
			b = b[1:]
		} else {
			out = append(out, a[0])
			a = a[1:]
		}
	}
	return append(append(out, a...), b...)
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
