// Package cellref finds one cell of an output file the way a person names
// it: a CSV cell by spreadsheet row (the header is row 1) or by the value
// of a key column, and a column by name or 1-based number; a JSON value by
// a JSON pointer whose array steps may be indexes or the value of a row's
// key. It returns the cell's value and the row and column its node
// records the cell's lineage under, and knows nothing else: `bethel why`
// follows that lineage.
package cellref

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Cell is a cell found in a file.
type Cell struct {
	// Row is the spreadsheet row of a CSV cell (the header is row 1), or
	// 0 for a JSON value.
	Row int
	// Column is the CSV header name, or the JSON pointer with every array
	// step as an index.
	Column string
	// Value is the cell's text; nil when the row is shorter than the
	// header.
	Value *string
	// LineageRow is the row lineage names the cell by: the 0-based data
	// row of a CSV cell, -1 for a JSON value. Its column is Column.
	LineageRow int
}

// CSVQuery names a CSV cell: by Row, or by the row whose KeyCol holds
// KeyVal; Col is a header name or a 1-based column number.
type CSVQuery struct {
	Row            int
	Col            string
	KeyCol, KeyVal string
}

// CSV finds q's cell in data, the CSV file at path (a byte order mark is
// skipped). Errors name path and what the file has instead.
func CSV(path string, data []byte, q CSVQuery) (Cell, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return Cell{}, fmt.Errorf("%s: not a CSV file with a header: %w", path, err)
	}
	col := -1
	if n, err := strconv.Atoi(q.Col); err == nil {
		if n < 1 || n > len(header) {
			return Cell{}, fmt.Errorf("%s: column %d is out of range: the file has %d columns (%s)", path, n, len(header), strings.Join(header, ", "))
		}
		col = n - 1
	} else {
		for i, h := range header {
			if h == q.Col {
				col = i
			}
		}
		if col < 0 {
			return Cell{}, fmt.Errorf("%s: unknown column %q; columns: %s", path, q.Col, strings.Join(header, ", "))
		}
	}
	keyIdx := -1
	if q.KeyCol != "" {
		for i, h := range header {
			if h == q.KeyCol {
				keyIdx = i
			}
		}
		if keyIdx < 0 {
			return Cell{}, fmt.Errorf("%s: unknown column %q; columns: %s", path, q.KeyCol, strings.Join(header, ", "))
		}
	}
	// Rows are counted as a spreadsheet shows them: the header is row 1.
	var rec []string
	row, rows := q.Row, 1
	for {
		r, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Cell{}, fmt.Errorf("%s: %w", path, err)
		}
		rows++
		if keyIdx >= 0 {
			if keyIdx < len(r) && r[keyIdx] == q.KeyVal {
				rec, row = r, rows
				break
			}
		} else if rows == row {
			rec = r
			break
		}
	}
	if rec == nil {
		if keyIdx >= 0 {
			return Cell{}, fmt.Errorf("%s: no row has %s = %q", path, q.KeyCol, q.KeyVal)
		}
		if rows == 1 {
			return Cell{}, fmt.Errorf("%s: row %d is out of range: the file has only its header (row 1)", path, row)
		}
		return Cell{}, fmt.Errorf("%s: row %d is out of range: the data rows are 2 to %d (row 1 is the header)", path, row, rows)
	}
	c := Cell{Row: row, Column: header[col], LineageRow: row - 2}
	if col < len(rec) {
		v := rec[col]
		c.Value = &v
	}
	return c, nil
}

// JSON finds the value at pointer in data, the JSON document at path. An
// array step may be an index (/attendance/0/daughters) or the value of a
// row's key (/attendance/12/daughters, /meals/vegetarian/total); a key
// that reads as an index names the row when some row has it.
func JSON(path string, data []byte, pointer string) (Cell, error) {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return Cell{}, fmt.Errorf("%s: not a JSON document: %w", path, err)
	}
	if !strings.HasPrefix(pointer, "/") {
		return Cell{}, fmt.Errorf("%s: %q is not a JSON pointer (it starts with /)", path, pointer)
	}
	parts := strings.Split(pointer[1:], "/")
	for i := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(parts[i], "~1", "/"), "~0", "~")
	}
	cur := doc
	var canon []string
	for i, p := range parts {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[p]
			if !ok {
				return Cell{}, fmt.Errorf("%s: no value at %s (no key %q at /%s)", path, pointer, p, strings.Join(canon, "/"))
			}
			cur = next
			canon = append(canon, strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
		case []any:
			idx := -1
			if n, err := strconv.Atoi(p); err == nil && n >= 0 && n < len(v) && !keyedBy(v, p) {
				idx = n
			} else {
				for j, e := range v {
					if m, ok := e.(map[string]any); ok && firstKeyIs(m, p) {
						idx = j
						break
					}
				}
			}
			if idx < 0 {
				return Cell{}, fmt.Errorf("%s: no value at %s (%q is neither an index below %d nor a row's key at /%s)", path, pointer, p, len(v), strings.Join(canon, "/"))
			}
			cur = v[idx]
			canon = append(canon, strconv.Itoa(idx))
		default:
			return Cell{}, fmt.Errorf("%s: no value at %s (/%s is a single value)", path, pointer, strings.Join(parts[:i], "/"))
		}
	}
	c := Cell{Column: "/" + strings.Join(canon, "/"), LineageRow: -1}
	switch v := cur.(type) {
	case map[string]any, []any:
		return Cell{}, fmt.Errorf("%s: %s is an object or array, not a value: name one of its values", path, pointer)
	case nil:
		s := "null"
		c.Value = &s
	default:
		s := fmt.Sprint(v)
		c.Value = &s
	}
	return c, nil
}

// keyedBy reports whether some row of v has p as the value of its first
// key: then p names that row rather than an index.
func keyedBy(v []any, p string) bool {
	for _, e := range v {
		if m, ok := e.(map[string]any); ok && firstKeyIs(m, p) {
			return true
		}
	}
	return false
}

// firstKeyIs compares p with the row's key column. JSON objects lose
// their key order when decoded, so the key is the value of the first
// field the summaries write (a table's first CSV column).
func firstKeyIs(m map[string]any, p string) bool {
	for _, k := range []string{"bethel", "meal", "size", "day", "housing", "category", "registration_id_a"} {
		if v, ok := m[k]; ok {
			return fmt.Sprint(v) == p
		}
	}
	return false
}

// A1 reads a spreadsheet cell reference such as C3 or aa10: the column's
// letters (1 to 3 of them, A is column 1) and the row number. ok is false
// for anything else.
func A1(ref string) (row, col int, ok bool) {
	i := 0
	for i < len(ref) && i < 4 && (ref[i]|0x20 >= 'a' && ref[i]|0x20 <= 'z') {
		col = col*26 + int(ref[i]|0x20-'a'+1)
		i++
	}
	if i == 0 || i > 3 || i == len(ref) || len(ref)-i > 9 {
		return 0, 0, false
	}
	for _, c := range ref[i:] {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		row = row*10 + int(c-'0')
	}
	return row, col, true
}
