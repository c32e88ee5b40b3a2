package stages

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"bethel/pkg/csvio"
	"bethel/pkg/lazyre"
	"bethel/pkg/stage"
)

// xlsxWorkbook writes CSV tables other nodes built as one spreadsheet
// workbook (.xlsx) that organizers open as they would any spreadsheet: a
// sheet per input, readable headers, the header row frozen, filters on, the
// columns wide enough, numbers as numbers and date-times as date-time cells
// (a CSV's RFC 3339 time becomes the wall-clock time of its zone, the
// event's), dates as dates and HH:MM as times of day. The CSVs stay the tools' format; the workbook is for people.
//
// Params (all optional):
//
//	sheets   = { "out/program/schedule.csv" = "Program" }  # sheet names; default: the file name, capitalized
//	split_by = "bethel"   # one input only: a sheet per value of this column, in the input's order
//	typed    = false      # every cell text (a roster: phones and ids stay as written); default true
//
// A sheet name is at most 31 characters and holds none of []:*?/\ (the
// format's rules). The bytes are deterministic: the document's created and
// modified times are fixed, and excelize writes its parts in a fixed order.
type xlsxWorkbook struct{}

func init() { register(xlsxWorkbook{}) }

func (xlsxWorkbook) Name() string    { return "xlsx.workbook" }
func (xlsxWorkbook) Version() string { return "3" }

// xlsxEpoch is the created and modified time written into every workbook:
// a fixed one, so that the same tables give the same bytes.
const xlsxEpoch = "2000-01-01T00:00:00Z"

// xlsxSheet is one sheet to write.
type xlsxSheet struct {
	name   string
	header []string
	rows   [][]string
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
	var sheets []xlsxSheet
	for _, in := range csvs {
		f, err := r.FS.Open(in)
		if err != nil {
			return err
		}
		header, rows, err := csvio.ReadAll(f, in)
		f.Close()
		if err != nil {
			return err
		}
		if splitBy != "" {
			s, err := splitSheets(in, header, rows, splitBy)
			if err != nil {
				return err
			}
			sheets = append(sheets, s...)
			continue
		}
		name := names[in]
		if name == "" {
			name = sheetTitle(in)
		}
		sheets = append(sheets, xlsxSheet{name: name, header: header, rows: rows})
	}
	if err := uniqueSheetNames(sheets); err != nil {
		return fmt.Errorf("node %s: %w", r.Node, err)
	}
	for in := range names {
		if !hasString(csvs, in) {
			return fmt.Errorf("node %s: params.sheets names %s, which is not a .csv input", r.Node, in)
		}
	}
	w, err := r.Create(r.Outputs[0])
	if err != nil {
		return err
	}
	return writeWorkbook(w, sheets, typed)
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

// splitSheets makes a sheet per value of column by, in the order the
// values first appear; a column named by+"_name" (bethel_name) adds its
// value to the sheet name.
func splitSheets(file string, header []string, rows [][]string, by string) ([]xlsxSheet, error) {
	col, nameCol := -1, -1
	for i, h := range header {
		switch h {
		case by:
			col = i
		case by + "_name":
			nameCol = i
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("%s: no column %q to split by (params.split_by)", file, by)
	}
	idx := map[string]int{}
	var out []xlsxSheet
	for _, row := range rows {
		v := cell(row, col)
		i, ok := idx[v]
		if !ok {
			name := v
			if name == "" {
				name = "(blank)"
			}
			if nameCol >= 0 && cell(row, nameCol) != "" {
				name += " " + cell(row, nameCol)
			}
			i = len(out)
			idx[v] = i
			out = append(out, xlsxSheet{name: name, header: header})
		}
		out[i].rows = append(out[i].rows, row)
	}
	if len(out) == 0 {
		out = append(out, xlsxSheet{name: sheetTitle(file), header: header})
	}
	return out, nil
}

func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
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

// columnKind is the kind every non-blank cell of column c agrees on; a
// column with none, or with cells of several kinds, is text. A number with
// a leading zero (012) stays text: it is a code, not a quantity.
func columnKind(rows [][]string, c int) int {
	kind := -1
	for _, row := range rows {
		v := cell(row, c)
		if v == "" {
			continue
		}
		k := kindText
		switch {
		case intRE().MatchString(v):
			k = kindInt
		case decimalRE().MatchString(v):
			k = kindDecimal
		case clockRE().MatchString(v):
			k = kindTime
		case dateRE().MatchString(v):
			if _, err := time.Parse("2006-01-02", v); err == nil {
				k = kindDate
			}
		default:
			if _, err := time.Parse(time.RFC3339, v); err == nil {
				k = kindDateTime
			}
		}
		switch {
		case kind == -1:
			kind = k
		case kind == kindInt && k == kindDecimal, kind == kindDecimal && k == kindInt:
			kind = kindDecimal
		case kind != k:
			return kindText
		}
	}
	if kind == -1 {
		return kindText
	}
	return kind
}

// writeWorkbook writes the sheets as one workbook to w. Each sheet goes
// through excelize's stream writer, which writes a row's XML as it comes
// instead of building a cell object per cell: a 100,000-row roster is
// seconds, not most of a build. The stream writer spills a sheet's XML
// above 16 MiB to a temporary file; the roster is private, so that file
// lives in a directory only this user can read, removed before returning.
func writeWorkbook(w io.Writer, sheets []xlsxSheet, typed bool) (err error) {
	tmp, err := os.MkdirTemp("", "bethel-xlsx-")
	if err != nil {
		return err
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); err == nil {
			err = rerr
		}
	}()
	f := excelize.NewFile(excelize.Options{TmpDir: tmp})
	f.SetZipWriter(fastZip)
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	var st xlsxStyles
	if st.bold, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return err
	}
	if st.dec, err = f.NewStyle(&excelize.Style{NumFmt: 2}); err != nil { // 0.00
		return err
	}
	dtFmt, dFmt, tFmt := "yyyy-mm-dd hh:mm", "yyyy-mm-dd", "hh:mm"
	if st.dt, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dtFmt}); err != nil {
		return err
	}
	if st.d, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dFmt}); err != nil {
		return err
	}
	if st.tm, err = f.NewStyle(&excelize.Style{CustomNumFmt: &tFmt}); err != nil {
		return err
	}
	for si, s := range sheets {
		if si == 0 {
			if err := f.SetSheetName("Sheet1", s.name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(s.name); err != nil {
			return err
		}
	}
	// Before any sheet is streamed: afterwards, choosing the active sheet
	// reads every streamed sheet back into cell objects.
	f.SetActiveSheet(0)
	for _, s := range sheets {
		if err := writeSheet(f, s, typed, st); err != nil {
			return err
		}
	}
	if err := f.SetDocProps(&excelize.DocProperties{Created: xlsxEpoch, Modified: xlsxEpoch, Creator: "bethel"}); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return err
	}
	return sortedZip(w, buf.Bytes())
}

// fastZip is the workbook's zip writer: deflate at its fastest level.
// Compressing was a third of the time spent writing a large roster at the
// default level.
func fastZip(w io.Writer) excelize.ZipWriter {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	return zw
}

// sortedZip copies the zip archive data to w with its entries in name
// order, still compressed. excelize writes streamed sheets in the order of
// a map, so the same tables would give different bytes from run to run.
func sortedZip(w io.Writer, data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	files := slices.Clone(zr.File)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := zw.Copy(f); err != nil {
			return err
		}
	}
	return zw.Close()
}

// xlsxStyles are the style ids of a workbook's header and typed cells.
type xlsxStyles struct{ bold, dec, dt, d, tm int }

// writeSheet streams one sheet: the kinds and widths of its columns come
// first (the stream writer takes widths and panes before the first row),
// then the header and the rows, in order.
func writeSheet(f *excelize.File, s xlsxSheet, typed bool, st xlsxStyles) error {
	kinds := make([]int, len(s.header))
	widths := make([]int, len(s.header))
	titles := make([]string, len(s.header))
	for c, h := range s.header {
		if typed {
			kinds[c] = columnKind(s.rows, c)
		}
		titles[c] = readableHeader(h)
		widths[c] = utf8.RuneCountInString(titles[c]) + 3 // room for the filter button
		for _, row := range s.rows {
			v := cell(row, c)
			if v == "" {
				continue
			}
			n := utf8.RuneCountInString(v)
			if kinds[c] == kindDateTime {
				n = 16
			}
			if n+2 > widths[c] {
				widths[c] = n + 2
			}
		}
	}
	if len(s.header) > 0 {
		// The filter is part of the sheet the stream writer finishes with.
		last, _ := excelize.CoordinatesToCellName(len(s.header), len(s.rows)+1)
		if err := f.AutoFilter(s.name, "A1:"+last, nil); err != nil {
			return err
		}
	}
	sw, err := f.NewStreamWriter(s.name)
	if err != nil {
		return err
	}
	for c, wd := range widths {
		if err := sw.SetColWidth(c+1, c+1, float64(min(wd, 60))); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	values := make([]any, len(s.header))
	for c, t := range titles {
		values[c] = excelize.Cell{StyleID: st.bold, Value: t}
	}
	if len(values) > 0 {
		if err := sw.SetRow("A1", values); err != nil {
			return err
		}
	}
	for ri, row := range s.rows {
		for c := range s.header {
			values[c] = typedCell(cell(row, c), kinds[c], st)
		}
		ref, _ := excelize.CoordinatesToCellName(1, ri+2)
		if err := sw.SetRow(ref, values); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// typedCell is the stream writer's value for a CSV cell of a column of
// kind k: nil for a blank cell (the writer leaves it out).
func typedCell(v string, k int, st xlsxStyles) any {
	if v == "" {
		return nil
	}
	switch k {
	case kindInt:
		i, _ := strconv.ParseInt(v, 10, 64)
		return i
	case kindDecimal:
		x, _ := strconv.ParseFloat(v, 64)
		return excelize.Cell{StyleID: st.dec, Value: x}
	case kindDateTime:
		t, _ := time.Parse(time.RFC3339, v)
		// The wall-clock time in the zone it was written in (the event's):
		// a spreadsheet cell has no zone.
		wall := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
		return excelize.Cell{StyleID: st.dt, Value: wall}
	case kindDate:
		t, _ := time.Parse("2006-01-02", v)
		return excelize.Cell{StyleID: st.d, Value: t}
	case kindTime:
		// A time of day is a fraction of a day in a cell.
		h, _ := strconv.Atoi(v[:2])
		m, _ := strconv.Atoi(v[3:])
		return excelize.Cell{StyleID: st.tm, Value: float64(h*60+m) / 1440}
	}
	return v
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
