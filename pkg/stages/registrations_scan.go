package stages

import (
	"fmt"
	"io"

	"bethel/pkg/coltable"
	"bethel/pkg/csvio"
	"bethel/pkg/stage"
)

// regScanner reads chosen columns of a normalized registrations file row
// by row, values as they are (csvio.Reader undoes the file's formula
// escaping; undoing it twice would turn '=x into =x). When the node lists
// the file's column table (registrations.table), the scanner reads the
// columns from it: the roster and the duplicate report need a few
// personal columns, and parsing the whole file cost each of them about as
// much as the rest of its work.
type regScanner struct {
	cells []string
	row   int
	// From the column table:
	cols []*coltable.Column
	n    int
	// From the file:
	cr  *csvio.Reader
	idx []int
}

// scanRegistrations opens file (an input of r) for cols. A column the file
// lacks is an error naming it (csvio.Reader.Require's). close releases
// the file, if one was opened.
func scanRegistrations(r *stage.Run, file string, cols ...string) (s *regScanner, close func(), err error) {
	s = &regScanner{cells: make([]string, len(cols))}
	if tab := regTableOf(r, file); tab != "" {
		t, closeT, err := openRegTable(r.FS, tab)
		if err != nil {
			return nil, nil, err
		}
		defer closeT()
		for _, c := range cols {
			col, err := t.Column(c)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", tab, err)
			}
			s.cols = append(s.cols, col)
		}
		s.n = t.Len()
		return s, func() {}, nil
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
	if s.cols != nil || s.cr == nil {
		if s.row >= s.n {
			return nil, io.EOF
		}
		for k, c := range s.cols {
			s.cells[k] = c.At(s.row)
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
// others.
func (s *regScanner) NextWhere(keep map[string]bool) ([]string, error) {
	for {
		v, err := s.Next()
		if err != nil || keep[v[0]] {
			return v, err
		}
	}
}

// Len is the number of rows when known in advance (a column table), else
// -1: callers size their tables with it.
func (s *regScanner) Len() int {
	if s.cr == nil {
		return s.n
	}
	return -1
}

// Stable reports whether the cells Next returns stay valid after the next
// call (a column table's values do; a parsed file's do not), so that a
// caller keeping them can skip copying.
func (s *regScanner) Stable() bool { return s.cr == nil }
