// Package coltable is a columnar table file: the registrations node writes
// one beside out/private/registrations.csv, declared as its output, so
// that the stages downstream read the few columns they need, already
// split and dictionary-coded, instead of parsing the CSV again. Every byte
// a stage reads is then an artifact the engine hashed; nothing is handed
// from stage to stage in memory.
//
// File format (integers are unsigned varints, str is a varint length and
// the bytes):
//
//	"bethel coltable 1\n"
//	ncols, str name[ncols]
//	nrows, then per row the line of the CSV it is written on, as the
//	    difference from the previous row's line (the header is line 1)
//	per column: the byte length of its block
//	per column, its block: ndict, str value[ndict] (in order of first
//	    use), width (1, 2 or 4), then nrows codes of width bytes each,
//	    little-endian
//
// A reader reads the header, then only the blocks of the columns asked
// for, at their offsets.
package coltable

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"slices"
	"sync"
	"unsafe"
)

// Magic starts every table file.
const Magic = "bethel coltable 1\n"

// maxHeader bounds what Read believes of a header's counts.
const maxHeader = 1 << 30

// ErrCorrupt is a file that is not a table, or a damaged one.
var ErrCorrupt = errors.New("not a column table, or a damaged one; rebuild it (bethel make)")

// Write writes a table of n rows: names are the columns, line(i) the CSV
// line row i is written on, value(i, c) the value of row i in column c.
// value is called from several goroutines at once, for different columns.
func Write(w io.Writer, names []string, n int, line func(i int) int, value func(i, c int) string) error {
	cols := make([]Coded, len(names))
	eachColumn(len(names), func(c int) {
		cols[c] = Encode(n, func(i int) string { return value(i, c) })
	})
	return WriteColumns(w, names, n, line, cols)
}

// eachColumn calls f for every column 0..n-1, one goroutine per core
// taking the next column: columns are coded independently.
func eachColumn(n int, f func(c int)) {
	next := make(chan int, n)
	for c := range n {
		next <- c
	}
	close(next)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				f(c)
			}
		}()
	}
	wg.Wait()
}

// Coded is a column coded in order of first use: DictLen distinct
// values, DictValue(d) the d-th to appear, Code(i) row i's. *Column is
// one; a stage that knows its values' codes from elsewhere (the
// registrations node, from the mapped export) can be another, and write
// its table without hashing every value again.
type Coded interface {
	DictLen() int
	DictValue(d int) string
	Code(i int) uint32
}

// DictLen is the number of distinct values.
func (col *Column) DictLen() int { return len(col.Dict) }

// DictValue is value d of the dictionary.
func (col *Column) DictValue(d int) string { return col.Dict[d] }

// Code is row i's code.
func (col *Column) Code(i int) uint32 { return col.Codes[i] }

// WriteColumns writes a table of n rows whose columns are already coded:
// the file is then byte for byte the one Write makes of the same values.
// The blocks are written as they are encoded, never held whole. A
// dictionary out of order of first use is an error: it would make the
// same values two different files.
func WriteColumns(w io.Writer, names []string, n int, line func(i int) int, cols []Coded) error {
	if len(cols) != len(names) {
		return fmt.Errorf("coltable: %d columns for %d names", len(cols), len(names))
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	var b []byte
	str := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	b = append(b, Magic...)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, s := range names {
		b = str(b, s)
	}
	b = binary.AppendUvarint(b, uint64(n))
	prev := 1
	for i := 0; i < n; i++ {
		l := line(i)
		if l <= prev {
			return fmt.Errorf("coltable: row %d on line %d, not after line %d", i, l, prev)
		}
		b = binary.AppendUvarint(b, uint64(l-prev))
		prev = l
	}
	for c, col := range cols {
		if col, ok := col.(*Column); ok && len(col.Codes) != n {
			return fmt.Errorf("coltable: column %s: %d codes for %d rows", names[c], len(col.Codes), n)
		}
		nd := col.DictLen()
		size := uvarintLen(uint64(nd)) + 1 + CodeWidth(nd)*n
		for d := 0; d < nd; d++ {
			l := len(col.DictValue(d))
			size += uvarintLen(uint64(l)) + l
		}
		b = binary.AppendUvarint(b, uint64(size))
	}
	bw.Write(b)
	for c, col := range cols {
		if err := writeBlock(bw, col, n); err != nil {
			return fmt.Errorf("coltable: column %s: %w", names[c], err)
		}
	}
	return bw.Flush()
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// Encode codes a column of n values, value(i) for row i: its distinct
// values in order of first use, and each row's code.
func Encode(n int, value func(i int) string) *Column {
	var ix dictIndex
	ix.seed = maphash.MakeSeed()
	ix.resize(1 << 10)
	codes := make([]uint32, n)
	for i := 0; i < n; i++ {
		// A column whose first rows are mostly distinct (ids, emails,
		// phones) is likely to stay so: its index and dictionary are
		// made for every row at once instead of growing by doubling.
		if i == 4096 && 2*len(ix.dict) > i && n > 2*i {
			ix.resize(2 * n)
			ix.dict = slices.Grow(ix.dict, n-len(ix.dict))
			ix.hashes = slices.Grow(ix.hashes, n-len(ix.hashes))
		}
		codes[i], _ = ix.code(value(i))
	}
	return &Column{Dict: ix.dict, Codes: codes}
}

// writeBlock writes a column's block for n rows, its codes a chunk at a
// time.
func writeBlock(bw *bufio.Writer, col Coded, n int) error {
	nd := col.DictLen()
	var b []byte
	b = binary.AppendUvarint(b, uint64(nd))
	for d := 0; d < nd; d++ {
		v := col.DictValue(d)
		b = append(binary.AppendUvarint(b, uint64(len(v))), v...)
		if len(b) >= 32<<10 {
			bw.Write(b)
			b = b[:0]
		}
	}
	width := CodeWidth(nd)
	b = append(b, byte(width))
	// Codes in order of first use: each is at most one past the largest
	// before it.
	next := uint32(0)
	for i := 0; i < n; i++ {
		code := col.Code(i)
		if code >= next {
			if code > next {
				return fmt.Errorf("code %d before code %d: the dictionary is not in order of first use", code, next)
			}
			next++
		}
		b = AppendCode(b, width, code)
		if len(b) >= 32<<10 {
			bw.Write(b)
			b = b[:0]
		}
	}
	if int(next) != nd {
		return fmt.Errorf("%d values in the dictionary, %d used", nd, next)
	}
	_, err := bw.Write(b)
	return err
}

// dictIndex numbers a column's distinct values in order of first use. It
// is an open-addressing table of codes that hashes each row's value once
// and keeps every value's hash for growing: a map[string]uint32 hashes a
// new value twice (lookup, then insert) and again at each growth, which
// made the map most of a table's writing time.
type dictIndex struct {
	seed   maphash.Seed
	dict   []string
	hashes []uint64 // hashes[c] is dict[c]'s
	table  []uint32 // code+1 by hash slot; 0 is empty
}

// resize makes the table at least size slots (a power of two) and places
// the known values again.
func (x *dictIndex) resize(size int) {
	n := 1 << 10
	for n < size {
		n *= 2
	}
	if n <= len(x.table) {
		return
	}
	x.table = make([]uint32, n)
	mask := uint64(n - 1)
	for c, h := range x.hashes {
		i := h & mask
		for x.table[i] != 0 {
			i = (i + 1) & mask
		}
		x.table[i] = uint32(c + 1)
	}
}

// code returns v's code, numbering it next when it is new.
func (x *dictIndex) code(v string) (code uint32, isNew bool) {
	h := maphash.String(x.seed, v)
	mask := uint64(len(x.table) - 1)
	i := h & mask
	for {
		e := x.table[i]
		if e == 0 {
			break
		}
		if x.hashes[e-1] == h && x.dict[e-1] == v {
			return e - 1, false
		}
		i = (i + 1) & mask
	}
	code = uint32(len(x.dict))
	x.dict = append(x.dict, v)
	x.hashes = append(x.hashes, h)
	x.table[i] = code + 1
	if 2*len(x.dict) > len(x.table) {
		x.resize(2 * len(x.table))
	}
	return code, true
}

// CodeWidth is the bytes a table file stores each code of a column of
// ndict values in: 1, 2 or 4 (little-endian). Other formats that keep
// codes use the same widths through it and AppendCode.
func CodeWidth(ndict int) int {
	switch {
	case ndict <= 1<<8:
		return 1
	case ndict <= 1<<16:
		return 2
	}
	return 4
}

// AppendCode appends code to b in width bytes (CodeWidth).
func AppendCode(b []byte, width int, code uint32) []byte {
	switch width {
	case 1:
		return append(b, byte(code))
	case 2:
		return binary.LittleEndian.AppendUint16(b, uint16(code))
	}
	return binary.LittleEndian.AppendUint32(b, code)
}

// Table is a table file's header: its columns, rows and lines.
type Table struct {
	// Names are the columns in file order.
	Names []string
	// Lines are the CSV lines of the rows.
	Lines []int32
	r     io.ReaderAt
	// offs and lens locate each column's block.
	offs, lens []int64
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.Lines) }

// Column is one decoded column: row i holds Dict[Codes[i]].
type Column struct {
	Dict  []string
	Codes []uint32
}

// At returns row i's value.
func (c *Column) At(i int) string { return c.Dict[c.Codes[i]] }

// Read reads a table's header from r, whose size is size.
func Read(r io.ReaderAt, size int64) (*Table, error) {
	// The header is read in growing chunks: its size is known only once
	// it is parsed.
	chunk := int64(64 << 10)
	for {
		n := min(chunk, size)
		buf := make([]byte, n)
		if _, err := r.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && n == size) {
			return nil, err
		}
		t, end, err := parseHeader(buf)
		if err == errShort && n < size {
			chunk *= 4
			continue
		}
		if err != nil {
			return nil, ErrCorrupt
		}
		t.r = r
		off := int64(end)
		for i := range t.lens {
			t.offs[i] = off
			off += t.lens[i]
		}
		if off != size {
			return nil, ErrCorrupt
		}
		return t, nil
	}
}

var errShort = errors.New("short")

func parseHeader(b []byte) (*Table, int, error) {
	if len(b) < len(Magic) {
		return nil, 0, errShort
	}
	if string(b[:len(Magic)]) != Magic {
		return nil, 0, ErrCorrupt
	}
	p := len(Magic)
	var err error
	u := func() uint64 {
		if err != nil {
			return 0
		}
		v, k := binary.Uvarint(b[p:])
		if k <= 0 {
			if k == 0 {
				err = errShort
			} else {
				err = ErrCorrupt
			}
			return 0
		}
		p += k
		return v
	}
	t := &Table{}
	nc := u()
	if nc > maxHeader {
		return nil, 0, ErrCorrupt
	}
	for i := uint64(0); i < nc && err == nil; i++ {
		l := u()
		if err == nil && l > uint64(len(b)-p) {
			err = errShort
			if l > maxHeader {
				err = ErrCorrupt
			}
		}
		if err != nil {
			break
		}
		t.Names = append(t.Names, string(b[p:p+int(l)]))
		p += int(l)
	}
	nr := u()
	if nr > maxHeader {
		return nil, 0, ErrCorrupt
	}
	if err == nil && nr > uint64(len(b)-p) {
		// Each row's line takes a byte at least: the header goes on
		// past b (Read reads more and parses again).
		return nil, 0, errShort
	}
	t.Lines = make([]int32, 0, nr)
	line := uint64(1)
	for i := uint64(0); i < nr && err == nil; i++ {
		d := u()
		if d == 0 || line+d > 1<<31-1 {
			if err == nil {
				err = ErrCorrupt
			}
			break
		}
		line += d
		t.Lines = append(t.Lines, int32(line))
	}
	for i := uint64(0); i < nc && err == nil; i++ {
		t.lens = append(t.lens, int64(u()))
	}
	if err != nil {
		return nil, 0, err
	}
	t.offs = make([]int64, len(t.lens))
	return t, p, nil
}

// Column reads and decodes the named column.
func (t *Table) Column(name string) (*Column, error) {
	c := slices.Index(t.Names, name)
	if c < 0 {
		return nil, fmt.Errorf("no column %q (the table has %v)", name, t.Names)
	}
	blk := make([]byte, t.lens[c])
	if _, err := t.r.ReadAt(blk, t.offs[c]); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	col, ok := decodeBlock(blk, len(t.Lines))
	if !ok {
		return nil, ErrCorrupt
	}
	return col, nil
}

func decodeBlock(b []byte, n int) (*Column, bool) {
	p := 0
	nd, k := binary.Uvarint(b)
	if k <= 0 || nd > uint64(len(b)) {
		return nil, false
	}
	p += k
	col := &Column{Dict: make([]string, nd)}
	// One string holds every dictionary value; they are slices of it.
	// It is b itself, not a copy: b is the block read for this column
	// alone, which nothing writes afterwards.
	all := unsafe.String(&b[0], len(b))
	for i := range col.Dict {
		l, k := binary.Uvarint(b[p:])
		if k <= 0 || l > uint64(len(b)-p-k) {
			return nil, false
		}
		p += k
		col.Dict[i] = all[p : p+int(l)]
		p += int(l)
	}
	if p >= len(b) {
		return nil, false
	}
	width := int(b[p])
	p++
	if width != CodeWidth(int(nd)) || len(b)-p != width*n {
		return nil, false
	}
	col.Codes = make([]uint32, n)
	for i := range col.Codes {
		var code uint32
		switch width {
		case 1:
			code = uint32(b[p])
		case 2:
			code = uint32(binary.LittleEndian.Uint16(b[p:]))
		default:
			code = binary.LittleEndian.Uint32(b[p:])
		}
		p += width
		if code >= uint32(nd) {
			return nil, false
		}
		col.Codes[i] = code
	}
	return col, true
}
