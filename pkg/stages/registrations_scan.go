package stages

import (
	"io"
	"slices"

	"bethel/pkg/csvio"
	"bethel/pkg/patch"
	"bethel/pkg/stage"
)

// regScanner reads chosen columns of a normalized registrations file row
// by row, values as they are (csvio.Reader undoes the file's formula
// escaping; undoing it twice would turn '=x into =x). The
// roster and the duplicate report need personal columns the shared memo
// does not keep; parsing the whole file again cost each of them about as
// much as the rest of its work. When the registrations stage wrote that
// file in this process, it handed over its records (regMemo's full view),
// and the scanner reads them instead: the same values in the same order,
// since the file is exactly those records written out.
type regScanner struct {
	cells []string
	row   int
	// From the handed-over records:
	full *regFull
	fidx []int
	all  []string
	// From the file:
	cr  *csvio.Reader
	idx []int
}

// regFull is the registrations stage's result as the file it wrote holds
// it: row i of the file is t.Records[active[i]]. It is read-only.
type regFull struct {
	t      *patch.Table
	active []int
}

// scanRegistrations opens file (an input of r) for cols. A column the file
// lacks is an error naming it (csvio.Reader.Require's). close releases
// the file, if one was opened.
func scanRegistrations(r *stage.Run, file string, cols ...string) (s *regScanner, close func(), err error) {
	s = &regScanner{cells: make([]string, len(cols))}
	if full := regMemo.fullView(file, r.Sum); full != nil {
		s.full = full
		for _, c := range cols {
			i := slices.Index(full.t.Fields, c)
			if i < 0 {
				s.full = nil
				break
			}
			s.fidx = append(s.fidx, i)
		}
		if s.full != nil {
			return s, func() {}, nil
		}
	}
	f, err := r.FS.Open(file)
	if err != nil {
		return nil, nil, err
	}
	if s.cr, err = csvio.NewReader(f, file); err != nil {
		f.Close()
		return nil, nil, err
	}
	if s.idx, err = s.cr.Require(cols...); err != nil {
		f.Close()
		return nil, nil, err
	}
	return s, func() { f.Close() }, nil
}

// Next returns the next row's cells in the order of cols, valid until the
// next call, or io.EOF after the last row.
func (s *regScanner) Next() ([]string, error) {
	if s.full != nil {
		if s.row >= len(s.full.active) {
			return nil, io.EOF
		}
		rec := &s.full.t.Records[s.full.active[s.row]]
		if 2*len(s.fidx) < len(s.full.t.Fields) {
			// Fewer than half the columns (the duplicate report's five): a
			// Get each costs less than decoding them all (100,000 records:
			// 1.5 ms a column, against 18 ms for all 22).
			for k, f := range s.fidx {
				s.cells[k] = rec.Get(f)
			}
		} else {
			s.all = rec.AppendValues(s.all[:0])
			for k, f := range s.fidx {
				s.cells[k] = s.all[f]
			}
		}
		s.row++
		return s.cells, nil
	}
	rec, err := s.cr.Read()
	if err != nil {
		return nil, err
	}
	for k, i := range s.idx {
		s.cells[k] = rec.Fields[i]
	}
	s.row++
	return s.cells, nil
}

// NextWhere is Next for the rows whose first cell is in keep, skipping the
// others without decoding them from the handed-over records (a patch
// touches a few of a hundred thousand).
func (s *regScanner) NextWhere(keep map[string]bool) ([]string, error) {
	if s.full == nil {
		for {
			v, err := s.Next()
			if err != nil || keep[v[0]] {
				return v, err
			}
		}
	}
	for ; s.row < len(s.full.active); s.row++ {
		if keep[s.full.t.Records[s.full.active[s.row]].Get(s.fidx[0])] {
			return s.Next()
		}
	}
	return nil, io.EOF
}

// Len is the number of rows when known in advance (handed-over records),
// else -1: callers size their tables with it.
func (s *regScanner) Len() int {
	if s.full != nil {
		return len(s.full.active)
	}
	return -1
}

// Stable reports whether the cells Next returns stay valid after the next
// call (the handed-over records' values do; a parsed file's do not), so
// that a caller keeping them can skip copying.
func (s *regScanner) Stable() bool { return s.full != nil }
