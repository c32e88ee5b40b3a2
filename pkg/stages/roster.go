package stages

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"bethel/pkg/csvio"
	"bethel/pkg/schema"
	"bethel/pkg/stage"
)

// roster writes out/private/roster.csv: the check-in roster, one row per
// active registration, grouped by bethel (by number, then the bethel's
// name from the directory), then by the sort fields and the record key,
// with an empty checked_in column to tick at the desk. It carries names,
// allergies and emergency contacts, which is why it exists (staff need
// them on site) and why it is private: the privacy check refuses it in an
// internal or public node.
//
// Inputs: the normalized registrations, config/fields.toml (the field
// bound to the bethel role, and its directory), config/privacy.toml.
// Params (both optional, field names of config/fields.toml):
//
//	columns = ["registration_id", "last_name", ...]  # after bethel, bethel_name (default: every field)
//	sort    = ["last_name", "first_name"]             # within a bethel, case-insensitive; the key breaks ties
type roster struct{}

func init() { register(roster{}) }

func (roster) Name() string    { return "roster" }
func (roster) Version() string { return "4" }

// rosterPlan is the roster's columns as the node declares them.
type rosterPlan struct {
	header []string // output header
	src    []string // registration columns read: the bethel, then the copied columns
	sortBy []int    // indexes into src[1:] of the sort fields, then of the key
	// status is the index in src of the status field when it is read
	// (after the copied columns), or -1; inactive its values that count
	// nowhere, skipped defensively (the registrations stage leaves them
	// out already).
	status   int
	inactive map[string]bool
}

func rosterPlanOf(r *stage.Run, sch *schema.Schema) (*rosterPlan, error) {
	bethel := sch.Roles.Bethel
	if bethel == "" {
		return nil, fmt.Errorf("node %s: the roster groups by bethel: bind roles.bethel to a field in %s", r.Node, sch.File)
	}
	names := func(key string, def []string) ([]string, error) {
		v, ok := r.Params[key]
		if !ok {
			return def, nil
		}
		l, err := paramStrings(v)
		if err != nil {
			return nil, fmt.Errorf("node %s: params.%s %v", r.Node, key, err)
		}
		for _, n := range l {
			if sch.Field(n) == nil {
				return nil, fmt.Errorf("node %s: params.%s: no field %q is declared in %s%s", r.Node, key, n, sch.File, regDidYouMean(n, sch.Names()))
			}
		}
		return l, nil
	}
	for k := range r.Params {
		if k != "columns" && k != "sort" {
			return nil, fmt.Errorf("node %s: unknown param %q (want columns, sort)", r.Node, k)
		}
	}
	var all []string
	for _, f := range sch.Fields {
		if f.Name != bethel {
			all = append(all, f.Name)
		}
	}
	cols, err := names("columns", all)
	if err != nil {
		return nil, err
	}
	sortBy, err := names("sort", nil)
	if err != nil {
		return nil, err
	}
	p := &rosterPlan{header: append(append([]string{bethel, bethel + "_name"}, cols...), "checked_in"), src: append([]string{bethel}, cols...), status: -1}
	if st := sch.Roles.Status; st != "" && len(sch.Roles.Inactive) > 0 {
		p.status = len(p.src)
		p.src = append(p.src, st)
		p.inactive = map[string]bool{}
		for _, v := range sch.Roles.Inactive {
			p.inactive[v] = true
		}
	}
	for _, f := range append(sortBy, sch.PrimaryKey) {
		i := slices.Index(cols, f)
		if i < 0 {
			return nil, fmt.Errorf("node %s: the roster sorts by %s, which params.columns leaves out", r.Node, f)
		}
		p.sortBy = append(p.sortBy, i)
	}
	return p, nil
}

// paramStrings reads a param that is an array of strings.
func paramStrings(v any) ([]string, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("must be an array of field names")
	}
	out := make([]string, len(l))
	for i, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("must be an array of field names")
		}
		out[i] = s
	}
	return out, nil
}

// rosterOutputs finds the node's outputs: one .csv, and optionally one
// .xlsx, the same rows as a workbook.
func rosterOutputs(r *stage.Run) (csvOut, xlsxOut string, err error) {
	for _, o := range r.Outputs {
		switch {
		case strings.HasSuffix(o, ".csv") && csvOut == "":
			csvOut = o
		case strings.HasSuffix(o, ".xlsx") && xlsxOut == "":
			xlsxOut = o
		default:
			return "", "", fmt.Errorf("node %s: the roster writes one .csv output and optionally one .xlsx, have %v", r.Node, r.Outputs)
		}
	}
	if csvOut == "" {
		return "", "", fmt.Errorf("node %s: the roster writes one .csv output and optionally one .xlsx, have %v", r.Node, r.Outputs)
	}
	return csvOut, xlsxOut, nil
}

func (roster) Run(ctx context.Context, r *stage.Run) error {
	out, bookOut, err := rosterOutputs(r)
	if err != nil {
		return err
	}
	priv, sch, err := privacyAndSchemaOf(r)
	if err != nil {
		return err
	}
	plan, err := rosterPlanOf(r, sch)
	if err != nil {
		return err
	}
	var ds []Derivation
	for _, c := range plan.header {
		switch c {
		case plan.src[0] + "_name":
			ds = append(ds, Derivation{Column: c, From: []string{plan.src[0]}})
		case "checked_in":
		default:
			ds = append(ds, Derivation{Column: c, From: []string{c}})
		}
	}
	for _, o := range []string{out, bookOut} {
		if o == "" {
			continue
		}
		if err := priv.CheckPrivacy(r.Node, r.Visibility, declassifyOf(r), o, ds); err != nil {
			return err
		}
	}
	var bethels *Bethels
	if f := sch.Field(plan.src[0]); f.Reference != nil {
		if bethels, err = LoadBethels(r.FS, f.Reference.Resource); err != nil {
			return err
		}
	}
	in, err := r.Input(RegistrationsFile)
	if err != nil {
		return err
	}
	sc, done, err := scanRegistrations(r, in, plan.src...)
	if err != nil {
		return err
	}
	defer done()
	// A row's cells live in a table of byte blocks (xlsxTable: each field
	// after its length) and its sort key in chunks of a few megabytes,
	// with pointer-free entries: a million-row roster costs its own size
	// in memory and nothing for the garbage collector to scan. The CSV
	// and the workbook are both written from the table, in sorted order.
	type row struct {
		bethel   int32
		input    int32
		chunk    uint32
		keyStart uint32 // key is chunks[chunk][keyStart:keyEnd]
		keyEnd   uint32
		sheet    int32 // the workbook sheet: index in sheets
	}
	// The workbook's sheets, a value of the bethel column each (named as
	// xlsx.workbook names the sheets of a CSV it splits by a column: the
	// value and the bethel's name), are measured (each column's widest
	// cell) as the rows come; their order is the sort's, known later.
	var sheets []xlsxSheet
	sheetOf := map[string]int32{}
	const chunkSize = 1 << 20
	var rows []row
	var chunks [][]byte
	var cur []byte
	if fi, err := fs.Stat(r.FS, in); err == nil && fi.Size() > 0 && fi.Size() < 1<<31 {
		rows = make([]row, 0, fi.Size()/150)
	}
	tab := &xlsxTable{header: plan.header}
	cells := make([]string, 0, len(plan.header))
	for n := 0; ; n++ {
		if n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		v, err := sc.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if plan.status >= 0 {
			if plan.inactive[v[plan.status]] {
				continue
			}
			v = v[:plan.status]
		}
		b, _ := strconv.Atoi(v[0])
		name := ""
		if e := bethels.byNumber(b); e != nil {
			name = e.Name
		}
		cells = append(cells[:0], v[0], name)
		cells = append(cells, v[1:]...)
		cells = append(cells, "")
		tab.appendRow(cells)
		sh, ok := sheetOf[v[0]]
		if !ok {
			sn := v[0]
			if sn == "" {
				sn = "(blank)"
			}
			if name != "" {
				sn += " " + name
			}
			sh = int32(len(sheets))
			sheetOf[strings.Clone(v[0])] = sh
			sheets = append(sheets, newSheet(sn, tab))
		}
		sheets[sh].measure(cells)
		// The sort key: each sort field lower-cased, then the record key
		// as it is, separated by zero bytes.
		if len(cur) >= chunkSize {
			chunks = append(chunks, cur)
			cur = nil
		}
		if cur == nil {
			cur = make([]byte, 0, chunkSize+16<<10)
		}
		x := row{bethel: int32(b), input: int32(n), chunk: uint32(len(chunks)), keyStart: uint32(len(cur)), sheet: sh}
		last := len(plan.sortBy) - 1
		for _, k := range plan.sortBy[:last] {
			cur = appendLower(cur, v[1+k])
			cur = append(cur, 0)
		}
		cur = append(cur, v[1+plan.sortBy[last]]...)
		x.keyEnd = uint32(len(cur))
		rows = append(rows, x)
	}
	tab.flush()
	// Bethel numbers fit in 16 bits (all real ones do): then the bethel and
	// the key's first 6 bytes compare as one number, the next 8 as
	// another, and most comparisons of the sort end there. (Keys shorter
	// than the prefixes are padded with zeros, which orders them as the
	// keys themselves: a shorter key that ties is a prefix of the other.)
	chunks = append(chunks, cur)
	key := func(x *row) []byte { return chunks[x.chunk][x.keyStart:x.keyEnd] }
	packed := true
	for _, x := range rows {
		packed = packed && x.bethel >= 0 && x.bethel <= math.MaxUint16
	}
	// The sort moves small entries (the prefixes and a row number), not
	// the rows: half the bytes to move, which was most of its cost.
	type sortKey struct {
		prefix  uint64 // the key's first bytes, big-endian: most compares end here
		prefix2 uint64 // the next ones: names repeat, and compares of their bytes cost more
		i       uint32
	}
	keys := make([]sortKey, len(rows))
	for i := range rows {
		x := &rows[i]
		var pre [16]byte
		if packed {
			binary.BigEndian.PutUint16(pre[:], uint16(x.bethel))
			copy(pre[2:], key(x))
		} else {
			copy(pre[:], key(x))
		}
		keys[i] = sortKey{binary.BigEndian.Uint64(pre[:8]), binary.BigEndian.Uint64(pre[8:]), uint32(i)}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if !packed {
			if c := cmp.Compare(rows[a.i].bethel, rows[b.i].bethel); c != 0 {
				return c
			}
		}
		switch {
		case a.prefix != b.prefix:
			return cmp.Compare(a.prefix, b.prefix)
		case a.prefix2 != b.prefix2:
			return cmp.Compare(a.prefix2, b.prefix2)
		}
		ra, rb := &rows[a.i], &rows[b.i]
		return bytes.Compare(key(ra), key(rb))
	})
	// The rows are copied into a table in sorted order once, each row's
	// bytes whole: the CSV and the workbook then read it front to back
	// (reading the unsorted table in sorted order, a cache miss a row,
	// took longer than both writes).
	order := make([]int32, len(keys))
	for j, k := range keys {
		order[j] = int32(k.i)
	}
	keys = nil
	// The sheets in the order their first rows come, each with its rows.
	sorted := &xlsxTable{header: tab.header, rows: make([]uint64, 0, len(order)), blocks: make([]string, 0, len(tab.blocks)+1)}
	place := make([]int32, len(sheets))
	var book []xlsxSheet
	for j, i := range order {
		sorted.appendFrom(tab, i)
		k := rows[i].sheet
		if place[k] == 0 {
			s := sheets[k]
			s.tab = sorted
			book = append(book, s)
			place[k] = int32(len(book))
		}
		s := &book[place[k]-1]
		s.rows = append(s.rows, int32(j))
	}
	sorted.flush()
	tab = nil
	if len(book) == 0 {
		book = append(book, newSheet(sheetTitle(out), sorted))
	}
	uniqueSheetNames(book)
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	var bw io.Writer
	if bookOut != "" {
		if bw, err = r.Create(bookOut); err != nil {
			return err
		}
	}
	rec := lineageOf(r, out)
	rec.Grow(len(order))
	// The two files are written side by side: the workbook's XML and its
	// compression are most of the node's work.
	var csvErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		fields := make([]string, len(plan.header))
		cw := csvio.NewWriter(w)
		cw.Write(plan.header)
		for j, i := range order {
			sorted.fields(int32(j), fields)
			if csvErr = cw.Write(fields); csvErr != nil {
				return
			}
			rec.AddRef(in, int(rows[i].input))
		}
		csvErr = cw.Flush()
	})
	var bookErr error
	if bookOut != "" {
		bookErr = writeWorkbook(bw, book, false)
		if bookErr != nil {
			bookErr = fmt.Errorf("node %s: %w", r.Node, bookErr)
		}
	}
	wg.Wait()
	return cmp.Or(csvErr, bookErr)
}

// appendLower appends the lower-case form of s (as strings.ToLower would
// give it) without an intermediate string for ASCII.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return append(b, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}
