package stages

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

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
// the status role itself). rowIdx maps
// each kept row to its 0-based data row in the file, for lineage refs.
//
// The summaries, the program and the public tables all read the same
// normalized file, which at a million rows costs far more to parse than
// to count; so the columns they use are parsed once per file content and
// shared (see regMemo). The result is read-only.
func readRegistrations(ctx context.Context, r *stage.Run, cols ...string) (*regRows, []int, error) {
	file, err := r.Input(RegistrationsFile)
	if err != nil {
		return nil, nil, err
	}
	shared := true
	for _, c := range cols {
		if !contains1(regMemoColumns, c) {
			shared = false
		}
	}
	if !shared {
		return parseRegistrations(ctx, r.FS, file, cols, false)
	}
	rr, rowIdx, err := regMemo.get(ctx, r.FS, file, r.Sum)
	if err != nil {
		return nil, nil, err
	}
	var missing []string
	for _, c := range cols {
		if _, ok := rr.cols[c]; !ok {
			missing = append(missing, fmt.Sprintf("%q", c))
		}
	}
	if len(missing) > 0 {
		return nil, nil, pos.Errorf(pos.Pos{File: file, Line: 1}, "missing required %s %s (header has %s)",
			plural(len(missing), "column", "columns"), strings.Join(missing, ", "), strings.Join(rr.header, ", "))
	}
	return rr, rowIdx, nil
}

func contains1(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// regMemoColumns are the columns shared between stages.
var regMemoColumns = []string{"registration_id", "submitted_at", "bethel", "member_type", "banquet_meal", "tshirt_size",
	"days_attending", "housing", "dietary_needs", "allergies", "payment_status"}

// regMemo remembers the parsed columns of the last registrations file,
// keyed by its content (size and a 64-bit hash of every byte: hashing is
// ~20 times cheaper than parsing). Stages running at the same time wait
// for one parse. Only one file is kept, so a long-running `bethel watch`
// holds at most one parse in memory; a cancelled parse is not kept.
var regMemo = &memo{}

type memo struct {
	mu    sync.Mutex
	seed  maphash.Seed
	entry *memoEntry
}

// errMemoInterrupted marks an entry whose parse never finished.
var errMemoInterrupted = errors.New("parse interrupted")

type memoEntry struct {
	key    memoKey
	done   chan struct{}
	rows   *regRows
	rowIdx []int
	err    error
	// full is every column, when the stage that wrote the file handed
	// over its records (see regScanner).
	full *regFull
	// touched is the sensitive values of every record a patch changed,
	// by key (see regResult.touched), when the writing stage handed it over.
	touched map[string][]string
}

// memoKey names a file's content: by the engine's BLAKE3 of it when the
// engine gave one (stage.Run.Sum), otherwise by its size and a 64-bit hash
// of every byte read here.
type memoKey struct {
	file    string
	content [32]byte
	size    int64
	sum     uint64
}

func (m *memo) get(ctx context.Context, fsys fs.FS, file string, engineSum func(string) ([32]byte, bool)) (*regRows, []int, error) {
	m.mu.Lock()
	if m.entry == nil {
		m.seed = maphash.MakeSeed()
	}
	seed := m.seed
	m.mu.Unlock()
	var key memoKey
	if sum, ok := callSum(engineSum, file); ok {
		key = memoKey{file: file, content: sum, size: -1}
	} else {
		var err error
		if key, err = hashFile(fsys, file, seed); err != nil {
			return nil, nil, err
		}
	}
	m.mu.Lock()
	if e := m.entry; e != nil && e.key == key {
		m.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		if e.err != nil && (errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded) || e.err == errMemoInterrupted) {
			// The stage that parsed was cancelled or failed, not this
			// one: parse anew.
			return parseRegistrations(ctx, fsys, file, regMemoColumns, true)
		}
		return e.rows, e.rowIdx, e.err
	}
	e := &memoEntry{key: key, done: make(chan struct{})}
	m.entry = e
	m.mu.Unlock()
	finished := false
	defer func() {
		// Waiters must never hang: on a panic (the engine recovers it as
		// the node's failure) or a cancelled parse, release them and
		// forget the entry.
		if !finished {
			e.err = errMemoInterrupted
		}
		if !finished || (e.err != nil && ctx.Err() != nil) {
			m.mu.Lock()
			if m.entry == e {
				m.entry = nil
			}
			m.mu.Unlock()
		}
		if !finished {
			close(e.done)
		}
	}()
	e.rows, e.rowIdx, e.err = parseRegistrations(ctx, fsys, file, regMemoColumns, true)
	finished = true
	close(e.done)
	return e.rows, e.rowIdx, e.err
}

// put remembers rows under key, as if a stage had parsed them: the stage
// that wrote the file hands over what it knows instead (memoColumns), and
// its records (full) for the stages that read other columns.
func (m *memo) put(key memoKey, rows *regRows, rowIdx []int, full *regFull, touched map[string][]string) {
	e := &memoEntry{key: key, done: make(chan struct{}), rows: rows, rowIdx: rowIdx, full: full, touched: touched}
	close(e.done)
	m.mu.Lock()
	if m.entry == nil {
		m.seed = maphash.MakeSeed()
	}
	m.entry = e
	m.mu.Unlock()
}

// fullView returns the records handed over for file, if the engine's
// hash of it (engineSum) names the content they were written as. Without
// the engine's hash there is no cheap way to tell, and the caller parses.
func (m *memo) fullView(file string, engineSum func(string) ([32]byte, bool)) *regFull {
	if e := m.written(file, engineSum); e != nil {
		return e.full
	}
	return nil
}

// touchedView is fullView for the touched records' sensitive values.
func (m *memo) touchedView(file string, engineSum func(string) ([32]byte, bool)) map[string][]string {
	if e := m.written(file, engineSum); e != nil {
		return e.touched
	}
	return nil
}

// written is the entry a stage put for file, if the engine's hash of file
// names the content it was written as.
func (m *memo) written(file string, engineSum func(string) ([32]byte, bool)) *memoEntry {
	sum, ok := callSum(engineSum, file)
	if !ok {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entry; e != nil && e.key == (memoKey{file: file, content: sum, size: -1}) {
		return e
	}
	return nil
}

func callSum(sum func(string) ([32]byte, bool), file string) ([32]byte, bool) {
	if sum == nil {
		return [32]byte{}, false
	}
	return sum(file)
}

func hashFile(fsys fs.FS, file string, seed maphash.Seed) (memoKey, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return memoKey{}, err
	}
	defer f.Close()
	var h maphash.Hash
	h.SetSeed(seed)
	n, err := io.Copy(&h, f)
	if err != nil {
		return memoKey{}, err
	}
	return memoKey{file: file, size: n, sum: h.Sum64()}, nil
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
