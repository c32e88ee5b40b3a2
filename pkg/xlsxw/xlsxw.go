// Package xlsxw writes spreadsheet workbooks (.xlsx, SpreadsheetML in an
// Open Packaging zip) straight from rows of text, fast and with little
// memory: each row's XML is formatted into a reused buffer, the buffer is
// cut into chunks that are deflated in parallel, and the compressed chunks
// are appended to the archive in a fixed order. The rows of a large sheet
// are not searched for repeats: the writer records the ones it knows of
// as it formats them (lz.go). A sheet's whole XML is
// never held in memory; only its compressed form is, until the sheet is
// complete and its entry can be written with the CRC and sizes already
// known.
//
// What it writes, and why:
//
//   - Every text cell is an inline string (t="inlineStr"): no shared
//     string table to build with a hash lookup per cell, and the
//     repetition is what deflate removes anyway. Text is never a formula
//     (formulas live in <f> elements, never written), so a value starting
//     with = + - @ is shown as written.
//   - A cell's r attribute is written only after blank cells left out:
//     without it a cell is in the column after the previous cell's, the
//     first cell of a row in the first column (ECMA-376 makes r optional;
//     Office's implementation notes give it that meaning). One or two blank
//     cells are written as empty elements instead, which is shorter; blank
//     cells at the end of a row are left out.
//   - One bold header row, frozen; a filter over the header and the rows;
//     each column's width.
//   - Typed columns: integers and decimals as numbers, dates, date-times
//     and times of day as serial numbers with a date or time format. A cell
//     of a typed column that does not read as its kind is written as text.
//   - The limits spreadsheet applications have: a sheet of more rows or
//     columns than they hold is an error; a text longer than a cell holds
//     is cut, as they cut it.
//   - Deterministic bytes: the parts in a fixed order, fixed zip times, a
//     fixed document date, chunks cut at fixed sizes, whatever the number
//     of processors.
package xlsxw

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Kind is how the cells of a column are written.
type Kind uint8

// The column kinds. The text a typed cell holds must read as its kind
// (Int and Decimal: -?[0-9]{1,15}(.[0-9]{1,15})?; Date: YYYY-MM-DD; Time:
// HH:MM; DateTime: RFC 3339); a cell that does not is written as text.
const (
	Text     Kind = iota // a string
	Int                  // a number, general format
	Decimal              // a number with two decimal places
	DateTime             // an RFC 3339 time as its wall-clock date and time (a cell has no zone)
	Date                 // a date
	Time                 // a time of day
)

// Column is one column of a sheet.
type Column struct {
	Title string  // the header cell, in bold
	Width float64 // in characters of the default font; 0 leaves the default width
	Kind  Kind
}

// Sheet is one sheet to write: its columns and its rows. Rows is how many
// rows Each yields (the filter's range names the last row before the rows
// are written); Each yields them in order, each with one field per column
// (missing fields are blank), and may reuse the slice between rows.
type Sheet struct {
	Name    string // at most 31 characters, none of []:*?/\, unique ignoring case: the caller's to check
	Columns []Column
	Rows    int
	Each    func(yield func(row []string) bool)
}

// Options tune a workbook's writing; the zero value is what bethel uses.
type Options struct {
	// Level is the deflate level; 0 means DefaultLevel.
	Level int
	// Workers bounds the goroutines that compress chunks; 0 means
	// GOMAXPROCS. The bytes written do not depend on it.
	Workers int
}

// The limits of a sheet in spreadsheet applications (Excel's): rows below
// the header row, columns, and characters of a cell's text (a longer text
// is cut there, as spreadsheet applications do).
const (
	MaxRows      = 1<<20 - 1
	MaxColumns   = 1 << 14
	MaxCellChars = 32767
)

// DefaultLevel is the deflate level a workbook is written at unless
// Options say otherwise. On a roster's XML, levels 1 to 3 cost the same
// time (3 without lazy matching stops early on the long matches of
// repeated markup) and 3 makes the smallest file of them; from 4 on,
// lazy matching costs half again as much.
const DefaultLevel = 3

// chunkSize is how much XML is deflated as one piece. Each piece starts a
// new deflate stream (its matches cannot reach into the piece before), so
// it is large compared with the 32 KiB window; it is fixed, not derived
// from the machine, so that the bytes are the same everywhere.
const chunkSize = 512 << 10

// Write writes the sheets as one workbook to w.
func Write(w io.Writer, sheets []Sheet, opt Options) error {
	if len(sheets) == 0 {
		return errors.New("a workbook needs at least one sheet")
	}
	for _, sh := range sheets {
		if sh.Rows > MaxRows {
			return fmt.Errorf("sheet %q: %d rows; a sheet holds at most %d below its header", sh.Name, sh.Rows, MaxRows)
		}
		if len(sh.Columns) > MaxColumns {
			return fmt.Errorf("sheet %q: %d columns; a sheet holds at most %d", sh.Name, len(sh.Columns), MaxColumns)
		}
	}
	level := opt.Level
	if level == 0 {
		level = DefaultLevel
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := newPipeline(w, level, workers)
	err := p.writeParts(sheets)
	if cerr := p.close(); err == nil {
		err = cerr
	}
	return err
}

// writeParts formats every part of the package into the pipeline, in the
// archive's order.
func (p *pipeline) writeParts(sheets []Sheet) error {
	parts := []struct {
		name string
		data func([]byte) []byte
	}{
		{"[Content_Types].xml", func(b []byte) []byte { return appendContentTypes(b, len(sheets)) }},
		{"_rels/.rels", func(b []byte) []byte { return append(b, rootRels...) }},
		{"docProps/core.xml", func(b []byte) []byte { return append(b, coreProps...) }},
		{"xl/workbook.xml", func(b []byte) []byte { return appendWorkbook(b, sheets) }},
		{"xl/_rels/workbook.xml.rels", func(b []byte) []byte { return appendWorkbookRels(b, len(sheets)) }},
		{"xl/styles.xml", func(b []byte) []byte { return append(b, styles...) }},
	}
	for _, part := range parts {
		p.begin(part.name)
		p.buf = part.data(p.buf)
		if err := p.end(); err != nil {
			return err
		}
	}
	var sw sheetWriter
	for i := range sheets {
		p.begin("xl/worksheets/sheet" + strconv.Itoa(i+1) + ".xml")
		if err := sw.write(p, &sheets[i], i == 0); err != nil {
			return err
		}
		if err := p.end(); err != nil {
			return err
		}
	}
	return nil
}

// pipeline deflates the parts' XML in parallel and writes the archive in
// order. The formatting goroutine appends XML to buf; every chunkSize bytes
// the buffer goes to a compressing worker and a free one takes its place
// (free holds a fixed number, which bounds the memory in flight); a
// finished part goes to the archive writer, which waits for its chunks and
// writes them as one entry.
type pipeline struct {
	buf  []byte
	cur  *part
	free chan []byte
	jobs chan *chunk
	done chan *part // finished parts, in order, to the archive writer
	// spent holds the match lists and the deflated buffers of chunks
	// done with, for the next chunks: a roster's sheets fill some
	// hundred chunks, and fresh memory for each cost more than encoding
	// them (each new page is faulted in and zeroed).
	spentMatches chan []lzMatch
	spentOut     chan []byte

	workers sync.WaitGroup
	writer  sync.WaitGroup
	zw      *zip.Writer

	mu  sync.Mutex
	err error // the archive writer's first error

	lz lzTracker // the current sheet's back-references (lz.go)
}

// part is one entry of the archive.
type part struct {
	name   string
	chunks []*chunk
	crc    uint32
	size   uint64
}

// chunk is a piece of a part's XML and, once done is closed, its deflated
// form.
type chunk struct {
	raw  []byte
	last bool
	// matches are the back-references the sheet writer recorded in raw
	// (lz.go); nil for a chunk compress/flate compresses.
	matches []lzMatch
	out     []byte
	reuse   bool // out may be reused once written (it came from outBuffer)
	done    chan struct{}
}

// outBuffer is an empty buffer for a deflated chunk, at least n bytes
// large: a spent one when there is one.
func (p *pipeline) outBuffer(n int) []byte {
	select {
	case b := <-p.spentOut:
		if cap(b) >= n {
			return b
		}
	default:
	}
	return make([]byte, 0, n)
}

func newPipeline(w io.Writer, level, workers int) *pipeline {
	p := &pipeline{
		free: make(chan []byte, 2*workers+2),
		jobs: make(chan *chunk, 2*workers+2),
		done: make(chan *part, 64),
		zw:   zip.NewWriter(w),

		spentMatches: make(chan []lzMatch, 2*workers+2),
		spentOut:     make(chan []byte, 2*workers+2),
	}
	for range cap(p.free) {
		p.free <- make([]byte, 0, chunkSize+64<<10)
	}
	for range workers {
		p.workers.Add(1)
		go p.compress(level)
	}
	p.writer.Add(1)
	go p.write()
	p.buf = <-p.free
	return p
}

// compress deflates chunks: each one a stream of its own, ended by a sync
// flush (a byte-aligned empty block that ends no stream) unless it is its
// part's last, which ends with the final block. Streams so cut join into
// one valid stream.
func (p *pipeline) compress(level int) {
	defer p.workers.Done()
	fw, _ := flate.NewWriter(io.Discard, level)
	var out bytes.Buffer
	for c := range p.jobs {
		if c.matches != nil {
			c.out = encodeFixed(p.outBuffer(len(c.raw)/4), c.raw, c.matches, c.last)
			c.reuse = true
			p.free <- c.raw[:0]
			select {
			case p.spentMatches <- c.matches[:0]:
			default:
			}
			c.raw, c.matches = nil, nil
			close(c.done)
			continue
		}
		out.Reset()
		fw.Reset(&out)
		fw.Write(c.raw) // a bytes.Buffer does not fail
		if c.last {
			fw.Close()
		} else {
			fw.Flush()
		}
		p.free <- c.raw[:0]
		c.raw = nil
		// Kept at its size until the part is written.
		c.out = bytes.Clone(out.Bytes())
		close(c.done)
	}
}

// write appends the finished parts to the archive, each as one entry of
// deflated data whose CRC and sizes are known before its header is written.
func (p *pipeline) write() {
	defer p.writer.Done()
	for pt := range p.done {
		var csize uint64
		for _, c := range pt.chunks {
			<-c.done
			csize += uint64(len(c.out))
		}
		if p.failed() {
			continue
		}
		fw, err := p.zw.CreateRaw(&zip.FileHeader{
			Name:               pt.name,
			Method:             zip.Deflate,
			CreatorVersion:     20,
			ReaderVersion:      20,
			ModifiedDate:       dosEpochDate,
			CRC32:              pt.crc,
			CompressedSize64:   csize,
			UncompressedSize64: pt.size,
		})
		for _, c := range pt.chunks {
			if err == nil {
				_, err = fw.Write(c.out)
			}
			if c.reuse {
				select {
				case p.spentOut <- c.out[:0]:
				default:
				}
			}
			c.out = nil
		}
		if err != nil {
			p.fail(err)
		}
	}
}

// dosEpochDate is 1980-01-01 in MS-DOS date form, the earliest a zip entry
// can say: every entry's time, so that the bytes never depend on a clock.
const dosEpochDate = 1<<5 | 1

func (p *pipeline) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

func (p *pipeline) failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err != nil
}

// begin starts a part.
func (p *pipeline) begin(name string) {
	p.cur = &part{name: name}
	p.buf = p.buf[:0]
}

// spill hands the buffer to a worker once it holds a chunk's worth; the
// sheet writer calls it after every row.
func (p *pipeline) spill() error {
	if len(p.buf) < chunkSize {
		return nil
	}
	p.send(false)
	if p.failed() {
		return p.firstErr()
	}
	return nil
}

func (p *pipeline) send(last bool) {
	pt := p.cur
	pt.crc = crc32.Update(pt.crc, crc32.IEEETable, p.buf)
	pt.size += uint64(len(p.buf))
	c := &chunk{raw: p.buf, last: last, matches: p.lz.take(), done: make(chan struct{})}
	pt.chunks = append(pt.chunks, c)
	p.jobs <- c
	p.buf = <-p.free
}

// end finishes the current part.
func (p *pipeline) end() error {
	p.send(true)
	p.done <- p.cur
	p.cur = nil
	return p.firstErr()
}

func (p *pipeline) firstErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// close waits for the workers and the archive writer and ends the archive.
func (p *pipeline) close() error {
	close(p.jobs)
	close(p.done)
	p.workers.Wait()
	p.writer.Wait()
	if err := p.firstErr(); err != nil {
		return err
	}
	return p.zw.Close()
}

// sheetWriter formats one sheet's XML; its column references are kept
// between sheets.
type sheetWriter struct {
	colRefs []string
}

// appendString appends the rest of a text cell: an inline string.
func appendString(b []byte, v string) []byte {
	if len(v) > MaxCellChars && utf8.RuneCountInString(v) > MaxCellChars {
		v = string([]rune(v)[:MaxCellChars])
	}
	b = append(b, ` t="inlineStr"><is>`...)
	b = appendText(b, v)
	return append(b, `</is></c>`...)
}

func (s *sheetWriter) colRef(c int) string {
	for len(s.colRefs) <= c {
		s.colRefs = append(s.colRefs, columnName(len(s.colRefs)))
	}
	return s.colRefs[c]
}

// columnName is the letters of the 0-based column c: A, Z, AA.
func columnName(c int) string {
	var b [4]byte
	i := len(b)
	for c++; c > 0; c = (c - 1) / 26 {
		i--
		b[i] = byte('A' + (c-1)%26)
	}
	return string(b[i:])
}

func (s *sheetWriter) write(p *pipeline, sh *Sheet, first bool) error {
	ncol := len(sh.Columns)
	b := append(p.buf, xmlHeader...)
	b = append(b, `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`...)
	ref := ""
	if ncol > 0 {
		ref = "A1:" + s.colRef(ncol-1) + strconv.Itoa(sh.Rows+1)
		b = append(b, `<dimension ref="`...)
		b = append(b, ref...)
		b = append(b, `"/>`...)
	}
	b = append(b, `<sheetViews><sheetView workbookViewId="0"`...)
	if first {
		b = append(b, ` tabSelected="1"`...)
	}
	b = append(b, `><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>`...)
	cols := false
	for c, col := range sh.Columns {
		if col.Width <= 0 {
			continue
		}
		if !cols {
			b = append(b, `<cols>`...)
			cols = true
		}
		b = append(b, `<col min="`...)
		b = strconv.AppendInt(b, int64(c+1), 10)
		b = append(b, `" max="`...)
		b = strconv.AppendInt(b, int64(c+1), 10)
		b = append(b, `" width="`...)
		b = strconv.AppendFloat(b, col.Width, 'f', -1, 64)
		b = append(b, `" customWidth="1"/>`...)
	}
	if cols {
		b = append(b, `</cols>`...)
	}
	b = append(b, `<sheetData>`...)
	if ncol > 0 {
		b = append(b, `<row r="1">`...)
		for _, col := range sh.Columns {
			if col.Title == "" {
				// Blank header cells are written too, so that the cells
				// after them need no reference.
				b = append(b, `<c s="1"/>`...)
				continue
			}
			b = append(b, `<c s="1"`...)
			b = appendString(b, col.Title)
		}
		b = append(b, `</row>`...)
	}
	p.buf = b
	n := 0
	var err error
	if sh.Each != nil && ncol > 0 {
		r := 1
		var rowRef []byte
		lz := &p.lz
		lz.reset(p, ncol, sh.Rows >= lzMinRows)
		sh.Each(func(row []string) bool {
			r++
			n++
			rowRef = strconv.AppendInt(rowRef[:0], int64(r), 10)
			b := p.buf
			lz.markup(lzRowOpen, len(b))
			b = append(b, `<row r="`...)
			b = append(b, rowRef...)
			b = append(b, `">`...)
			gap := 0 // blank cells since the last one written
			for c, col := range sh.Columns {
				if c >= len(row) || row[c] == "" {
					gap++
					continue
				}
				if gap > 0 && gap <= 2 {
					// Shorter than a reference.
					for range gap {
						lz.markup(lzEmpty, len(b))
						b = append(b, `<c/>`...)
					}
					gap = 0
				}
				start := len(b)
				b = append(b, `<c`...)
				if gap > 0 {
					b = append(b, ` r="`...)
					b = append(b, s.colRef(c)...)
					b = append(b, rowRef...)
					b = append(b, '"')
					gap = 0
				}
				b = appendCell(b, row[c], col.Kind)
				lz.cell(b, c, start, len(b))
			}
			lz.markup(lzRowClose, len(b))
			p.buf = append(b, `</row>`...)
			err = p.spill()
			return err == nil
		})
	}
	if err != nil {
		return err
	}
	if ncol > 0 && n != sh.Rows {
		return fmt.Errorf("sheet %q: %d rows said, %d given", sh.Name, sh.Rows, n)
	}
	b = append(p.buf, `</sheetData>`...)
	if ncol > 0 {
		b = append(b, `<autoFilter ref="`...)
		b = append(b, ref...)
		b = append(b, `"/>`...)
	}
	b = append(b, `<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`...)
	p.buf = b
	return nil
}

// appendCell appends the rest of a cell element whose `<c` (and reference)
// is written: its style, type and value.
func appendCell(b []byte, v string, k Kind) []byte {
	switch k {
	case Int:
		if isNumber(v) {
			return appendNumber(b, "", v)
		}
	case Decimal:
		if isNumber(v) {
			return appendNumber(b, ` s="2"`, v)
		}
	case DateTime:
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			// The wall-clock time in the zone it was written in: a cell
			// has no zone.
			wall := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
			if x, ok := serial(wall); ok {
				return appendFloat(b, ` s="3"`, x)
			}
		}
	case Date:
		if len(v) == 10 {
			if t, err := time.Parse("2006-01-02", v); err == nil {
				if x, ok := serial(t); ok {
					return appendFloat(b, ` s="4"`, x)
				}
			}
		}
	case Time:
		if len(v) == 5 && v[2] == ':' && isDigits(v[:2]) && isDigits(v[3:]) {
			h := int(v[0]-'0')*10 + int(v[1]-'0')
			m := int(v[3]-'0')*10 + int(v[4]-'0')
			if h < 24 && m < 60 {
				// A time of day is a fraction of a day.
				return appendFloat(b, ` s="5"`, float64(h*60+m)/1440)
			}
		}
	}
	return appendString(b, v)
}

func appendNumber(b []byte, style, v string) []byte {
	b = append(b, style...)
	b = append(b, `><v>`...)
	b = append(b, v...)
	return append(b, `</v></c>`...)
}

func appendFloat(b []byte, style string, x float64) []byte {
	b = append(b, style...)
	b = append(b, `><v>`...)
	b = strconv.AppendFloat(b, x, 'f', -1, 64)
	return append(b, `</v></c>`...)
}

// excelEpoch is day 0 of the spreadsheet's serial dates (1900 date
// system; the day count skips the format's phantom 1900-02-29, so serials
// are right from 1900-03-01 on).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).Unix()

// serial is t's serial date number; ok is false before 1900-03-01, where
// the 1900 date system's serials are not a plain day count.
func serial(t time.Time) (float64, bool) {
	secs := t.Unix() - excelEpoch
	if secs < 61*86400 {
		return 0, false
	}
	return float64(secs) / 86400, true
}

// isNumber reports whether v is -?[0-9]{1,15}(.[0-9]{1,15})?: a number a
// spreadsheet holds exactly enough, in a form XML Schema's double reads.
func isNumber(v string) bool {
	if v != "" && v[0] == '-' {
		v = v[1:]
	}
	whole, frac, dot := strings.Cut(v, ".")
	return len(whole) <= 15 && isDigits(whole) && (!dot || len(frac) <= 15 && isDigits(frac))
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"

func appendContentTypes(b []byte, sheets int) []byte {
	b = append(b, xmlHeader...)
	b = append(b, `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`+
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>`+
		`<Default Extension="xml" ContentType="application/xml"/>`+
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>`+
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>`+
		`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>`...)
	for i := 1; i <= sheets; i++ {
		b = append(b, `<Override PartName="/xl/worksheets/sheet`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`...)
	}
	return append(b, `</Types>`...)
}

const rootRels = xmlHeader + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
	`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
	`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
	`</Relationships>`

// coreProps names the creator and fixes the document's dates, so that the
// same rows give the same bytes.
const coreProps = xmlHeader + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
	`<dc:creator>bethel</dc:creator>` +
	`<dcterms:created xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:created>` +
	`<dcterms:modified xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:modified>` +
	`</cp:coreProperties>`

func appendWorkbook(b []byte, sheets []Sheet) []byte {
	b = append(b, xmlHeader...)
	b = append(b, `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`+
		`<bookViews><workbookView activeTab="0"/></bookViews><sheets>`...)
	for i, sh := range sheets {
		b = append(b, `<sheet name="`...)
		b = appendEscaped(b, sh.Name, true)
		b = append(b, `" sheetId="`...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, `" r:id="rId`...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, `"/>`...)
	}
	b = append(b, `</sheets>`...)
	// The filter's range as a hidden defined name, as spreadsheet
	// applications write it beside the sheet's autoFilter.
	names := false
	for i, sh := range sheets {
		if len(sh.Columns) == 0 {
			continue
		}
		if !names {
			b = append(b, `<definedNames>`...)
			names = true
		}
		b = append(b, `<definedName name="_xlnm._FilterDatabase" localSheetId="`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `" hidden="1">`...)
		b = appendEscaped(b, quoteSheet(sh.Name), false)
		b = append(b, `!$A$1:$`...)
		b = append(b, columnName(len(sh.Columns)-1)...)
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(sh.Rows+1), 10)
		b = append(b, `</definedName>`...)
	}
	if names {
		b = append(b, `</definedNames>`...)
	}
	return append(b, `</workbook>`...)
}

// quoteSheet is a sheet name as a formula refers to it: in apostrophes,
// an apostrophe in it doubled.
func quoteSheet(name string) string {
	q := []byte{'\''}
	for i := 0; i < len(name); i++ {
		if name[i] == '\'' {
			q = append(q, '\'')
		}
		q = append(q, name[i])
	}
	return string(append(q, '\''))
}

func appendWorkbookRels(b []byte, sheets int) []byte {
	b = append(b, xmlHeader...)
	b = append(b, `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`...)
	for i := 1; i <= sheets; i++ {
		b = append(b, `<Relationship Id="rId`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `.xml"/>`...)
	}
	b = append(b, `<Relationship Id="rId`...)
	b = strconv.AppendInt(b, int64(sheets+1), 10)
	b = append(b, `" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>`...)
	return append(b, `</Relationships>`...)
}

// styles holds the cell formats the sheets use, by index: 0 the default,
// 1 bold (headers), 2 two decimal places, 3 date and time, 4 date, 5 time
// of day. The two fills are the ones the format reserves.
const styles = xmlHeader + `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
	`<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd"/><numFmt numFmtId="166" formatCode="hh:mm"/></numFmts>` +
	`<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>` +
	`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
	`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
	`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
	`<cellXfs count="6">` +
	`<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
	`<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>` +
	`<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>` +
	`<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>` +
	`<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>` +
	`<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>` +
	`</cellXfs>` +
	`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
	`</styleSheet>`
