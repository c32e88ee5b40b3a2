package stages

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"bethel/pkg/csvio"
	"bethel/pkg/lazyre"
	"bethel/pkg/stage"
	"bethel/pkg/xlsxw"
)

// xlsxWorkbook writes CSV tables other nodes built as one spreadsheet
// workbook (.xlsx) that organizers open as they would any spreadsheet: a
// sheet per input, readable headers, the header row frozen, filters on, the
// columns wide enough, numbers as numbers and date-times as date-time cells
// (a CSV's RFC 3339 time becomes the wall-clock time of its zone, the
// event's), dates as dates and HH:MM as times of day. The CSVs stay the
// tools' format; the workbook is for people.
//
// Params (all optional):
//
//	sheets   = { "out/program/schedule.csv" = "Program" }  # sheet names; default: the file name, capitalized
//	split_by = "bethel"   # one input only: a sheet per value of this column, in the input's order
//	typed    = false      # every cell text (a roster: phones and ids stay as written); default true
//
// A sheet name is at most 31 characters and holds none of []:*?/\ (the
// format's rules). pkg/xlsxw writes the workbook: text cells are never
// formulas, and the bytes are deterministic (fixed times, parts in a fixed
// order).
type xlsxWorkbook struct{}

func init() { register(xlsxWorkbook{}) }

func (xlsxWorkbook) Name() string    { return "xlsx.workbook" }
func (xlsxWorkbook) Version() string { return "6" }

// xlsxSheet is one sheet to write: rows of a table, by index.
type xlsxSheet struct {
	name string
	tab  *xlsxTable
	rows []int32
	// longest is, per column, the most characters of a cell; filled
	// whether any cell is not blank (the widths).
	longest []int
	filled  []bool
}

// add puts row i, whose fields are given, on the sheet.
func (s *xlsxSheet) add(i int32, fields []string) {
	s.rows = append(s.rows, i)
	s.measure(fields)
}

// measure takes a row's fields into the columns' widths.
func (s *xlsxSheet) measure(fields []string) {
	for c, v := range fields {
		if v == "" {
			continue
		}
		s.filled[c] = true
		// A cell has at most as many characters as bytes: only a longer
		// one is counted.
		if len(v) > s.longest[c] {
			s.longest[c] = max(s.longest[c], utf8.RuneCountInString(v))
		}
	}
}

// newSheet is an empty sheet of tab's rows.
func newSheet(name string, tab *xlsxTable) xlsxSheet {
	n := len(tab.header)
	return xlsxSheet{name: name, tab: tab, longest: make([]int, n), filled: make([]bool, n)}
}

// xlsxTable is a CSV file's rows kept compactly: a row is its fields, each
// after its length as a uvarint, in blocks of about a megabyte, instead of
// a string per row or per field (fewer allocations, and a million-row
// roster is a third of the memory).
type xlsxTable struct {
	header []string
	blocks []string
	cur    []byte   // the block being filled
	rows   []uint64 // row i: its block << 32 | its offset in the block
}

const xlsxBlockSize = 1 << 20

// appendRow appends a row of fields to the table.
func (t *xlsxTable) appendRow(fields []string) {
	n := 0
	for _, f := range fields {
		n += len(f) + binary.MaxVarintLen64
	}
	if len(t.cur)+n > cap(t.cur) {
		t.flush()
		if n > cap(t.cur) {
			t.cur = make([]byte, 0, max(n, xlsxBlockSize))
		}
	}
	t.rows = append(t.rows, uint64(len(t.blocks))<<32|uint64(len(t.cur)))
	for _, f := range fields {
		t.cur = binary.AppendUvarint(t.cur, uint64(len(f)))
		t.cur = append(t.cur, f...)
	}
}

// appendFrom appends row i of src, its stored bytes copied whole.
func (t *xlsxTable) appendFrom(src *xlsxTable, i int32) {
	ref := src.rows[i]
	blk := src.blocks[ref>>32]
	end := len(blk)
	if int(i)+1 < len(src.rows) && src.rows[i+1]>>32 == ref>>32 {
		end = int(uint32(src.rows[i+1]))
	}
	b := blk[uint32(ref):end]
	if len(t.cur)+len(b) > cap(t.cur) {
		t.flush()
		if len(b) > cap(t.cur) {
			t.cur = make([]byte, 0, max(len(b), xlsxBlockSize))
		}
	}
	t.rows = append(t.rows, uint64(len(t.blocks))<<32|uint64(len(t.cur)))
	t.cur = append(t.cur, b...)
}

// flush ends the block being filled. The block becomes a string without
// a copy (a copy of every block was a copy of the whole table): its
// bytes are never written again, the next row going to a new block.
func (t *xlsxTable) flush() {
	if len(t.cur) > 0 {
		t.blocks = append(t.blocks, unsafe.String(&t.cur[0], len(t.cur)))
		t.cur = nil
	}
}

// fields fills dst (len(header) long) with row i's fields.
func (t *xlsxTable) fields(i int32, dst []string) {
	ref := t.rows[i]
	s := t.blocks[ref>>32][uint32(ref):]
	for c := range dst {
		n, w := uint64(s[0]), 1
		if n >= 0x80 {
			n, w = binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)]))
		}
		dst[c] = s[w : w+int(n)]
		s = s[w+int(n):]
	}
}

// xlsxPart is what the reader of one range of a CSV's records found: its
// rows and the sheets they go to, in the order they first appear, with
// the value of the column the sheets are split by.
type xlsxPart struct {
	tab    *xlsxTable
	sheets []xlsxSheet
	keys   []string
}

// readPart reads the records of a CSV (or of a range of its records after
// its header) into a part. With splitBy, a sheet per value of that column;
// a column named splitBy+"_name" (bethel_name) adds its value to the sheet
// name.
func readPart(r io.Reader, file, splitBy string) (*xlsxPart, error) {
	cr, err := csvio.NewReader(r, file)
	if err != nil {
		return nil, err
	}
	p := &xlsxPart{tab: &xlsxTable{header: cr.Header()}}
	col, nameCol := -1, -1
	if splitBy != "" {
		if col = cr.Index(splitBy); col < 0 {
			return nil, fmt.Errorf("%s: no column %q to split by (params.split_by)", file, splitBy)
		}
		nameCol = cr.Index(splitBy + "_name")
	} else {
		p.sheets = append(p.sheets, newSheet("", p.tab))
		p.keys = append(p.keys, "")
	}
	idx := map[string]int{}
	for n := int32(0); ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		p.tab.appendRow(rec.Fields)
		s := 0
		if col >= 0 {
			v := rec.Fields[col]
			i, ok := idx[v]
			if !ok {
				name := v
				if name == "" {
					name = "(blank)"
				}
				if nameCol >= 0 && rec.Fields[nameCol] != "" {
					name += " " + rec.Fields[nameCol]
				}
				i = len(p.sheets)
				v = strings.Clone(v)
				idx[v] = i
				p.sheets = append(p.sheets, newSheet(strings.Clone(name), p.tab))
				p.keys = append(p.keys, v)
			}
			s = i
		}
		p.sheets[s].add(n, rec.Fields)
	}
	p.tab.flush()
	return p, nil
}

// mergeParts joins the parts of one CSV, in order, into its sheets: one,
// named name, or with splitBy a sheet per value, in the order the values
// first appear in the file.
func mergeParts(parts []*xlsxPart, file, name, splitBy string) []xlsxSheet {
	tab := &xlsxTable{header: parts[0].tab.header}
	nrows, nblocks := 0, 0
	for _, p := range parts {
		nrows += len(p.tab.rows)
		nblocks += len(p.tab.blocks)
	}
	tab.rows = make([]uint64, 0, nrows)
	tab.blocks = make([]string, 0, nblocks)
	var sheets []xlsxSheet
	if splitBy == "" {
		sheets = append(sheets, newSheet(name, tab))
	}
	idx := map[string]int{}
	for _, p := range parts {
		rowBase, blockBase := int32(len(tab.rows)), uint64(len(tab.blocks))
		tab.blocks = append(tab.blocks, p.tab.blocks...)
		for _, ref := range p.tab.rows {
			tab.rows = append(tab.rows, ref+blockBase<<32)
		}
		for i := range p.sheets {
			from := &p.sheets[i]
			to := 0
			if splitBy != "" {
				j, ok := idx[p.keys[i]]
				if !ok {
					j = len(sheets)
					idx[p.keys[i]] = j
					sheets = append(sheets, newSheet(from.name, tab))
				}
				to = j
			}
			s := &sheets[to]
			if s.rows == nil && len(parts) == 1 {
				// Nothing to renumber.
				s.rows, s.longest, s.filled = from.rows, from.longest, from.filled
				continue
			}
			for _, r := range from.rows {
				s.rows = append(s.rows, r+rowBase)
			}
			for c := range s.longest {
				s.longest[c] = max(s.longest[c], from.longest[c])
				s.filled[c] = s.filled[c] || from.filled[c]
			}
		}
	}
	if len(sheets) == 0 {
		sheets = append(sheets, newSheet(sheetTitle(file), tab))
	}
	return sheets
}

// xlsxParallelMin is the size from which a CSV is read by several
// goroutines, each a range of its records.
const xlsxParallelMin = 2 << 20

// readSheets reads one CSV input into its sheets (mergeParts). A large
// file that can be read at offsets is cut into a range of records per
// processor, read in parallel; should any range fail, the file is read
// again from the start in one piece, so that an error names the line it
// would have named anyway.
func readSheets(f io.Reader, file, name, splitBy string) ([]xlsxSheet, error) {
	ra, ok := f.(io.ReaderAt)
	st, isFile := f.(interface{ Stat() (fs.FileInfo, error) })
	n := runtime.GOMAXPROCS(0)
	if ok && isFile && n > 1 {
		if fi, err := st.Stat(); err == nil && fi.Size() >= xlsxParallelMin {
			if parts, err := readParallel(ra, fi.Size(), n, file, splitBy); err == nil {
				return mergeParts(parts, file, name, splitBy), nil
			}
			f = io.NewSectionReader(ra, 0, fi.Size())
		}
	}
	p, err := readPart(f, file, splitBy)
	if err != nil {
		return nil, err
	}
	return mergeParts([]*xlsxPart{p}, file, name, splitBy), nil
}

// readParallel reads a CSV of size bytes as n ranges of records at once:
// each range after a copy of the header line.
func readParallel(ra io.ReaderAt, size int64, n int, file, splitBy string) ([]*xlsxPart, error) {
	bounds, err := csvSplits(ra, size, n)
	if err != nil {
		return nil, err
	}
	header := make([]byte, bounds[0])
	if _, err := ra.ReadAt(header, 0); err != nil {
		return nil, err
	}
	parts := make([]*xlsxPart, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := max(bounds[k], bounds[0])
			r := io.MultiReader(bytes.NewReader(header), io.NewSectionReader(ra, start, bounds[k+1]-start))
			parts[k], errs[k] = readPart(r, file, splitBy)
		}()
	}
	wg.Wait()
	return parts, errors.Join(errs...)
}

// csvSplits returns n+1 offsets of a CSV of size bytes: the end of its
// header line, then where each of n ranges of records ends, each at the
// start of a line outside quotes. Every quote toggles being inside a
// quoted field ("" included), so whether an offset is inside one is the
// parity of the quotes before it: they are counted first, a range of the
// file per goroutine.
func csvSplits(ra io.ReaderAt, size int64, n int) ([]int64, error) {
	at := func(k int) int64 { return size * int64(k) / int64(n) }
	quotes := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			quotes[k], errs[k] = countQuotes(io.NewSectionReader(ra, at(k), at(k+1)-at(k)))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	bounds := make([]int64, n+1)
	var err error
	if bounds[0], err = headerEnd(ra, size); err != nil {
		return nil, err
	}
	inQuotes := false
	for k := 1; k < n; k++ {
		inQuotes = inQuotes != (quotes[k-1]%2 == 1)
		if bounds[k], err = nextRecord(ra, size, at(k), inQuotes); err != nil {
			return nil, err
		}
		bounds[k] = max(bounds[k], bounds[k-1])
	}
	bounds[n] = size
	return bounds, nil
}

// headerEnd is the offset after a CSV's header line: the first line that
// is not empty (a byte order mark before it is not part of it).
func headerEnd(ra io.ReaderAt, size int64) (int64, error) {
	at := int64(0)
	for {
		end, err := nextRecord(ra, size, at, false)
		if err != nil || end-at > 5 || end == size {
			return end, err
		}
		b := make([]byte, end-at)
		if _, err := ra.ReadAt(b, at); err != nil {
			return 0, err
		}
		if at == 0 {
			b = bytes.TrimPrefix(b, []byte("\uFEFF"))
		}
		if len(bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))) > 0 {
			return end, nil
		}
		at = end
	}
}

func countQuotes(r io.Reader) (int, error) {
	buf := make([]byte, 256<<10)
	n := 0
	for {
		m, err := r.Read(buf)
		n += bytes.Count(buf[:m], []byte{'"'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// nextRecord is the offset after the first line feed outside quotes at or
// after at (inQuotes: whether at is inside a quoted field), or size.
func nextRecord(ra io.ReaderAt, size, at int64, inQuotes bool) (int64, error) {
	buf := make([]byte, 4<<10)
	for at < size {
		m, err := ra.ReadAt(buf[:min(int64(len(buf)), size-at)], at)
		if m == 0 && err != nil {
			return 0, err
		}
		for i, c := range buf[:m] {
			switch {
			case c == '"':
				inQuotes = !inQuotes
			case c == '\n' && !inQuotes:
				return at + int64(i) + 1, nil
			}
		}
		at += int64(m)
	}
	return size, nil
}

func (xlsxWorkbook) Run(ctx context.Context, r *stage.Run) error {
	if len(r.Outputs) != 1 || !strings.HasSuffix(r.Outputs[0], ".xlsx") {
		return fmt.Errorf("node %s: xlsx.workbook writes one .xlsx output, have %v", r.Node, r.Outputs)
	}
	names, splitBy, typed, err := xlsxParams(r)
	if err != nil {
		return err
	}
	var csvs []string
	for _, in := range r.Inputs {
		if strings.HasSuffix(in, ".csv") {
			csvs = append(csvs, in)
		}
	}
	if len(csvs) == 0 {
		return fmt.Errorf("node %s: xlsx.workbook needs at least one .csv input", r.Node)
	}
	if splitBy != "" && len(csvs) != 1 {
		return fmt.Errorf("node %s: split_by takes one .csv input, have %d", r.Node, len(csvs))
	}
	for in := range names {
		if !hasString(csvs, in) {
			return fmt.Errorf("node %s: params.sheets names %s, which is not a .csv input", r.Node, in)
		}
	}
	var sheets []xlsxSheet
	for _, in := range csvs {
		f, err := r.FS.Open(in)
		if err != nil {
			return err
		}
		name := names[in]
		if name == "" {
			name = sheetTitle(in)
		}
		s, err := readSheets(f, in, name, splitBy)
		f.Close()
		if err != nil {
			return err
		}
		sheets = append(sheets, s...)
	}
	if err := uniqueSheetNames(sheets); err != nil {
		return fmt.Errorf("node %s: %w", r.Node, err)
	}
	w, err := r.Create(r.Outputs[0])
	if err != nil {
		return err
	}
	if err := writeWorkbook(w, sheets, typed); err != nil {
		return fmt.Errorf("node %s: %w", r.Node, err)
	}
	return nil
}

func hasString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// xlsxParams decodes the node's params.
func xlsxParams(r *stage.Run) (names map[string]string, splitBy string, typed bool, err error) {
	names = map[string]string{}
	typed = true
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := r.Params[k]
		switch k {
		case "sheets":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, "", false, fmt.Errorf("node %s: params.sheets must be a table of input path = sheet name", r.Node)
			}
			for in, n := range m {
				s, ok := n.(string)
				if !ok || strings.TrimSpace(s) == "" {
					return nil, "", false, fmt.Errorf("node %s: params.sheets.%q must be a sheet name", r.Node, in)
				}
				names[in] = s
			}
		case "split_by":
			s, ok := v.(string)
			if !ok || s == "" {
				return nil, "", false, fmt.Errorf("node %s: params.split_by must be a column name", r.Node)
			}
			splitBy = s
		case "typed":
			b, ok := v.(bool)
			if !ok {
				return nil, "", false, fmt.Errorf("node %s: params.typed must be true or false", r.Node)
			}
			typed = b
		default:
			return nil, "", false, fmt.Errorf("node %s: unknown param %q of xlsx.workbook (sheets, split_by, typed)", r.Node, k)
		}
	}
	return names, splitBy, typed, nil
}

// sheetTitle names a sheet after its file: out/summary/tshirts.csv is
// "Tshirts", with the header words' spellings (T-shirts).
func sheetTitle(file string) string {
	base := file[strings.LastIndexByte(file, '/')+1:]
	base = strings.TrimSuffix(base, ".csv")
	return readableHeader(base)
}

var badSheetChars = lazyre.New(`[\[\]:*?/\\]`)

// uniqueSheetNames makes every name a valid sheet name, unique ignoring
// case as the format requires.
func uniqueSheetNames(sheets []xlsxSheet) error {
	seen := map[string]bool{}
	for i := range sheets {
		n := strings.TrimSpace(badSheetChars().ReplaceAllString(sheets[i].name, "-"))
		n = strings.Trim(n, "'")
		if n == "" {
			n = "Sheet"
		}
		n = truncRunes(n, 31)
		base := n
		for k := 2; seen[strings.ToLower(n)]; k++ {
			suffix := " " + strconv.Itoa(k)
			n = truncRunes(base, 31-len(suffix)) + suffix
		}
		seen[strings.ToLower(n)] = true
		sheets[i].name = n
	}
	return nil
}

func truncRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n]))
}

// headerWords spells the words of snake_case headers as people write them.
var headerWords = map[string]string{
	"id": "ID", "tshirt": "T-shirt", "tshirts": "T-shirts", "ics": "ICS", "json": "JSON",
}

// readableHeader turns a snake_case column name into words with a capital
// first letter: bethel_name is "Bethel name", tshirt_size "T-shirt size".
func readableHeader(h string) string {
	words := strings.FieldsFunc(h, func(r rune) bool { return r == '_' || r == ' ' })
	for i, w := range words {
		if s, ok := headerWords[strings.ToLower(w)]; ok {
			words[i] = s
			continue
		}
		if i == 0 {
			r, n := utf8.DecodeRuneInString(w)
			words[i] = strings.ToUpper(string(r)) + w[n:]
		}
	}
	if len(words) == 0 {
		return h
	}
	return strings.Join(words, " ")
}

// Column kinds, decided per column from every non-blank cell.
const (
	kindText = iota
	kindInt
	kindDecimal
	kindDateTime
	kindDate
	kindTime
)

var (
	intRE     = lazyre.New(`^-?(0|[1-9][0-9]{0,14})$`)
	decimalRE = lazyre.New(`^-?(0|[1-9][0-9]{0,12})\.[0-9]{1,6}$`)
	dateRE    = lazyre.New(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	clockRE   = lazyre.New(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// cellKind is the kind of one non-blank cell.
func cellKind(v string) int {
	switch {
	case intRE().MatchString(v):
		return kindInt
	case decimalRE().MatchString(v):
		return kindDecimal
	case clockRE().MatchString(v):
		return kindTime
	case dateRE().MatchString(v):
		if _, err := time.Parse("2006-01-02", v); err == nil {
			return kindDate
		}
	default:
		if _, err := time.Parse(time.RFC3339, v); err == nil {
			return kindDateTime
		}
	}
	return kindText
}

// columnKinds is, per column, the kind every non-blank cell of the sheet
// agrees on; a column with none, or with cells of several kinds, is text.
// A number with a leading zero (012) stays text: it is a code, not a
// quantity.
func (s *xlsxSheet) columnKinds() []int {
	n := len(s.tab.header)
	kinds := make([]int, n)
	for c := range kinds {
		kinds[c] = -1
	}
	fields := make([]string, n)
	for _, i := range s.rows {
		s.tab.fields(i, fields)
		for c, v := range fields {
			if v == "" || kinds[c] == kindText {
				continue
			}
			k := cellKind(v)
			switch kind := kinds[c]; {
			case kind == -1:
				kinds[c] = k
			case kind == kindInt && k == kindDecimal, kind == kindDecimal && k == kindInt:
				kinds[c] = kindDecimal
			case kind != k:
				kinds[c] = kindText
			}
		}
	}
	for c, k := range kinds {
		if k == -1 {
			kinds[c] = kindText
		}
	}
	return kinds
}

// xlsxKinds maps the column kinds to the writer's.
var xlsxKinds = [...]xlsxw.Kind{
	kindText: xlsxw.Text, kindInt: xlsxw.Int, kindDecimal: xlsxw.Decimal,
	kindDateTime: xlsxw.DateTime, kindDate: xlsxw.Date, kindTime: xlsxw.Time,
}

// writeWorkbook writes the sheets as one workbook to w (pkg/xlsxw): the
// readable headers, each column as wide as its longest cell (room for the
// filter button beside a header; a date-time shows 16 characters; at most
// 60), typed columns when typed.
func writeWorkbook(w io.Writer, sheets []xlsxSheet, typed bool) error {
	out := make([]xlsxw.Sheet, len(sheets))
	for si := range sheets {
		s := &sheets[si]
		var kinds []int
		if typed {
			kinds = s.columnKinds()
		}
		cols := make([]xlsxw.Column, len(s.tab.header))
		for c, h := range s.tab.header {
			title := readableHeader(h)
			width := utf8.RuneCountInString(title) + 3
			kind := kindText
			if kinds != nil {
				kind = kinds[c]
			}
			if s.filled[c] {
				n := s.longest[c]
				if kind == kindDateTime {
					n = 16
				}
				width = max(width, n+2)
			}
			cols[c] = xlsxw.Column{Title: title, Width: float64(min(width, 60)), Kind: xlsxKinds[kind]}
		}
		out[si] = xlsxw.Sheet{Name: s.name, Columns: cols, Rows: len(s.rows), Each: s.each}
	}
	return xlsxw.Write(w, out, xlsxw.Options{})
}

// each yields the sheet's rows, in one reused slice.
func (s *xlsxSheet) each(yield func([]string) bool) {
	fields := make([]string, len(s.tab.header))
	for _, i := range s.rows {
		s.tab.fields(i, fields)
		if !yield(fields) {
			return
		}
	}
}

// WorkbookSheet names the CSV input a sheet of an xlsx.workbook node's
// workbook was written from, by the names Run gives sheets, so that `bethel
// why summary.xlsx!Meals!C3` can ask about the CSV's cell. A workbook split
// by a column has no one CSV per sheet: that is an error.
func WorkbookSheet(inputs []string, params map[string]any, sheet string) (string, error) {
	r := &stage.Run{Node: "workbook", Inputs: inputs, Params: params}
	names, splitBy, _, err := xlsxParams(r)
	if err != nil {
		return "", err
	}
	if splitBy != "" {
		return "", fmt.Errorf("its sheets stand for the values of column %s, not for one CSV each: ask about the CSV", splitBy)
	}
	var sheets []xlsxSheet
	var csvs []string
	for _, in := range inputs {
		if !strings.HasSuffix(in, ".csv") {
			continue
		}
		n := names[in]
		if n == "" {
			n = sheetTitle(in)
		}
		sheets = append(sheets, xlsxSheet{name: n})
		csvs = append(csvs, in)
	}
	if err := uniqueSheetNames(sheets); err != nil {
		return "", err
	}
	var all []string
	for i, s := range sheets {
		if strings.EqualFold(s.name, sheet) {
			return csvs[i], nil
		}
		all = append(all, s.name)
	}
	return "", fmt.Errorf("no sheet %q; the sheets are %s", sheet, strings.Join(all, ", "))
}
