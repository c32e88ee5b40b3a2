package lineage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// The lineage of one output is stored as one blob in this binary form, so
// that a million-row build's lineage stays smaller than its outputs and a
// single row or cell can be read without decoding the rest:
//
//	"BLN2"
//	u32 nstrings, u32 offsets[nstrings+1] (into the string bytes), bytes
//	u32 nrows,    u32 offsets[nrows+1]    (into the row bytes),    bytes
//	u32 ncells,   per cell: uvarint row+1, uvarint col,            (directory)
//	              u32 offsets[ncells+1]   (into the cell bytes),   bytes
//
// Every string (paths, record keys, patch ids, fields, derivations, column
// names) is interned once and named by its index. Integers inside rows and
// cells are uvarints; a cell's input rows are grouped by input and
// delta-encoded after sorting, which makes counts over many rows cost about
// a byte per row. Fixed-width offsets give O(1) access to any row or cell.
//
// A row:  nsrc {file line keylen keybytes} nref {input row} npatch {id file line nfield {field}}
// A cell: deriv nfield {field} ngroup {input n {delta}}
//
// A record key is written in its row, not interned: keys are unique per
// row, so a table of them would only add a lookup per row. BLN1, the first
// version, interned keys like every other string (nsrc {file line key});
// Open still reads it, for lineage stored by an older bethel.
const magic = "BLN2"

const magicV1 = "BLN1"

// Encode returns the stored form of r. It is deterministic: cells are
// sorted by (row, column) and each cell's refs by (input, row).
func Encode(r *Recorder) []byte {
	e := encoder{idx: make(map[string]uint32)}
	nrows := r.NumRows()
	var rowBytes []byte
	rowOffs := make([]uint32, 0, nrows+1)
	// The compact rows' one file or input, interned once.
	lastName, lastIdx := "", -1
	nameIdx := func(s string) int {
		if lastIdx < 0 || s != lastName {
			lastName, lastIdx = s, int(e.str(s))
		}
		return lastIdx
	}
	for i := 0; i < nrows; i++ {
		rowOffs = append(rowOffs, uint32(len(rowBytes)))
		switch kind, name, n, key := r.RowForm(i); kind {
		case SourceRow:
			rowBytes = append(rowBytes, 1)
			rowBytes = e.u(rowBytes, nameIdx(name))
			rowBytes = e.u(rowBytes, n)
			rowBytes = e.u(rowBytes, len(key))
			rowBytes = append(rowBytes, key...)
			rowBytes = append(rowBytes, 0, 0)
		case RefRow:
			rowBytes = append(rowBytes, 0, 1)
			rowBytes = e.u(rowBytes, nameIdx(name))
			rowBytes = e.u(rowBytes, n)
			rowBytes = append(rowBytes, 0)
		default:
			rowBytes = e.row(rowBytes, r.Row(i))
		}
	}
	rowOffs = append(rowOffs, uint32(len(rowBytes)))

	cells := make([]Cell, len(r.Cells))
	copy(cells, r.Cells)
	sort.SliceStable(cells, func(i, j int) bool {
		if cells[i].Row != cells[j].Row {
			return cells[i].Row < cells[j].Row
		}
		return cells[i].Col < cells[j].Col
	})
	var dir, cellBytes []byte
	cellOffs := make([]uint32, 0, len(cells)+1)
	for _, c := range cells {
		dir = binary.AppendUvarint(dir, uint64(c.Row+1))
		dir = binary.AppendUvarint(dir, uint64(e.str(c.Col)))
		cellOffs = append(cellOffs, uint32(len(cellBytes)))
		cellBytes = e.cell(cellBytes, c)
	}
	cellOffs = append(cellOffs, uint32(len(cellBytes)))

	var strBytes []byte
	strOffs := make([]uint32, 0, len(e.strs)+1)
	for _, s := range e.strs {
		strOffs = append(strOffs, uint32(len(strBytes)))
		strBytes = append(strBytes, s...)
	}
	strOffs = append(strOffs, uint32(len(strBytes)))

	out := make([]byte, 0, 16+4*(len(strOffs)+len(rowOffs)+len(cellOffs))+len(strBytes)+len(rowBytes)+len(dir)+len(cellBytes))
	out = append(out, magic...)
	out = appendTable(out, strOffs, strBytes)
	out = appendTable(out, rowOffs, rowBytes)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(cells)))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(dir)))
	out = append(out, dir...)
	out = appendTable(out, cellOffs, cellBytes)
	return out
}

func appendTable(out []byte, offs []uint32, data []byte) []byte {
	out = binary.LittleEndian.AppendUint32(out, uint32(len(offs)-1))
	for _, o := range offs {
		out = binary.LittleEndian.AppendUint32(out, o)
	}
	return append(out, data...)
}

type encoder struct {
	idx  map[string]uint32
	strs []string
}

func (e *encoder) str(s string) uint32 {
	if i, ok := e.idx[s]; ok {
		return i
	}
	i := uint32(len(e.strs))
	e.idx[s] = i
	e.strs = append(e.strs, s)
	return i
}

func (e *encoder) u(b []byte, v int) []byte { return binary.AppendUvarint(b, uint64(v)) }

func (e *encoder) row(b []byte, r Row) []byte {
	b = e.u(b, len(r.Sources))
	for _, s := range r.Sources {
		b = e.u(b, int(e.str(s.File)))
		b = e.u(b, s.Line)
		b = e.u(b, len(s.Key))
		b = append(b, s.Key...)
	}
	b = e.u(b, len(r.Refs))
	for _, f := range r.Refs {
		b = e.u(b, int(e.str(f.Input)))
		b = e.u(b, f.Row)
	}
	b = e.u(b, len(r.Patches))
	for _, p := range r.Patches {
		b = e.u(b, int(e.str(p.ID)))
		b = e.u(b, int(e.str(p.File)))
		b = e.u(b, p.Line)
		b = e.u(b, len(p.Fields))
		for _, f := range p.Fields {
			b = e.u(b, int(e.str(f)))
		}
	}
	return b
}

func (e *encoder) cell(b []byte, c Cell) []byte {
	b = e.u(b, int(e.str(c.Derivation)))
	b = e.u(b, len(c.Fields))
	for _, f := range c.Fields {
		b = e.u(b, int(e.str(f)))
	}
	less := func(a, b Ref) bool {
		if a.Input != b.Input {
			return a.Input < b.Input
		}
		return a.Row < b.Row
	}
	refs := c.Refs
	if len(c.Rows) > 0 {
		if len(refs) == 0 && slices.IsSorted(c.Rows) {
			return e.rowsGroup(e.u(b, 1), c.Input, c.Rows)
		}
		refs = c.AllRefs()
	}
	// Stages mostly record refs already in order: copy and sort only when
	// they are not (a million-row count cell is sorted once, by its stage).
	for i := 1; i < len(refs); i++ {
		if less(refs[i], refs[i-1]) {
			refs = slices.Clone(refs)
			sort.Slice(refs, func(i, j int) bool { return less(refs[i], refs[j]) })
			break
		}
	}
	var groups int
	for i := range refs {
		if i == 0 || refs[i].Input != refs[i-1].Input {
			groups++
		}
	}
	b = e.u(b, groups)
	for i := 0; i < len(refs); {
		j := i
		for j < len(refs) && refs[j].Input == refs[i].Input {
			j++
		}
		b = e.u(b, int(e.str(refs[i].Input)))
		b = e.u(b, j-i)
		prev := 0
		for _, f := range refs[i:j] {
			b = e.u(b, f.Row-prev)
			prev = f.Row
		}
		i = j
	}
	return b
}

// rowsGroup appends one group of refs: an input and its ascending rows,
// delta-encoded.
func (e *encoder) rowsGroup(b []byte, input string, rows []int) []byte {
	b = e.u(b, int(e.str(input)))
	b = e.u(b, len(rows))
	prev := 0
	for _, r := range rows {
		b = e.u(b, r-prev)
		prev = r
	}
	return b
}

// Table is a decoded view of one output's stored lineage. It reads rows and
// cells on demand from the blob it was opened on.
type Table struct {
	v1       bool // BLN1: record keys interned
	data     []byte
	strOffs  []byte // u32 little-endian
	strData  []byte
	rowOffs  []byte
	rowData  []byte
	cellKeys []cellKey
	cellOffs []byte
	cellData []byte
	nstr     int
	// strs caches decoded interned strings: a file name or field is
	// named by every row, and decoding it anew allocated it every time
	// (a million rows at a time for the review site). A Table is
	// therefore not safe for concurrent use.
	strs []string
}

type cellKey struct {
	row int
	col uint32
}

var errCorrupt = errors.New("lineage: corrupt data")

// Open parses the header of a stored lineage blob.
func Open(data []byte) (t *Table, err error) {
	if len(data) < len(magic) || (string(data[:len(magic)]) != magic && string(data[:len(magic)]) != magicV1) {
		return nil, fmt.Errorf("lineage: not a lineage blob")
	}
	p := data[len(magic):]
	t = &Table{data: data, v1: string(data[:len(magic)]) == magicV1}
	var n int
	if n, t.strOffs, t.strData, p, err = readTable(p); err != nil {
		return nil, err
	}
	t.nstr = n
	if _, t.rowOffs, t.rowData, p, err = readTable(p); err != nil {
		return nil, err
	}
	if len(p) < 8 {
		return nil, errCorrupt
	}
	ncells := int(binary.LittleEndian.Uint32(p))
	dirLen := int(binary.LittleEndian.Uint32(p[4:]))
	p = p[8:]
	if dirLen > len(p) || ncells > dirLen {
		return nil, errCorrupt
	}
	dir := p[:dirLen]
	p = p[dirLen:]
	t.cellKeys = make([]cellKey, 0, ncells)
	for i := 0; i < ncells; i++ {
		row, k := binary.Uvarint(dir)
		if k <= 0 {
			return nil, errCorrupt
		}
		dir = dir[k:]
		col, k := binary.Uvarint(dir)
		if k <= 0 || col >= uint64(t.nstr) {
			return nil, errCorrupt
		}
		dir = dir[k:]
		t.cellKeys = append(t.cellKeys, cellKey{row: int(row) - 1, col: uint32(col)})
	}
	var nc int
	if nc, t.cellOffs, t.cellData, _, err = readTable(p); err != nil {
		return nil, err
	}
	if nc != ncells {
		return nil, errCorrupt
	}
	return t, nil
}

func readTable(p []byte) (n int, offs, data, rest []byte, err error) {
	if len(p) < 4 {
		return 0, nil, nil, nil, errCorrupt
	}
	n = int(binary.LittleEndian.Uint32(p))
	p = p[4:]
	if n < 0 || uint64(n+1)*4 > uint64(len(p)) {
		return 0, nil, nil, nil, errCorrupt
	}
	offs = p[:(n+1)*4]
	p = p[(n+1)*4:]
	size := int(binary.LittleEndian.Uint32(offs[n*4:]))
	if size > len(p) {
		return 0, nil, nil, nil, errCorrupt
	}
	prev := uint32(0)
	for i := 0; i <= n; i++ {
		o := binary.LittleEndian.Uint32(offs[i*4:])
		if o < prev || int(o) > size {
			return 0, nil, nil, nil, errCorrupt
		}
		prev = o
	}
	return n, offs, p[:size], p[size:], nil
}

func span(offs, data []byte, i int) []byte {
	a := binary.LittleEndian.Uint32(offs[i*4:])
	b := binary.LittleEndian.Uint32(offs[(i+1)*4:])
	return data[a:b]
}

func (t *Table) str(i uint64) (string, error) {
	if i >= uint64(t.nstr) {
		return "", errCorrupt
	}
	if t.strs == nil {
		t.strs = make([]string, t.nstr)
	}
	if s := t.strs[i]; s != "" {
		return s, nil
	}
	s := string(span(t.strOffs, t.strData, int(i)))
	t.strs[i] = s
	return s, nil
}

// NumRows is the number of rows with recorded row lineage.
func (t *Table) NumRows() int { return len(t.rowOffs)/4 - 1 }

// NumCells is the number of recorded cells.
func (t *Table) NumCells() int { return len(t.cellKeys) }

// reader decodes uvarints and interned strings from one row or cell,
// remembering the first error so that decoders read straight through.
type reader struct {
	t   *Table
	p   []byte
	err error
}

func (r *reader) u() int {
	if r.err != nil {
		return 0
	}
	v, k := binary.Uvarint(r.p)
	if k <= 0 || v > 1<<40 {
		r.err = errCorrupt
		return 0
	}
	r.p = r.p[k:]
	return int(v)
}

func (r *reader) s() string {
	i := r.u()
	if r.err != nil {
		return ""
	}
	s, err := r.t.str(uint64(i))
	if err != nil {
		r.err = err
	}
	return s
}

// source reads one source record: its file, line and record key (interned
// in BLN1 blobs, written in the row since BLN2).
func (r *reader) source() Source {
	s := Source{File: r.s(), Line: r.u()}
	if r.t.v1 {
		s.Key = r.s()
	} else {
		s.Key = r.bytes()
	}
	return s
}

// bytes reads a length and that many bytes, as a string.
func (r *reader) bytes() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := string(r.p[:n])
	r.p = r.p[n:]
	return s
}

// count reads a list length, refusing one longer than the bytes left could
// hold, so that corrupt data cannot ask for a huge allocation.
func (r *reader) count() int {
	n := r.u()
	if n > len(r.p) {
		r.err = errCorrupt
		return 0
	}
	return n
}

// Row returns the lineage of data row i (0-based).
func (t *Table) Row(i int) (Row, error) {
	var row Row
	if i < 0 || i >= t.NumRows() {
		return row, fmt.Errorf("lineage: row %d out of range (0..%d)", i, t.NumRows()-1)
	}
	r := &reader{t: t, p: span(t.rowOffs, t.rowData, i)}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		row.Sources = append(row.Sources, r.source())
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		row.Refs = append(row.Refs, Ref{Input: r.s(), Row: r.u()})
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		p := Patch{ID: r.s(), File: r.s(), Line: r.u()}
		for m := r.count(); m > 0 && r.err == nil; m-- {
			p.Fields = append(p.Fields, r.s())
		}
		row.Patches = append(row.Patches, p)
	}
	return row, r.err
}

// Row kinds RowSimple tells apart.
const (
	RowOther  = iota // anything else: read it with Row
	RowSource        // exactly one source record, no refs, no patches
	RowRef           // exactly one ref, no sources, no patches
)

// RowSimple reads row i when it has one of the two shapes nearly every row
// of a large table has (a record straight from an export, or a row that
// stands for one row of an input), without building a Row; kind
// is RowOther for any other row, which Row then reads.
func (t *Table) RowSimple(i int) (kind int, src Source, ref Ref, err error) {
	kind, src, key, ref, err := t.RowSimpleKey(i)
	if kind == RowSource {
		src.Key = string(key)
	}
	return kind, src, ref, err
}

// RowSimpleKey is RowSimple for a reader that keeps record keys its own
// way (a walk over a million rows): the key of a RowSource row comes back
// as key, the stored bytes themselves, which the caller must not change
// or keep beyond the blob; src.Key is empty.
func (t *Table) RowSimpleKey(i int) (kind int, src Source, key []byte, ref Ref, err error) {
	if i < 0 || i >= t.NumRows() {
		return RowOther, src, nil, ref, fmt.Errorf("lineage: row %d out of range (0..%d)", i, t.NumRows()-1)
	}
	p := span(t.rowOffs, t.rowData, i)
	// The two shapes as Encode writes them (one-byte counts, BLN2):
	//	1 file line keylen key 0 0    a record
	//	0 1 input row 0               a row of an input
	// read without a reader; anything else goes the careful way below,
	// which gives the same answer for these bytes.
	if !t.v1 && len(p) > 0 && (p[0] == 1 || p[0] == 0 && len(p) > 1 && p[1] == 1) {
		if p[0] == 1 {
			f, j := uvarintAt(p, 1)
			line, j := uvarintAt(p, j)
			n, j := uvarintAt(p, j)
			if j > 0 && f < uint64(t.nstr) && line <= 1<<40 && n <= uint64(len(p)-j) && len(p)-j-int(n) == 2 && p[len(p)-2] == 0 && p[len(p)-1] == 0 {
				file, _ := t.str(f)
				return RowSource, Source{File: file, Line: int(line)}, p[j : j+int(n)], ref, nil
			}
		} else {
			in, j := uvarintAt(p, 2)
			row, j := uvarintAt(p, j)
			if j > 0 && in < uint64(t.nstr) && row <= 1<<40 && j == len(p)-1 && p[j] == 0 {
				input, _ := t.str(in)
				return RowRef, src, nil, Ref{Input: input, Row: int(row)}, nil
			}
		}
	}
	r := &reader{t: t, p: p}
	nsrc := r.count()
	switch {
	case r.err != nil:
		return RowOther, src, nil, ref, r.err
	case nsrc == 1:
		src.File, src.Line = r.s(), r.u()
		if t.v1 {
			src.Key = r.s()
			key = []byte(src.Key)
			src.Key = ""
		} else {
			n := r.count()
			if r.err == nil {
				key, r.p = r.p[:n], r.p[n:]
			}
		}
		// A record row has no refs and no patches: two counts of 0.
		refs, patches := r.count(), r.count()
		if refs != 0 || patches != 0 || r.err != nil {
			return RowOther, Source{}, nil, ref, r.err
		}
		return RowSource, src, key, ref, nil
	case nsrc == 0:
		if r.count() != 1 {
			return RowOther, src, nil, ref, r.err
		}
		ref = Ref{Input: r.s(), Row: r.u()}
		if r.count() != 0 || r.err != nil {
			return RowOther, src, nil, Ref{}, r.err
		}
		return RowRef, src, nil, ref, nil
	}
	return RowOther, src, nil, ref, nil
}

// uvarintAt reads the uvarint at p[j:] and returns it and the index after
// it; that index is 0 when there is none (j of 0, too, stays 0: every
// caller reads from 1 on).
func uvarintAt(p []byte, j int) (uint64, int) {
	if j <= 0 || j >= len(p) {
		return 0, 0
	}
	if b := p[j]; b < 0x80 {
		return uint64(b), j + 1
	}
	v, k := binary.Uvarint(p[j:])
	if k <= 0 {
		return 0, 0
	}
	return v, j + k
}

// Cells returns the (row, column) of every recorded cell, in stored order.
func (t *Table) Cells() []Cell {
	out := make([]Cell, len(t.cellKeys))
	for i, k := range t.cellKeys {
		col, _ := t.str(uint64(k.col))
		out[i] = Cell{Row: k.row, Col: col}
	}
	return out
}

// Cell returns the lineage of the cell at data row row (-1 for JSON) and
// column col; ok is false when no such cell was recorded. A cell whose rows
// are all of one input comes back in the compact form (Input, Rows), any
// other as Refs; Cell.AllRefs reads either.
func (t *Table) Cell(row int, col string) (c Cell, ok bool, err error) {
	i, ok := t.CellIndex(row, col)
	if !ok {
		return c, false, nil
	}
	c, err = t.cellAt(i)
	return c, err == nil, err
}

// CellIndex returns the position, in Cells' order, of the cell at data row
// row and column col; ok is false when no such cell was recorded.
func (t *Table) CellIndex(row int, col string) (int, bool) {
	i := sort.Search(len(t.cellKeys), func(i int) bool {
		k := t.cellKeys[i]
		if k.row != row {
			return k.row > row
		}
		s, _ := t.str(uint64(k.col))
		return s >= col
	})
	if i == len(t.cellKeys) || t.cellKeys[i].row != row {
		return 0, false
	}
	if s, _ := t.str(uint64(t.cellKeys[i].col)); s != col {
		return 0, false
	}
	return i, true
}

// CellAt returns cell i in Cells' order, as Cell returns it.
func (t *Table) CellAt(i int) (Cell, error) { return t.cellAt(i) }

func (t *Table) cellAt(i int) (Cell, error) {
	c, rows, one, err := t.CellAtIndex(i)
	if err != nil || !one {
		return c, err
	}
	// A count reads one table: the compact form costs 8 bytes a row
	// where a Ref costs 24, which matters for a TOTAL cell over a
	// million rows.
	r := &reader{t: t, p: rows.enc}
	prev := 0
	c.Rows = make([]int, 0, rows.N)
	for n := rows.N; n > 0 && r.err == nil; n-- {
		prev += r.u()
		c.Rows = append(c.Rows, prev)
	}
	return c, r.err
}

// CellRows are the rows of a cell that reads one input, still encoded: a
// reader that turns a count over a million rows into something else reads
// them once, into a buffer it reuses, and two cells counting the same rows
// of the same input have equal Encoded bytes.
type CellRows struct {
	Input string
	N     int // number of rows
	enc   []byte
}

// Encoded is the stored form of the rows. Equal bytes and N mean equal
// rows, in any table.
func (c CellRows) Encoded() []byte { return c.enc }

// AppendRows appends the rows, ascending, to dst. ok is false when the
// data is corrupt or a row does not fit an int32 (no table has that many
// rows): Table.Cell then reads the cell, or says why it cannot.
func (c CellRows) AppendRows(dst []int32) (_ []int32, ok bool) {
	p, row := c.enc, 0
	dst = slices.Grow(dst, c.N)
	for n := c.N; n > 0; n-- {
		// Nearly every delta of a count is one byte.
		if len(p) > 0 && p[0] < 0x80 {
			row += int(p[0])
			p = p[1:]
		} else {
			v, k := binary.Uvarint(p)
			if k <= 0 || v > 1<<31 {
				return dst, false
			}
			row += int(v)
			p = p[k:]
		}
		if row > math.MaxInt32 {
			return dst, false
		}
		dst = append(dst, int32(row))
	}
	return dst, true
}

// CellAtIndex returns cell i in Cells' order. When its rows are all of one
// input (one is true), c holds everything but the rows, and rows holds
// them still encoded; otherwise c is the whole cell, as Cell returns it.
func (t *Table) CellAtIndex(i int) (c Cell, rows CellRows, one bool, err error) {
	if i < 0 || i >= len(t.cellKeys) {
		return c, rows, false, fmt.Errorf("lineage: cell %d out of range (0..%d)", i, len(t.cellKeys)-1)
	}
	k := t.cellKeys[i]
	col, _ := t.str(uint64(k.col))
	c = Cell{Row: k.row, Col: col}
	r := &reader{t: t, p: span(t.cellOffs, t.cellData, i)}
	c.Derivation = r.s()
	for n := r.count(); n > 0 && r.err == nil; n-- {
		c.Fields = append(c.Fields, r.s())
	}
	groups := r.count()
	if groups == 1 {
		c.Input = r.s()
		n := r.count()
		if r.err != nil {
			return c, rows, false, r.err
		}
		// The group is the cell's last item: its rows run to the end.
		return c, CellRows{Input: c.Input, N: n, enc: r.p}, true, nil
	}
	for g := groups; g > 0 && r.err == nil; g-- {
		in := r.s()
		prev := 0
		n := r.count()
		c.Refs = slices.Grow(c.Refs, n)
		for ; n > 0 && r.err == nil; n-- {
			prev += r.u()
			c.Refs = append(c.Refs, Ref{Input: in, Row: prev})
		}
	}
	return c, rows, false, r.err
}
