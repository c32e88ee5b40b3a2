package stages

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/pos"
	"bethel/pkg/stage"
)

// summaryCount is the one summary stage, `summary.count`: it counts the
// active registrations by one field (the rows) and optionally by a second
// (the columns), and writes a CSV with the cell lineage of every count.
// Every summary of the sample (attendance, meals, t-shirts, days, housing,
// dietary) is a node of it; a new question on the form gets its summary
// from a pipeline.toml node, never from code.
//
// Params:
//
//	rows          = "banquet_meal"   # the field counted by row (required)
//	label         = "meal"           # header of the first column (default: the field's name)
//	columns       = "member_type"    # a second field: a column per category, then total
//	column_labels = { daughter = "daughters" }  # headers of those columns (default: the category)
//	labels        = { bethel_name = "name" }    # reference rows: directory columns shown after the first
//	total_row     = true             # a last row TOTAL with the column sums
//	blank         = "(blank)"        # label of the row counting blank values (default "(blank)")
//	skip_blank    = true             # do not count records whose value is blank
//	keywords      = { "gluten free" = ["gluten", "celiac"] }  # see below
//	include_inactive = true          # count inactive registrations too (the status role's inactive values)
//
// Rows, by the field's declaration: a vocabulary's categories in its order
// (zero rows included); a list field's categories, a record counted once on
// each it holds; a reference field's directory keys (every one, zero rows
// included), with label columns copied from the directory; a free value's
// distinct values, sorted. A blank value is counted in its own row, after
// the others, written only when some record is blank. With columns, the
// member type field's columns are its groups; another field's columns are
// its categories (and the blank label when some record is blank).
//
// Keywords: rows may instead be a list of free-text fields (rows =
// ["dietary_needs", "allergies"]) counted into keyword categories: a record
// counts in every category one of whose keywords occurs, case-insensitively,
// in any of the fields; the rows are the categories by name, then
// `unclassified` (text matching no keyword; the stage warns with the count)
// and `any` (records with any text). Records with no text count nowhere.
//
// A sensitive field can be counted only if it is declared countable, and
// then only into categories (its vocabulary or keywords): its values never
// become labels. The output is checked as an aggregation under the privacy
// declaration before it is written.
//
// Inputs: the normalized registrations, the field declarations and the
// privacy declaration; a reference field's directory.
type summaryCount struct{}

func init() { register(summaryCount{}) }

func (summaryCount) Name() string    { return "summary.count" }
func (summaryCount) Version() string { return "1" }

// countSpec is a node's decoded params.
type countSpec struct {
	rows         []string
	label        string
	columns      string
	columnLabels map[string]string
	labels       [][2]string // header, directory column
	totalRow     bool
	blank        string
	skipBlank    bool
	inactive     bool
	keywords     map[string][]string
}

// countParams decodes and checks the params; errors name the node and the
// param, since pipeline.toml's positions do not reach stages.
func countParams(r *stage.Run) (*countSpec, error) {
	s := &countSpec{blank: "(blank)"}
	bad := func(k, format string, a ...any) error {
		return fmt.Errorf("node %s: params.%s %s", r.Node, k, fmt.Sprintf(format, a...))
	}
	str := func(k string, v any) (string, error) {
		x, ok := v.(string)
		if !ok || strings.TrimSpace(x) == "" {
			return "", bad(k, "must be a non-empty string")
		}
		return x, nil
	}
	table := func(k string, v any) (map[string]string, error) {
		t, ok := v.(map[string]any)
		if !ok {
			return nil, bad(k, "must be a table of strings")
		}
		out := map[string]string{}
		for _, name := range sortedKeys(t) {
			x, err := str(k+"."+name, t[name])
			if err != nil {
				return nil, err
			}
			out[name] = x
		}
		return out, nil
	}
	var err error
	for _, k := range sortedKeys(r.Params) {
		v := r.Params[k]
		switch k {
		case "rows":
			switch x := v.(type) {
			case string:
				if strings.TrimSpace(x) == "" {
					return nil, bad(k, "must be a field name or a list of field names")
				}
				s.rows = []string{x}
			case []any:
				for _, e := range x {
					f, ok := e.(string)
					if !ok || strings.TrimSpace(f) == "" {
						return nil, bad(k, "must be a field name or a list of field names")
					}
					s.rows = append(s.rows, f)
				}
			default:
				return nil, bad(k, "must be a field name or a list of field names")
			}
		case "label":
			s.label, err = str(k, v)
		case "columns":
			s.columns, err = str(k, v)
		case "column_labels":
			s.columnLabels, err = table(k, v)
		case "labels":
			var t map[string]string
			if t, err = table(k, v); err == nil {
				for _, h := range sortedKeys(t) {
					s.labels = append(s.labels, [2]string{h, t[h]})
				}
			}
		case "total_row", "skip_blank", "include_inactive":
			b, ok := v.(bool)
			if !ok {
				return nil, bad(k, "must be true or false")
			}
			switch k {
			case "total_row":
				s.totalRow = b
			case "skip_blank":
				s.skipBlank = b
			default:
				s.inactive = b
			}
		case "blank":
			s.blank, err = str(k, v)
		case "keywords":
			s.keywords, err = countKeywords(r, v)
		default:
			return nil, fmt.Errorf("node %s: unknown param %q (want rows, label, columns, column_labels, labels, total_row, blank, skip_blank, include_inactive, keywords)", r.Node, k)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(s.rows) == 0 {
		return nil, fmt.Errorf("node %s: stage summary.count needs params.rows, the field to count by", r.Node)
	}
	if len(s.rows) > 1 && s.keywords == nil {
		return nil, bad("rows", "lists several fields, which only keywords can count (params.keywords)")
	}
	if s.columnLabels != nil && s.columns == "" {
		return nil, bad("column_labels", "names columns, but the node has no params.columns")
	}
	if s.label == "" {
		s.label = s.rows[0]
		if s.keywords != nil {
			s.label = "category"
		}
	}
	return s, nil
}

// countKeywords reads params.keywords: category -> keywords.
func countKeywords(r *stage.Run, raw any) (map[string][]string, error) {
	tab, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("node %s: params.keywords must be a table of category = [keywords]", r.Node)
	}
	cats := map[string][]string{}
	for _, c := range sortedKeys(tab) {
		if c == "unclassified" || c == "any" {
			return nil, fmt.Errorf("node %s: params.keywords: %q is a reserved row name", r.Node, c)
		}
		l, ok := tab[c].([]any)
		if !ok || len(l) == 0 {
			return nil, fmt.Errorf("node %s: params.keywords.%s must be a non-empty array of keywords", r.Node, c)
		}
		for _, v := range l {
			s, ok := v.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf("node %s: params.keywords.%s: keywords are non-empty strings", r.Node, c)
			}
			cats[c] = append(cats[c], strings.ToLower(strings.TrimSpace(s)))
		}
	}
	return cats, nil
}

// countCols are a summary's count columns: one per category (or group) of
// the columns field, or the single "count" column.
type countCols struct {
	field  string
	names  []string // headers
	descr  []string // "member_type = daughter", for lineage
	of     func(v string) (int, bool)
	idx    map[string]int
	cats   []string // the values it accepts, for messages
	single bool
}

// withBlank adds a column for blank values of the columns field.
func (c *countCols) withBlank(label string) {
	c.idx[""] = len(c.names)
	c.names = append(c.names, label)
	c.descr = append(c.descr, c.field+" blank")
}

func (summaryCount) Run(ctx context.Context, r *stage.Run) error {
	if len(r.Outputs) != 1 {
		return fmt.Errorf("node %s: stage summary.count writes exactly one CSV output, have %d", r.Node, len(r.Outputs))
	}
	out := r.Outputs[0]
	spec, err := countParams(r)
	if err != nil {
		return err
	}
	priv, sch, err := privacyAndSchemaOf(r)
	if err != nil {
		return err
	}
	m := countModelFrom(sch)
	var fields []*countField
	for _, name := range append(slices.Clone(spec.rows), spec.columns) {
		if name == "" {
			continue
		}
		f := m.field(name)
		if f == nil {
			return fmt.Errorf("node %s: no field %q is declared in %s%s", r.Node, name, m.file, regDidYouMean(name, sortedKeys(m.fields)))
		}
		if f.sensitive && !f.countable {
			return fmt.Errorf("node %s: field %q is sensitive (declared in %s) and not declared countable; a summary may count a sensitive field's categories only when its declaration says countable = true", r.Node, name, m.file)
		}
		fields = append(fields, f)
	}
	rowField := fields[0]
	if spec.keywords == nil && rowField.sensitive && rowField.kind == kindFree {
		return fmt.Errorf("node %s: field %q is sensitive free text; count it into categories with params.keywords, so that its values never become row labels", r.Node, rowField.name)
	}
	if len(spec.labels) > 0 && rowField.kind != kindReference {
		return fmt.Errorf("node %s: params.labels copies directory columns, but field %q is not a reference to a directory", r.Node, rowField.name)
	}
	// The privacy check: labels copy the row field (or the directory,
	// keyed by it); every count column aggregates the fields counted.
	from := slices.Clone(spec.rows)
	if spec.columns != "" {
		from = append(from, spec.columns)
	}
	cols, err := countColumns(r, m, spec)
	if err != nil {
		return err
	}
	counts := slices.Clone(cols.names)
	if !cols.single {
		counts = append(counts, "total")
	}
	labels := map[string][]string{}
	if spec.keywords != nil {
		counts = append([]string{spec.label}, counts...)
	} else {
		labels[spec.label] = spec.rows[:1]
	}
	for _, l := range spec.labels {
		labels[l[0]] = spec.rows[:1]
	}
	if err := checkAggregate(r, priv, out, labels, counts, from); err != nil {
		return err
	}

	read := append([]string{m.key}, spec.rows...)
	if spec.columns != "" && !slices.Contains(read, spec.columns) {
		read = append(read, spec.columns)
	}
	if m.status != "" && !spec.inactive && !slices.Contains(read, m.status) {
		read = append(read, m.status)
	}
	rr, rowIdx, err := readRegistrations(ctx, r, read...)
	if err != nil {
		return err
	}
	if spec.columns != "" {
		// A blank column only when some record is blank.
		if vc := rr.col(spec.columns); vc.index != nil {
			if _, ok := vc.index[""]; ok {
				cols.withBlank(spec.blank)
			}
		}
	}
	t := &countTab{ncol: len(cols.names), track: tracking(r, out), pos: map[string]int{}}
	var colOf *byValue[int]
	if spec.columns != "" {
		colOf = newByValue(rr.col(spec.columns), cols.of)
	}
	ids := rr.col(m.key)
	// Inactive registrations count nowhere unless the node says so.
	var inactive *byValue[bool]
	if m.status != "" && !spec.inactive {
		inactive = newByValue(rr.col(m.status), func(v string) (bool, bool) { return slices.Contains(m.inactive, v), true })
	}
	// column is the count column of record i, or -1 for a record not counted.
	column := func(i int) (int, error) {
		if inactive != nil {
			if skip, _ := inactive.at(i); skip {
				return -1, nil
			}
		}
		if colOf == nil {
			return 0, nil
		}
		c, ok := colOf.at(i)
		if !ok {
			v := rr.col(spec.columns).at(i)
			return 0, pos.Errorf(pos.Pos{File: rr.file, Line: rr.line(i)}, "%s: %s %q is not one of %s (is the file normalized?)", ids.at(i), spec.columns, v, strings.Join(cols.cats, ", "))
		}
		return c, nil
	}
	var describe func(k string) string
	if spec.keywords != nil {
		describe, err = countByKeywords(r, rr, rowIdx, spec, t, column)
	} else {
		describe, err = countByField(r, m, rr, rowIdx, spec, rowField, t, column)
	}
	if err != nil {
		return err
	}
	var dir *countDirectory
	if len(spec.labels) > 0 {
		if dir, err = readDirectory(r, rowField.ref); err != nil {
			return err
		}
		for _, l := range spec.labels {
			if !slices.Contains(dir.header, l[1]) {
				return fmt.Errorf("node %s: params.labels.%s: %s has no column %q (header has %s)", r.Node, l[0], dir.file, l[1], strings.Join(dir.header, ", "))
			}
		}
	}
	label := func(k string) []string {
		row := []string{k}
		for _, l := range spec.labels {
			v := ""
			if dir != nil && dir.rows[k] != nil {
				v = dir.col(k, l[1])
			}
			row = append(row, v)
		}
		return row
	}
	return writeCountTable(r, out, spec, cols, t, label, rr.file, from, describe)
}

// countColumns works out the count columns.
func countColumns(r *stage.Run, m *countModel, spec *countSpec) (*countCols, error) {
	if spec.columns == "" {
		return &countCols{names: []string{"count"}, descr: []string{""}, single: true, of: func(string) (int, bool) { return 0, true }}, nil
	}
	f := m.field(spec.columns)
	c := &countCols{field: f.name}
	idx := map[string]int{}
	var names []string // what column_labels may name: the groups or the categories
	head := func(cat string) string {
		if h := spec.columnLabels[cat]; h != "" {
			return h
		}
		return cat
	}
	switch {
	case f.name == m.memberType && len(m.groups) > 0:
		for i, g := range m.groups {
			names = append(names, g.name)
			c.names = append(c.names, head(g.name))
			if len(g.cats) == 1 {
				c.descr = append(c.descr, f.name+" = "+g.cats[0])
			} else {
				c.descr = append(c.descr, fmt.Sprintf("%s in (%s)", f.name, strings.Join(g.cats, ", ")))
			}
			for _, cat := range g.cats {
				idx[cat] = i
				c.cats = append(c.cats, cat)
			}
		}
	case f.kind == kindCategory:
		names = f.categories
		for i, cat := range f.categories {
			c.names = append(c.names, head(cat))
			c.descr = append(c.descr, f.name+" = "+cat)
			idx[cat] = i
			c.cats = append(c.cats, cat)
		}
	default:
		return nil, fmt.Errorf("node %s: params.columns: field %q has no vocabulary to make columns of (declare its categories)", r.Node, f.name)
	}
	for _, k := range sortedKeys(spec.columnLabels) {
		if !slices.Contains(names, k) {
			return nil, fmt.Errorf("node %s: params.column_labels.%s: %q is not a column of field %q (%s)", r.Node, k, k, f.name, strings.Join(names, ", "))
		}
	}
	seen := map[string]bool{spec.label: true, "total": true}
	for _, l := range spec.labels {
		seen[l[0]] = true
	}
	for _, h := range c.names {
		if seen[h] {
			return nil, fmt.Errorf("node %s: params.columns: two columns would be headed %q; rename one with params.column_labels", r.Node, h)
		}
		seen[h] = true
	}
	c.of = func(v string) (int, bool) {
		i, ok := idx[v]
		return i, ok
	}
	c.idx = idx
	return c, nil
}

// countTab counts into labelled rows × count columns.
type countTab struct {
	ncol   int
	keys   []string
	pos    map[string]int
	counts [][]int
	refs   [][][]int // input rows per cell, only when lineage is on
	track  bool
}

func (t *countTab) addKey(k string) int {
	if i, ok := t.pos[k]; ok {
		return i
	}
	t.pos[k] = len(t.keys)
	t.keys = append(t.keys, k)
	t.counts = append(t.counts, make([]int, t.ncol))
	t.refs = append(t.refs, make([][]int, t.ncol))
	return len(t.keys) - 1
}

func (t *countTab) add(i, col, row int) {
	t.counts[i][col]++
	if t.track {
		t.refs[i][col] = append(t.refs[i][col], row)
	}
}

func (t *countTab) rowSum(i int) int {
	n := 0
	for _, c := range t.counts[i] {
		n += c
	}
	return n
}

// countByField counts records by the value of one declared field.
func countByField(r *stage.Run, m *countModel, rr *regRows, rowIdx []int, spec *countSpec, f *countField, t *countTab, column func(int) (int, error)) (func(string) string, error) {
	vs, ids := rr.col(f.name), rr.col(m.key)
	var keys []string
	var where string
	switch f.kind {
	case kindCategory, kindList:
		keys = f.categories
		where = "one of " + strings.Join(f.categories, ", ")
	case kindReference:
		d, err := readDirectory(r, f.ref)
		if err != nil {
			return nil, err
		}
		keys = d.keys
		where = "in " + d.file
	case kindFree:
		for i := 0; i < rr.n; i++ {
			if c, _ := column(i); c < 0 {
				continue
			}
			if v := vs.at(i); v != "" {
				keys = append(keys, v)
			}
		}
		sort.Strings(keys)
		keys = slices.Compact(keys)
	}
	for _, k := range keys {
		if k == spec.blank {
			return nil, fmt.Errorf("node %s: params.blank %q is also a value of field %q; choose another label for blank values", r.Node, k, f.name)
		}
		t.addKey(k)
	}
	// Per distinct value: the rows it counts in (a list field's several),
	// or ok false naming the part that is not a row.
	type hit struct {
		rows []int
		bad  string
	}
	blankRow := -1
	rowsOf := newByValue(vs, func(v string) (hit, bool) {
		if v == "" {
			if spec.skipBlank {
				return hit{}, true
			}
			if blankRow < 0 {
				blankRow = t.addKey(spec.blank)
			}
			return hit{rows: []int{blankRow}}, true
		}
		if f.kind != kindList {
			i, ok := t.pos[v]
			if !ok || i == blankRow {
				return hit{bad: v}, false
			}
			return hit{rows: []int{i}}, true
		}
		var h hit
		for _, part := range strings.Split(v, f.delimiter) {
			i, ok := t.pos[part]
			if !ok || i == blankRow {
				return hit{bad: part}, false
			}
			h.rows = append(h.rows, i)
		}
		return h, true
	})
	for i := 0; i < rr.n; i++ {
		c, err := column(i)
		if err != nil {
			return nil, err
		}
		if c < 0 {
			continue
		}
		h, ok := rowsOf.at(i)
		if !ok {
			return nil, pos.Errorf(pos.Pos{File: rr.file, Line: rr.line(i)}, "%s: %s %q is not %s (is the file normalized?)", ids.at(i), f.name, h.bad, where)
		}
		for _, ti := range h.rows {
			t.add(ti, c, rowIdx[i])
		}
	}
	return func(k string) string {
		switch {
		case k == spec.blank && t.pos[k] == blankRow:
			return f.name + " blank"
		case f.kind == kindList:
			return f.name + " containing " + k
		}
		return f.name + " = " + k
	}, nil
}

// countByKeywords counts records into keyword categories of their text.
func countByKeywords(r *stage.Run, rr *regRows, rowIdx []int, spec *countSpec, t *countTab, column func(int) (int, error)) (func(string) string, error) {
	names := sortedKeys(spec.keywords)
	for _, k := range append(slices.Clone(names), "unclassified", "any") {
		t.addKey(k)
	}
	texts := make([]*regCol, len(spec.rows))
	for i, f := range spec.rows {
		texts[i] = rr.col(f)
	}
	// The table rows a tuple of texts counts in, found once per distinct
	// tuple: most registrations share a handful of texts (or none).
	rowsOf := map[string][]int{}
	parts := make([]string, len(texts))
	for i := 0; i < rr.n; i++ {
		some := false
		for k, c := range texts {
			parts[k] = c.at(i)
			some = some || parts[k] != ""
		}
		if !some {
			continue
		}
		c, err := column(i)
		if err != nil {
			return nil, err
		}
		if c < 0 {
			continue
		}
		key := strings.Join(parts, "\n")
		rows, seen := rowsOf[key]
		if !seen {
			text := strings.ToLower(key)
			for _, name := range names {
				for _, kw := range spec.keywords[name] {
					if strings.Contains(text, kw) {
						rows = append(rows, t.pos[name])
						break
					}
				}
			}
			if len(rows) == 0 {
				rows = append(rows, t.pos["unclassified"])
			}
			rows = append(rows, t.pos["any"])
			rowsOf[strings.Clone(key)] = rows
		}
		for _, ti := range rows {
			t.add(ti, c, rowIdx[i])
		}
	}
	if n := t.rowSum(t.pos["unclassified"]); n > 0 {
		r.Warnf("%d registrations have text in %s that no keyword matches (counted as unclassified; add keywords to the node's params.keywords)", n, strings.Join(spec.rows, " or "))
	}
	fieldsOr := strings.Join(spec.rows, " or ")
	return func(k string) string {
		switch k {
		case "unclassified":
			return fieldsOr + " not empty and matching no category keyword"
		case "any":
			return fieldsOr + " not empty"
		}
		return fmt.Sprintf("%s containing one of %q (category %s)", fieldsOr, spec.keywords[k], k)
	}, nil
}

// writeCountTable writes the CSV and the lineage of every count cell.
func writeCountTable(r *stage.Run, out string, spec *countSpec, cols *countCols, t *countTab, label func(string) []string, input string, fields []string, describe func(string) string) error {
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	cw := csvio.NewWriter(w)
	header := []string{spec.label}
	for _, l := range spec.labels {
		header = append(header, l[0])
	}
	header = append(header, cols.names...)
	if !cols.single {
		header = append(header, "total")
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := lineageOf(r, out)
	what := "count of active registrations"
	if spec.inactive {
		what = "count of registrations, inactive ones included,"
	}
	with := func(row, col string) string {
		switch {
		case row == "":
			return what + " with " + col
		case col == "":
			return what + " with " + row
		}
		return what + " with " + row + " and " + col
	}
	sum := make([]int, len(cols.names))
	for i, k := range t.keys {
		row := label(k)
		total := 0
		for c, n := range t.counts[i] {
			row = append(row, itoa(n))
			total += n
			sum[c] += n
		}
		if !cols.single {
			row = append(row, itoa(total))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
		if rec == nil {
			continue
		}
		for c := range cols.names {
			rec.AddCell(countCell(i, cols.names[c], with(describe(k), cols.descr[c]), fields, input, t.refs[i][c]))
		}
		if !cols.single {
			rec.AddCell(countCell(i, "total", with(describe(k), ""), fields, input, mergeSorted(t.refs[i]...)))
		}
	}
	if !spec.totalRow {
		return cw.Flush()
	}
	row := append([]string{"TOTAL"}, make([]string, len(spec.labels))...)
	total := 0
	for _, n := range sum {
		row = append(row, itoa(n))
		total += n
	}
	if !cols.single {
		row = append(row, itoa(total))
	}
	if err := cw.Write(row); err != nil {
		return err
	}
	if rec != nil {
		n := len(t.keys)
		totalFields := []string{cols.field}
		if cols.single {
			totalFields = spec.rows
		}
		colRefs := make([][]int, len(cols.names))
		for c := range cols.names {
			lists := make([][]int, len(t.keys))
			for i := range t.keys {
				lists[i] = t.refs[i][c]
			}
			colRefs[c] = mergeSorted(lists...)
			if cols.single {
				rec.AddCell(countCell(n, cols.names[c], strings.TrimSuffix(what, ","), totalFields, input, colRefs[c]))
			} else {
				rec.AddCell(countCell(n, cols.names[c], with("", cols.descr[c]), totalFields, input, colRefs[c]))
			}
		}
		if !cols.single {
			rec.AddCell(countCell(n, "total", strings.TrimSuffix(what, ","), totalFields, input, mergeSorted(colRefs...)))
		}
	}
	return cw.Flush()
}
