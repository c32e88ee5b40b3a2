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

// dense is that shape of an artifact with row lineage.
type dense struct {
	srcOf    []int32 // row -> its one source
	monotone bool    // srcOf ascends with the row
	// patched are the rows with patches, ascending.
	patched []int
	// major is the chain most rows share; minor lists the others.
	major    uint64
	majorAll bool
	minor    []maskRows
}

type maskRows struct {
	arts uint64
	all  bool
	rows []int // ascending
}

// makeDense finds whether a's resolved rows have the dense shape.
func makeDense(a *art) *dense {
	if len(a.rows) == 0 {
		return nil
	}
	d := &dense{srcOf: make([]int32, len(a.rows)), monotone: true}
	type mask struct {
		arts uint64
		all  bool
	}
	groups := map[mask][]int{}
	var order []mask
	for i := range a.rows {
		r := &a.rows[i]
		if !r.done || len(r.srcs) != 1 {
			return nil
		}
		d.srcOf[i] = r.srcs[0]
		if i > 0 && r.srcs[0] <= d.srcOf[i-1] {
			d.monotone = false
		}
		if len(r.patches) > 0 {
			d.patched = append(d.patched, i)
		}
		m := mask{r.arts, r.all}
		if _, ok := groups[m]; !ok {
			order = append(order, m)
		}
		groups[m] = append(groups[m], i)
	}
	major := order[0]
	for _, m := range order {
		if len(groups[m]) > len(groups[major]) {
			major = m
		}
	}
	d.major, d.majorAll = major.arts, major.all
	for _, m := range order {
		if m != major {
			d.minor = append(d.minor, maskRows{m.arts, m.all, groups[m]})
		}
	}
	return d
}

// denseCell resolves a count cell over rows of one dense child; ok is
// false when the cell does not fit (then the general walk answers).
func (w *Walker) denseCell(a *art, c lineage.Cell) (*Resolved, bool, error) {
	// The codec hands back a count's rows as refs to one input.
	input, rows := c.Input, c.Rows
	if len(c.Refs) > 0 {
		if len(rows) > 0 && c.Refs[0].Input != input {
			return nil, false, nil
		}
		input = c.Refs[0].Input
		rows = make([]int, 0, len(c.Refs)+len(c.Rows))
		for _, ref := range c.Refs {
			if ref.Input != input {
				return nil, false, nil
			}
			rows = append(rows, ref.Row)
		}
		rows = append(rows, c.Rows...)
	}
	if len(rows) == 0 {
		return nil, false, nil
	}
	ra, _, _, err := w.ref(a, input, rows[0], c.Fields)
	if err != nil || ra == nil || ra.dense == nil {
		return nil, false, err
	}
	d := ra.dense
	prev := -1
	for _, row := range rows {
		if row <= prev {
			return nil, false, nil
		}
		prev = row
	}
	if prev >= len(ra.rows) {
		return nil, false, nil
	}
	r := &Resolved{Sources: make([]int32, len(rows)), Derivation: c.Derivation, Fields: c.Fields}
	for i, row := range rows {
		r.Sources[i] = d.srcOf[row]
	}
	if !d.monotone {
		slices.Sort(r.Sources)
		r.Sources = slices.Compact(r.Sources)
	}
	for _, row := range d.patched {
		if _, in := slices.BinarySearch(rows, row); !in {
			continue
		}
		for _, p := range ra.rows[row].patches {
			if touches(w.patches[p].Fields, c.Fields) {
				r.Patches = append(r.Patches, p)
			}
		}
	}
	slices.Sort(r.Patches)
	r.Patches = slices.Compact(r.Patches)
	r.arts, r.all = a.bit()
	inMinor := 0
	for _, g := range d.minor {
		n := 0
		for _, row := range g.rows {
			if _, in := slices.BinarySearch(rows, row); in {
				n++
			}
		}
		if n > 0 {
			r.arts |= g.arts
			r.all = r.all || g.all
		}
		inMinor += n
	}
	if len(rows) > inMinor {
		r.arts |= d.major
		r.all = r.all || d.majorAll
	}
	return r, true, nil
}
