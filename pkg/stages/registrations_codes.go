package stages

import (
	"encoding/binary"
	"runtime"
	"strings"
	"sync"

	"bethel/pkg/coltable"
	"bethel/pkg/patch"
	"bethel/pkg/schema"
	scrubset "bethel/pkg/scrub"
)

// The mapped table keeps each field's values coded as a column table
// codes them (pkg/coltable: distinct values numbered in order of first
// use), over every record of the export in its order. The patching half
// writes registrations.table from these codes: a record no patch changed
// keeps its code, so only the values patches wrote are looked up, instead
// of hashing every value of every row again on each one-patch rebuild.

// mappedCol is one field's codes in the mapped table. The dictionary is
// not stored: value d is the field's value in record firsts[d] of the
// export, where it is first used.
type mappedCol struct {
	// ndict is the number of distinct values. When it is the number of
	// records every value is distinct, record i's code is i, and firsts
	// and codes are empty.
	ndict int
	// firsts is ndict uvarints: each value's first record, as the
	// difference from the previous value's.
	firsts string
	// codes is each record's code, coltable.CodeWidth(ndict) bytes
	// little-endian.
	codes string
}

// code is record i's code.
func (c *mappedCol) code(i int) uint32 {
	if len(c.codes) == 0 {
		return uint32(i)
	}
	switch coltable.CodeWidth(c.ndict) {
	case 1:
		return uint32(c.codes[i])
	case 2:
		return uint32(c.codes[2*i]) | uint32(c.codes[2*i+1])<<8
	default:
		p := 4 * i
		return uint32(c.codes[p]) | uint32(c.codes[p+1])<<8 | uint32(c.codes[p+2])<<16 | uint32(c.codes[p+3])<<24
	}
}

// firstRecords decodes firsts: value d's first record, for every d.
func (c *mappedCol) firstRecords(n int) ([]int, bool) {
	out := make([]int, c.ndict)
	if c.firsts == "" {
		if c.ndict != n {
			return nil, false
		}
		for d := range out {
			out[d] = d
		}
		return out, true
	}
	p, rec := 0, 0
	for d := range out {
		var v int
		for shift := 0; ; shift += 7 {
			if p == len(c.firsts) || shift > 28 {
				return nil, false
			}
			b := c.firsts[p]
			p++
			v |= int(b&0x7f) << shift
			if b < 0x80 {
				break
			}
		}
		if d > 0 && v == 0 {
			return nil, false
		}
		rec += v
		if rec >= n {
			return nil, false
		}
		out[d] = rec
	}
	return out, p == len(c.firsts)
}

// valid reports whether the stored codes' sizes fit n records (each
// code's range is checked where it is used).
func (c *mappedCol) valid(n int) bool {
	if c.ndict > n || (c.ndict == 0) != (n == 0) {
		return false
	}
	if c.ndict == n {
		return c.firsts == "" && c.codes == ""
	}
	return len(c.codes) == coltable.CodeWidth(c.ndict)*n
}

// newMappedCol stores a coded column of n records.
func newMappedCol(col *coltable.Column, n int) mappedCol {
	c := mappedCol{ndict: len(col.Dict)}
	if c.ndict == n {
		return c
	}
	firsts := make([]byte, 0, c.ndict+8)
	prev, seen := 0, uint32(0)
	w := coltable.CodeWidth(c.ndict)
	codes := make([]byte, 0, w*n)
	for i, code := range col.Codes {
		if code == seen {
			// First use (codes are numbered in order of first use).
			firsts = binary.AppendUvarint(firsts, uint64(i-prev))
			prev = i
			seen++
		}
		codes = coltable.AppendCode(codes, w, code)
	}
	c.firsts, c.codes = string(firsts), string(codes)
	return c
}

// regCodeColumns codes every field of t's records, one goroutine per core
// taking the next field, and gathers the sensitive fields' values into
// a scrub set: each distinct value of a field once (names and allergies
// repeat: a hundred thousand records hold a few thousand first names),
// which the codes' dictionaries give for free. Each goroutine adds into
// one builder for all the fields it takes (a key's flags merge in a
// builder as they do in a union), and the few sets are written as one.
func regCodeColumns(t *patch.Table, sch *schema.Schema) ([]mappedCol, []*scrubset.Set) {
	n := len(t.Records)
	format := map[int]string{}
	for _, c := range regSensitiveCols(sch, t.Fields) {
		format[c.col] = c.format
	}
	cols := make([]mappedCol, len(t.Fields))
	sets := gatherSets(len(cols), func(b *scrubset.Builder, c int) {
		col := coltable.Encode(n, func(i int) string { return t.Records[i].Get(c) })
		cols[c] = newMappedCol(col, n)
		if f, ok := format[c]; ok {
			for _, v := range col.Dict {
				if v != "" {
					b.Add(f, v)
				}
			}
		}
	})
	return cols, sets
}

// gatherSets calls do(b, k) for every k below n, on one goroutine per
// core taking the next k, each goroutine adding into its own builder b
// (a key's flags merge in a builder as they do in a union), and returns
// the few sets the builders made.
func gatherSets(n int, do func(b *scrubset.Builder, k int)) []*scrubset.Set {
	workers := max(1, min(runtime.GOMAXPROCS(0), n))
	sets := make([]*scrubset.Set, workers)
	next := make(chan int, n)
	for k := range n {
		next <- k
	}
	close(next)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b scrubset.Builder
			for k := range next {
				do(&b, k)
			}
			sets[w] = b.Set()
		}()
	}
	wg.Wait()
	return sets
}

// codedColumns is the columns of registrations.table for the active
// records, from the mapped table's codes: orig is the export's records
// before patches, cols their codes. A record a patch changed or added
// has its changed values looked up among the column's values (one pass
// over its dictionary, for all such values together); every other
// record's code is the stored one. Each column's dictionary is then
// renumbered in order of first use among the active records, as
// coltable.Encode would number it. No column holds a code per row: the
// table's codes are worked out again as they are written.
func (res *regResult) codedColumns(orig []patch.Record, cols []mappedCol) ([]coltable.Coded, error) {
	t := res.table
	n := len(orig)
	// changed marks the active records whose values may differ from the
	// export's: added by a patch, or repacked by one.
	changed := make([]bool, len(t.Records))
	var changedList []int
	for _, i := range res.active {
		if i >= n || t.Records[i].Packed() != orig[i].Packed() {
			changed[i] = true
			changedList = append(changedList, i)
		}
	}
	out := make([]coltable.Coded, len(cols))
	ok := make([]bool, len(cols))
	var wg sync.WaitGroup
	next := make(chan int, len(cols))
	for c := range cols {
		next <- c
	}
	close(next)
	for range max(1, min(runtime.GOMAXPROCS(0), len(cols))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				rc := &regCoded{res: res, mc: &cols[c], c: c, changed: changed}
				ok[c] = rc.prepare(orig, changedList)
				out[c] = rc
			}
		}()
	}
	wg.Wait()
	for c := range ok {
		if !ok[c] {
			return nil, errMappedCorrupt
		}
	}
	return out, nil
}

// regCoded is column c of registrations.table (a coltable.Coded).
type regCoded struct {
	res     *regResult
	mc      *mappedCol
	c       int
	changed []bool
	// over is the stored code, or one past the stored ones for a value
	// the export lacks, of each changed record's value.
	over map[int]uint32
	// remap[x] is stored code x's code in the table, plus one.
	remap []uint32
	// dict is the values in order of first use (taken on the column's
	// goroutine: writing is sequential).
	dict []string
}

// stored is active record i's stored code (or over's).
func (rc *regCoded) stored(i int) uint32 {
	if rc.changed[i] {
		return rc.over[i]
	}
	return rc.mc.code(i)
}

func (rc *regCoded) DictLen() int           { return len(rc.dict) }
func (rc *regCoded) DictValue(d int) string { return rc.dict[d] }
func (rc *regCoded) Code(k int) uint32      { return rc.remap[rc.stored(rc.res.active[k])] - 1 }

// prepare works out the codes of the changed records' values and numbers
// the values in order of first use; false when the stored codes are
// damaged.
func (rc *regCoded) prepare(orig []patch.Record, changedList []int) bool {
	t, c, mc := rc.res.table, rc.c, rc.mc
	n := len(orig)
	// The stored code when the value is the export's, else the code of
	// an equal value of the export, else a new code past the stored ones.
	rc.over = make(map[int]uint32, len(changedList))
	var wanted map[string]uint32
	for _, i := range changedList {
		v := t.Records[i].Get(c)
		if i < n && v == orig[i].Get(c) {
			rc.over[i] = mc.code(i)
			continue
		}
		if wanted == nil {
			wanted = map[string]uint32{}
		}
		wanted[v] = ^uint32(0)
	}
	extra := 0
	if len(wanted) > 0 {
		// One pass over the column's values; lengths first, since most
		// values are not wanted.
		var lens [256]bool
		for v := range wanted {
			lens[len(v)&255] = true
		}
		firsts, ok := mc.firstRecords(n)
		if !ok {
			return false
		}
		for d, rec := range firsts {
			v := orig[rec].Get(c)
			if !lens[len(v)&255] {
				continue
			}
			if code, ok := wanted[v]; ok && code == ^uint32(0) {
				wanted[v] = uint32(d)
			}
		}
		for v, code := range wanted {
			if code == ^uint32(0) {
				wanted[v] = uint32(mc.ndict + extra)
				extra++
			}
		}
		for _, i := range changedList {
			if _, ok := rc.over[i]; !ok {
				rc.over[i] = wanted[t.Records[i].Get(c)]
			}
		}
	}
	rc.remap = make([]uint32, mc.ndict+extra)
	rc.dict = make([]string, 0, min(len(rc.remap), len(rc.res.active)))
	for _, i := range rc.res.active {
		x := rc.stored(i)
		if x >= uint32(len(rc.remap)) || !rc.changed[i] && x >= uint32(mc.ndict) {
			return false
		}
		if rc.remap[x] == 0 {
			rc.dict = append(rc.dict, t.Records[i].Get(c))
			rc.remap[x] = uint32(len(rc.dict))
		}
	}
	return true
}

// regLines is the line of registrations.csv each active record starts
// on: the header is line 1, and a value with line breaks (quoted) spans
// more lines.
func (res *regResult) regLines() []int {
	t := res.table
	lines := make([]int, len(res.active))
	line := 2
	var vals []string
	for k, i := range res.active {
		lines[k] = line
		// Most records hold no line break at all: one search of the
		// packed record says so (its offsets may hold the byte too, and
		// then the values are counted one by one).
		if p := t.Records[i].Packed(); strings.IndexByte(p, '\n') >= 0 {
			vals = t.Records[i].AppendValues(vals[:0])
			for _, v := range vals {
				line += strings.Count(v, "\n")
			}
		}
		line++
	}
	return lines
}
