// Package lineage is cell lineage: for one output of a built-in stage,
// which input rows (and, for raw exports, which source lines and record
// keys) and which patches each row or cell derives from. A Recorder holds
// it while a stage runs; Encode writes it in the binary form the cache
// stores (codec.go), and Open reads that form back with random access. The
// package knows no other bethel package, so that a stage may read lineage
// as well as write it.
//
// Lineage is recorded one hop at a time: a stage names rows of its own
// inputs, never rows further upstream. Following a summary cell back to the
// raw export lines is the reader's job (bethel why), which walks from the
// cell to the rows of the intermediate file and from those rows to their own
// lineage. That keeps stages ignorant of the graph and keeps each output's
// lineage proportional to that output.
//
// A Recorder is not safe for concurrent use.
package lineage

import "slices"

// Ref names one data row of one of the node's inputs: Input is the path (as
// in stage.Run.Inputs) and Row the 0-based data row, header excluded.
type Ref struct {
	Input string
	Row   int
}

// Source is a raw source record, for stages that read exports: the line the
// record starts on and its record key (never a private value).
type Source struct {
	File string
	Line int
	Key  string
}

// Patch is a patch that changed a row at this hop.
type Patch struct {
	ID     string
	File   string
	Line   int
	Fields []string // canonical fields the patch set; empty for drop/add
}

// Row is the lineage of one output row that stands for one record: where
// the record came from, and which patches changed which of its fields.
type Row struct {
	Sources []Source
	Refs    []Ref
	Patches []Patch
}

// Cell is the lineage of one aggregate cell (or JSON value): a one-line
// derivation in words, the input columns it reads, and the input rows it
// counts or combines.
type Cell struct {
	// Row is the 0-based data row of the output (CSV), or -1 for JSON.
	Row int
	// Col is the header name (CSV) or a JSON pointer ("/meals/vegetarian").
	Col        string
	Derivation string
	Fields     []string
	Refs       []Ref
	// Input and Rows are the compact form of Refs for the rows of one
	// input (every count cell reads one table): the 0-based data rows of
	// Input, ascending. A count over a million rows then costs 8 bytes a
	// row to record instead of a Ref each. A cell may use both forms.
	Input string
	Rows  []int
}

// AllRefs returns every row the cell derives from, in either form, as Refs.
func (c Cell) AllRefs() []Ref {
	if len(c.Rows) == 0 {
		return c.Refs
	}
	out := make([]Ref, 0, len(c.Refs)+len(c.Rows))
	out = append(out, c.Refs...)
	for _, r := range c.Rows {
		out = append(out, Ref{Input: c.Input, Row: r})
	}
	return out
}

// Recorder collects the lineage of one output.
//
// Rows come in three forms: a general Row (AddRow), and two compact ones
// for the rows that most stages record a million of: a row that is one
// source record (AddSource) and a row that is one row of an input
// (AddRef). The compact forms cost no allocation per row and let the
// encoder write a row without looking anything up; Row returns every form
// as a Row.
type Recorder struct {
	Cells []Cell

	rows    []rowEntry
	general []Row
	names   []string // files and inputs of compact rows
	keys    []byte   // record keys of source rows, end to end
}

// rowEntry is one row: a general row (kind 0, a = index into general), a
// source row (kind 1: name = file, a = line, keys[k0:k1] = key) or a ref
// row (kind 2: name = input, a = row).
type rowEntry struct {
	kind   uint8
	name   uint32
	a      int
	k0, k1 uint32
}

// Row kinds, as RowForm reports them.
const (
	GeneralRow = 0
	SourceRow  = 1
	RefRow     = 2
)

// Grow makes room for n more rows, for a stage that knows how many it
// will record (growing a hundred thousand rows by doubling copied them
// about twice over).
func (r *Recorder) Grow(n int) {
	if r == nil || n <= 0 {
		return
	}
	r.rows = slices.Grow(r.rows, n)
}

// AddRow records the lineage of the next output data row. Rows must be
// added in output order, one per data row.
func (r *Recorder) AddRow(row Row) {
	if r == nil {
		return
	}
	r.rows = append(r.rows, rowEntry{kind: GeneralRow, a: len(r.general)})
	r.general = append(r.general, row)
}

// AddSource records a next row that is exactly one source record (no
// refs, no patches): Row{Sources: []Source{s}}.
func (r *Recorder) AddSource(s Source) {
	if r == nil {
		return
	}
	k0 := uint32(len(r.keys))
	r.keys = append(r.keys, s.Key...)
	r.rows = append(r.rows, rowEntry{kind: SourceRow, name: r.name(s.File), a: s.Line, k0: k0, k1: uint32(len(r.keys))})
}

// AddRef records a next row that derives from exactly one input row:
// Row{Refs: []Ref{{input, row}}}.
func (r *Recorder) AddRef(input string, row int) {
	if r == nil {
		return
	}
	r.rows = append(r.rows, rowEntry{kind: RefRow, name: r.name(input), a: row})
}

// name interns a file or input name; a recorder sees one or two.
func (r *Recorder) name(s string) uint32 {
	for i := len(r.names) - 1; i >= 0; i-- {
		if r.names[i] == s {
			return uint32(i)
		}
	}
	r.names = append(r.names, s)
	return uint32(len(r.names) - 1)
}

// NumRows is the number of rows recorded.
func (r *Recorder) NumRows() int { return len(r.rows) }

// Row returns row i in the general form.
func (r *Recorder) Row(i int) Row {
	e := r.rows[i]
	switch e.kind {
	case SourceRow:
		return Row{Sources: []Source{{File: r.names[e.name], Line: e.a, Key: string(r.keys[e.k0:e.k1])}}}
	case RefRow:
		return Row{Refs: []Ref{{Input: r.names[e.name], Row: e.a}}}
	}
	return r.general[e.a]
}

// RowForm returns row i's form and, for the compact forms, its parts
// without building a Row: for SourceRow the file, line and key; for RefRow
// the input and row (key is nil). The key aliases the recorder's memory.
func (r *Recorder) RowForm(i int) (kind int, name string, n int, key []byte) {
	e := r.rows[i]
	if e.kind == GeneralRow {
		return GeneralRow, "", 0, nil
	}
	if e.kind == SourceRow {
		return SourceRow, r.names[e.name], e.a, r.keys[e.k0:e.k1]
	}
	return RefRow, r.names[e.name], e.a, nil
}

// AddCell records the lineage of one cell.
func (r *Recorder) AddCell(c Cell) {
	if r == nil {
		return
	}
	r.Cells = append(r.Cells, c)
}
