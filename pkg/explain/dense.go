package explain

import (
	"slices"

	"bethel/pkg/lineage"
)

// The review site explains every count cell of every summary, and a count
// cell names thousands of rows of a table whose every row stands for one
// record (out/private/registrations.csv). Resolved row by row, that is
// several passes over every (cell, row) pair; it was most of the site's
// time at 100,000 rows. When each row of the table reached exactly one
// source, a cell's sources are one array lookup per row, and only the few
// rows with patches or an unusual chain (a record added by a patch has no
// export line) need looking at one by one. An eager walker numbers sources
// in row order, so the lookups come out ascending for ascending rows.
//
// Many cells count the same rows (a day's total and every session open to
// all bethels that day; the same count in two summaries): the stored rows
// of such cells are the same bytes, so the set they resolve to is made
// once and shared.

// dense is that shape of an artifact with row lineage.
type dense struct {
	srcOf    []int32 // row -> its one source
	monotone bool    // srcOf ascends with the row
	// major is the chain most rows share.
	majorChain uint16
	major      uint64
	majorAll   bool
	// special are the rows with patches or another chain than major,
	// ascending; minor says which of them have another chain.
	special []int32
	minor   []bool
	// sets are the resolved row sets, by their stored form.
	sets map[string]*denseSet
}

// denseSet is what a set of rows of a dense artifact resolves to, whatever
// cell counts them.
type denseSet struct {
	n       int     // rows
	srcs    []int32 // the walker's sources, ascending; shared, never changed
	special []int32 // the dense table's special rows among them
	arts    uint64
	all     bool
}

// makeDense finds whether a's resolved rows have the dense shape.
func (w *Walker) makeDense(a *art) *dense {
	if len(a.rows) == 0 {
		return nil
	}
	// A table has a handful of chains: count rows per chain number.
	counts := map[uint16]int{}
	var order []uint16
	last := uint16(0)
	d := &dense{srcOf: make([]int32, len(a.rows)), monotone: true, sets: map[string]*denseSet{}}
	n := 0
	for i := range a.rows {
		r := &a.rows[i]
		if r.chain == 0 || r.nsrc != 1 {
			return nil
		}
		s := w.srcArena[r.src]
		d.srcOf[i] = s
		if i > 0 && s <= d.srcOf[i-1] {
			d.monotone = false
		}
		if r.chain != last {
			if last != 0 {
				counts[last] += n
			}
			if _, ok := counts[r.chain]; !ok {
				counts[r.chain] = 0
				order = append(order, r.chain)
			}
			last, n = r.chain, 0
		}
		n++
	}
	counts[last] += n
	major := order[0]
	for _, c := range order {
		if counts[c] > counts[major] {
			major = c
		}
	}
	d.majorChain = major
	mc := w.chains[major-1]
	d.major, d.majorAll = mc.arts, mc.all
	for i := range a.rows {
		r := &a.rows[i]
		minor := r.chain != major
		if r.npat > 0 || minor {
			d.special = append(d.special, int32(i))
			d.minor = append(d.minor, minor)
		}
	}
	return d
}

// denseCell resolves cell c of a, whose rows are all of one input, when
// that input is dense; ok is false when the cell does not fit (then the
// general walk answers).
func (w *Walker) denseCell(a *art, c lineage.Cell, rows lineage.CellRows) (*Resolved, bool, error) {
	child, err := w.denseInput(a, c, rows)
	if child == nil {
		return nil, false, err
	}
	set := child.dense.set(rows)
	if set == nil {
		buf, ok := rows.AppendRows(w.rowBuf[:0])
		w.rowBuf = buf
		if !ok {
			return nil, false, nil
		}
		if set = denseSetOf(child, w.chains, buf); set == nil {
			return nil, false, nil
		}
		child.dense.sets[string(rows.Encoded())] = set
	}
	return w.denseResolved(a, c, child, set), true, nil
}

// denseInput returns the artifact whose rows cell c of a counts, when it
// is dense; nil when not (or when the cell counts no row).
func (w *Walker) denseInput(a *art, c lineage.Cell, rows lineage.CellRows) (*art, error) {
	if rows.N == 0 {
		return nil, nil
	}
	if child := a.inputs[rows.Input]; child != nil {
		return child, nil
	}
	buf, ok := rows.AppendRows(w.rowBuf[:0])
	w.rowBuf = buf
	if !ok {
		return nil, nil
	}
	ra, _, _, err := w.ref(a, rows.Input, int(buf[0]), c.Fields)
	if err != nil || ra == nil || ra.dense == nil {
		return nil, err
	}
	if a.inputs == nil {
		a.inputs = map[string]*art{}
	}
	a.inputs[rows.Input] = ra
	return ra, nil
}

// set returns the resolved set of rows, if it was resolved before.
func (d *dense) set(rows lineage.CellRows) *denseSet {
	if set := d.sets[string(rows.Encoded())]; set != nil && set.n == rows.N {
		return set
	}
	return nil
}

// denseResolved is cell c of a, which counts the rows of set in child.
func (w *Walker) denseResolved(a *art, c lineage.Cell, child *art, set *denseSet) *Resolved {
	r := &Resolved{Sources: set.srcs, Derivation: c.Derivation, Fields: c.Fields}
	for _, row := range set.special {
		for _, p := range w.rowPatches(&child.rows[row]) {
			if touches(w.patches[p].Fields, c.Fields) {
				r.Patches = append(r.Patches, p)
			}
		}
	}
	slices.Sort(r.Patches)
	r.Patches = slices.Compact(r.Patches)
	r.arts, r.all = a.bit()
	r.arts |= set.arts
	r.all = r.all || set.all
	return r
}

// denseSetOf resolves ascending rows of the dense artifact a; nil when
// they are not strictly ascending or not all rows of a's row lineage (a
// count naming a row twice, or a cell of an aggregate input). It only
// reads a, so several can run at once (Explain).
func denseSetOf(a *art, chains []chain, rows []int32) *denseSet {
	d := a.dense
	if len(rows) == 0 || int(rows[len(rows)-1]) >= len(d.srcOf) {
		return nil
	}
	set := &denseSet{n: len(rows), srcs: make([]int32, len(rows))}
	sp, minor, prev := 0, 0, int32(-1)
	for i, row := range rows {
		// The stored rows never descend: a repeat is the only way out of
		// order, and the last row bounds them all.
		if row == prev {
			return nil
		}
		prev = row
		set.srcs[i] = d.srcOf[row]
		if sp < len(d.special) && d.special[sp] <= row {
			for sp < len(d.special) && d.special[sp] < row {
				sp++
			}
			if sp < len(d.special) && d.special[sp] == row {
				c := chains[a.rows[row].chain-1]
				set.special = append(set.special, row)
				set.arts |= c.arts
				set.all = set.all || c.all
				if d.minor[sp] {
					minor++
				}
			}
		}
	}
	if len(rows) > minor {
		set.arts |= d.major
		set.all = set.all || d.majorAll
	}
	if !d.monotone {
		slices.Sort(set.srcs)
		set.srcs = slices.Compact(set.srcs)
	}
	return set
}
