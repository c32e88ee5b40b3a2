// Package lineage is the in-memory form of cell lineage: for one output of a
// built-in stage, which input rows (and, for raw exports, which source lines
// and record keys) and which patches each row or cell derives from.
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
type Recorder struct {
	Rows  []Row
	Cells []Cell
}

// AddRow records the lineage of the next output data row. Rows must be
// added in output order, one per data row.
func (r *Recorder) AddRow(row Row) {
	if r == nil {
		return
	}
	r.Rows = append(r.Rows, row)
}

// AddCell records the lineage of one cell.
func (r *Recorder) AddCell(c Cell) {
	if r == nil {
		return
	}
	r.Cells = append(r.Cells, c)
}
