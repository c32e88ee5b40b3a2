package stages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"bethel/pkg/coltable"
	"bethel/pkg/csvio"
	"bethel/pkg/lineage"
	"bethel/pkg/patch"
	"bethel/pkg/pos"
	"bethel/pkg/schema"
	scrubset "bethel/pkg/scrub"
	"bethel/pkg/stage"
)

// registrationsNormalize is the registrations.normalize stage: it maps a
// platform export to canonical fields and values (config/columns.toml,
// config/values.toml, config/bethels.csv), applies the registrations
// patches, and writes one row per active registration, sorted by
// registration_id, plus a JSON patch report. See docs/registrations.md.
//
// Inputs: exactly one export (the .csv input other than bethels.csv),
// columns.toml, values.toml, bethels.csv, privacy.toml. Outputs: one .csv
// (the registrations) and optionally one .json (the patch report).
type registrationsNormalize struct{}

func init() { register(registrationsNormalize{}) }

func (registrationsNormalize) Name() string    { return "registrations.normalize" }
func (registrationsNormalize) Version() string { return "1" }

// maxListedErrors caps the value errors printed for one build: a new alias
// on the platform can make every row wrong, and a million identical lines
// help nobody.
const maxListedErrors = 25

// regResult is a normalization with patches applied, before writing.
type regResult struct {
	export  string
	mapped  string // the stored mapped table the records come from, if any
	table   *patch.Table
	report  *patch.Report
	active  []int // record indexes, sorted by registration_id
	warns   []string
	counts  map[string]int
	keyCol  int
	privacy *Privacy
	schema  *schema.Schema
	// exportSets are the sensitive values of the export's records, from
	// the mapped table; nil when they are to be gathered from the records.
	exportSets []*scrubset.Set
	// orig is the mapped table's records before patches, and codes their
	// values' codes (registrations_codes.go), when read from a mapped
	// table: the column table is then written from the codes.
	orig  []patch.Record
	codes []mappedCol
}

func (s registrationsNormalize) Run(ctx context.Context, r *stage.Run) error {
	return runNormalize(ctx, r, func() (*regResult, error) { return normalizeRegistrations(ctx, r, patch.Options{}) })
}

// runNormalize checks the outputs of registrations.normalize or
// registrations.patch, computes the result with do, and writes it.
func runNormalize(ctx context.Context, r *stage.Run, do func() (*regResult, error)) error {
	var csvOut, jsonOut, sensOut, tabOut string
	for _, o := range r.Outputs {
		switch {
		case strings.HasSuffix(o, ".csv") && csvOut == "":
			csvOut = o
		case strings.HasSuffix(o, ".json") && jsonOut == "":
			jsonOut = o
		case strings.HasSuffix(o, regSensitiveSuffix) && sensOut == "":
			sensOut = o
		case strings.HasSuffix(o, regTableSuffix) && tabOut == "":
			tabOut = o
		default:
			return fmt.Errorf("node %s: %s writes one .csv (the registrations), at most one .json (the patch report), at most one %s (the sensitive values) and at most one %s (its column table); output %s is none of these", r.Node, regStageName(r), regSensitiveSuffix, regTableSuffix, o)
		}
	}
	if csvOut == "" {
		return fmt.Errorf("node %s: %s needs a .csv output (out/private/registrations.csv)", r.Node, regStageName(r))
	}
	if r.Visibility != stage.Private {
		return fmt.Errorf("node %s: %s writes personal data; its visibility must be private, not %s", r.Node, regStageName(r), r.Visibility)
	}
	res, err := do()
	if res != nil && r.Warnf != nil {
		for _, w := range res.warns {
			r.Warnf("%s", w)
		}
	}
	if err != nil {
		return err
	}
	// The outputs are independent files written from one result that
	// nothing changes any more: they are written side by side (the
	// registrations and their column table take about as long each).
	var writes []func() error
	add := func(out string, write func(io.Writer) error) error {
		w, err := r.Create(out)
		if err != nil {
			return err
		}
		writes = append(writes, func() error { return write(w) })
		return nil
	}
	var rec *lineage.Recorder
	if r.Lineage != nil {
		rec = r.Lineage(csvOut)
	}
	if err := add(csvOut, func(w io.Writer) error { return res.write(w, rec) }); err != nil {
		return err
	}
	if tabOut != "" {
		if err := add(tabOut, res.writeTable); err != nil {
			return err
		}
	}
	if sensOut != "" {
		err := add(sensOut, func(w io.Writer) error {
			_, err := scrubset.WriteUnion(w, res.sensitiveSets()...)
			return err
		})
		if err != nil {
			return err
		}
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for k, write := range writes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = write()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if jsonOut != "" {
		return writeJSON(r, jsonOut, res.report)
	}
	return nil
}

// regSensitiveSuffix names the output that lists the sensitive values
// (pkg/scrub's set file): the leak gate and the corrections report read it.
const regSensitiveSuffix = ".sensitive"

// sensitiveSets are every sensitive value of every record, active, inactive
// or dropped, as the export gave it and as patches set or added it (the
// values a patch overwrote are in its changes): what no internal or
// public output may show. Each field's values are added under the format
// of its declaration (scrub.FormatOf). The export's share comes from the
// mapped table when the mapping half computed it; then only the patches'
// values are added here, which keeps a one-patch rebuild from redoing it.
// The two sets are written as one (scrub.WriteUnion), never merged in
// memory.
func (res *regResult) sensitiveSets() []*scrubset.Set {
	var b scrubset.Builder
	t := res.table
	cols := regSensitiveCols(res.schema, t.Fields)
	sets := res.exportSets
	if sets == nil {
		sets = []*scrubset.Set{regAddSensitive(t, cols)}
	}
	format := map[string]string{}
	for _, c := range cols {
		format[t.Fields[c.col]] = c.format
	}
	for _, e := range res.report.Patches {
		for _, ch := range e.Changes {
			f, ok := format[ch.Field]
			if !ok {
				continue
			}
			for _, v := range []string{ch.Old, ch.New} {
				if v != "" {
					b.Add(f, v)
				}
			}
		}
	}
	return append(slices.Clip(sets), b.Set())
}

// regSensCol is a sensitive column and the scrub format its values are
// added under.
type regSensCol struct {
	col    int
	format string
}

// regSensitiveCols lists the sensitive fields among fields.
func regSensitiveCols(sch *schema.Schema, fields []string) []regSensCol {
	var out []regSensCol
	for i, name := range fields {
		if f := sch.Field(name); f != nil && f.Sensitive {
			out = append(out, regSensCol{i, scrubset.FormatOf(f.Type, f.Format, f.Countable)})
		}
	}
	return out
}

// regAddSensitive adds the sensitive values of every record of t, each
// distinct value of a field once (names and allergies repeat: a hundred
// thousand records hold a few thousand first names), the fields gathered
// in parallel (gatherSets) and the few sets merged.
func regAddSensitive(t *patch.Table, cols []regSensCol) *scrubset.Set {
	return scrubset.Union(gatherSets(len(cols), func(b *scrubset.Builder, k int) {
		c := cols[k]
		// Repeated values are added once; a field whose values are
		// mostly distinct (emails, phones) is not worth the map: past
		// 4,096 records with most values new, it goes.
		seen := map[string]bool{}
		for i := range t.Records {
			v := t.Records[i].Get(c.col)
			if v == "" {
				continue
			}
			if seen != nil {
				if seen[v] {
					continue
				}
				seen[v] = true
				if i == 4096 && 2*len(seen) > i {
					seen = nil
				}
			}
			b.Add(c.format, v)
		}
	})...)
}

// PatchReport evaluates the node's patches against its current inputs
// without writing anything, so that `bethel patches` can show every
// patch's status even when the build fails.
func (registrationsNormalize) PatchReport(ctx context.Context, r *stage.Run, opt patch.Options) (*patch.Report, error) {
	res, err := normalizeRegistrations(ctx, r, opt)
	if res == nil {
		return nil, err
	}
	return res.report, err
}

var _ patch.Reporter = registrationsNormalize{}

// writeJSON writes v to the declared output out as indented JSON with a
// final newline: the form every JSON output of the stages takes.
func writeJSON(r *stage.Run, out string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// valueError is a cell that no mapping knows. It is reported only if no
// patch fixes it: a patch that sets the field, drops the record, or makes
// it inactive.
type valueError struct {
	rec   int
	field int
	line  int
	err   error
	raw   string
}

// normalizeRegistrations reads, maps and patches. It returns the result
// (with the patch report) even on error when the patches could be
// evaluated, for PatchReport.
func normalizeRegistrations(ctx context.Context, r *stage.Run, opt patch.Options) (*regResult, error) {
	src, cfg, err := regSources(r)
	if err != nil {
		return nil, err
	}
	priv, err := PrivacyOf(r)
	if err != nil {
		return nil, err
	}
	patches, err := patch.Load(r.FS, r.Patches)
	if err != nil {
		return nil, err
	}
	m, err := mapRegistrations(ctx, r.FS, src, cfg)
	if err != nil {
		return nil, err
	}
	return patchRegistrations(m, cfg, priv, patches, opt)
}

// regSourceFiles are the files the mapping half reads: the export, the
// field declaration and the directories its reference fields name.
type regSourceFiles struct {
	export, fields string
	refs           []string
}

// regSources finds the mapping half's files among r's inputs and loads
// the field declaration: the export is the one .csv input that is not a
// reference field's directory.
func regSources(r *stage.Run) (regSourceFiles, *regConfig, error) {
	var s regSourceFiles
	var err error
	if s.fields, err = fieldsFileOf(r); err != nil {
		return s, nil, err
	}
	cfg, err := loadRegConfig(r.FS, s.fields, r.Inputs)
	if err != nil {
		return s, nil, err
	}
	s.refs = cfg.refs()
	for _, in := range r.Inputs {
		if !strings.HasSuffix(in, ".csv") || slices.Contains(s.refs, in) {
			continue
		}
		if s.export != "" {
			return s, nil, fmt.Errorf("node %s: two exports among the inputs (%s and %s); %s reads one", r.Node, s.export, in, regStageName(r))
		}
		s.export = in
	}
	if s.export == "" {
		return s, nil, fmt.Errorf("node %s: no export among the inputs: add the registration export (a .csv) to the node's inputs", r.Node)
	}
	return s, cfg, nil
}

// loadRegConfig loads the field declaration and binds its directories,
// which must be among inputs.
func loadRegConfig(fsys fs.FS, fields string, inputs []string) (*regConfig, error) {
	sch, err := schema.Load(fsys, fields)
	if err != nil {
		return nil, err
	}
	if err := bindReferences(fsys, sch, inputs); err != nil {
		return nil, err
	}
	return &regConfig{schema: sch, header: regDeclaredHeaders(sch)}, nil
}

// regDeclaredHeaders names each field by its first declared header, for
// messages before (or without) an export's header.
func regDeclaredHeaders(sch *schema.Schema) []string {
	h := make([]string, len(sch.Fields))
	for i, f := range sch.Fields {
		h[i] = f.Headers[0]
	}
	return h
}

// refs lists the reference fields' directories.
func (c *regConfig) refs() []string {
	var out []string
	for _, f := range c.schema.Fields {
		if f.Reference != nil && !slices.Contains(out, f.Reference.Resource) {
			out = append(out, f.Reference.Resource)
		}
	}
	return out
}

// regStageName names the stage in messages: the registrations stages
// share this code.
func regStageName(r *stage.Run) string {
	for _, o := range r.Outputs {
		if strings.HasSuffix(o, regMappedSuffix) {
			return "registrations.map"
		}
	}
	for _, in := range r.Inputs {
		if strings.HasSuffix(in, regMappedSuffix) {
			return "registrations.patch"
		}
	}
	return "registrations.normalize"
}

// regMapped is the export mapped to canonical values, before patches: what
// the registrations.map stage stores (registrations_mapped.go) and the
// registrations.patch stage reads back.
type regMapped struct {
	// order is the export's records by key (distinct: the mapping half
	// fails on a key used twice), when known.
	order []int32
	// sens is the export's sensitive values (stored in the mapped table);
	// nil when not gathered.
	// They may be several sets (the mapping half's, one per goroutine),
	// written as one.
	sens []*scrubset.Set
	// codes is every field's values coded (registrations_codes.go), when
	// gathered.
	codes    []mappedCol
	export   string
	header   []string // export header per canonical field, for messages
	table    *patch.Table
	verrs    []valueError
	rowsRead int
	warns    []string
}

// mapRegistrations reads and maps the export.
func mapRegistrations(ctx context.Context, fsys fs.FS, src regSourceFiles, cfg *regConfig) (*regMapped, error) {
	m := &regMapped{export: src.export, header: slices.Clone(cfg.header)}
	table, verrs, err := readExport(ctx, fsys, src.export, cfg, m)
	if err != nil {
		return nil, err
	}
	m.table, m.verrs = table, verrs
	return m, nil
}

// emptyExportErrs replaces the orphan errors of patches applied to an
// export with no records by one error on the export: a header-only file is
// a truncated download or the wrong file far more often than a reason to
// remove every patch, which is what the orphan errors would advise.
func emptyExportErrs(export string, rep *patch.Report, errs pos.List) pos.List {
	orphan := map[pos.Pos]bool{}
	var first pos.Pos
	for _, e := range rep.Patches {
		if e.Status == patch.StatusOrphan {
			at := pos.Pos{File: e.File, Line: e.Line}
			if len(orphan) == 0 {
				first = at
			}
			orphan[at] = true
		}
	}
	if len(orphan) == 0 {
		return errs
	}
	what := fmt.Sprintf("%d patches match records", len(orphan))
	if len(orphan) == 1 {
		what = "a patch matches a record"
	}
	kept := pos.List{pos.Errorf(pos.Pos{File: export, Line: 1},
		"the export has no records, only a header, but %s in it (first at %s); is the file complete?", what, first)}
	for _, err := range errs {
		var pe *pos.Error
		if errors.As(err, &pe) && orphan[pe.Pos] {
			continue
		}
		kept = append(kept, err)
	}
	return kept
}

// patchRegistrations applies patches to a mapped export and judges the
// value errors that no patch fixed.
func patchRegistrations(m *regMapped, cfg *regConfig, priv *Privacy, patches []*patch.Patch, opt patch.Options) (*regResult, error) {
	export := m.export
	res := &regResult{export: export, privacy: priv, counts: map[string]int{}}
	res.warns = append(res.warns, m.warns...)
	if m.rowsRead > 0 {
		res.counts["rows_read"] = m.rowsRead
	}
	table := m.table
	sch := cfg.schema
	res.schema = sch
	table.Canon = cfg.canon
	table.Required = cfg.required()
	table.Sensitive = priv.SensitiveSet()
	res.table = table
	empty := len(table.Records) == 0
	nExport := len(table.Records)
	rep, warns, perr := patch.Apply(table, patches, opt)
	res.report = rep
	res.warns = append(res.warns, warns...)

	var errs pos.List
	if perr != nil {
		errs = append(errs, perr.(pos.List)...)
	}
	if empty {
		errs = emptyExportErrs(export, rep, errs)
	}
	statusCol := sch.Index(sch.Roles.Status)
	res.keyCol = sch.Index(sch.PrimaryKey)
	inactive := func(i int) bool { return statusCol >= 0 && sch.IsInactive(table.Records[i].Get(statusCol)) }
	var open []valueError
	for _, ve := range m.verrs {
		rec := &table.Records[ve.rec]
		if rec.Dropped || (ve.field != statusCol && inactive(ve.rec)) || patchedField(table, ve.rec, table.Fields[ve.field]) {
			continue
		}
		open = append(open, ve)
	}
	for i, ve := range open {
		if i == maxListedErrors {
			errs = append(errs, fmt.Errorf("%s: and %d more value errors like these", export, len(open)-maxListedErrors))
			break
		}
		errs = append(errs, valueErr(m.header, export, table, ve, priv, opt))
	}
	if len(errs) > 0 {
		return res, errs
	}

	for i := range table.Records {
		rec := &table.Records[i]
		switch {
		case rec.Dropped:
			res.counts["dropped_by_patch"]++
		case inactive(i):
			res.counts[rec.Get(statusCol)]++
		default:
			res.active = append(res.active, i)
		}
	}
	if sorted, ok := regSortedActive(m.order, nExport, table, res.active, res.keyCol, rep); ok {
		res.active = sorted
	} else {
		keys := make([]string, len(table.Records))
		for _, i := range res.active {
			keys[i] = table.Records[i].Get(res.keyCol)
		}
		sort.Slice(res.active, func(a, b int) bool { return keys[res.active[a]] < keys[res.active[b]] })
		// A patch can add a key the export also has; an active duplicate
		// key would make every later join ambiguous.
		for j := 1; j < len(res.active); j++ {
			a, b := res.active[j-1], res.active[j]
			if keys[a] == keys[b] {
				return res, pos.Errorf(pos.Pos{File: export, Line: table.Records[b].Line}, "registration_id %s is used twice (also at line %d)", keys[a], table.Records[a].Line)
			}
		}
	}
	res.counts["active"] = len(res.active)
	rep.Counts = res.counts
	n := 0
	var by []string
	for _, v := range sch.Roles.Inactive {
		n += res.counts[v]
		by = append(by, fmt.Sprintf("%s %d", v, res.counts[v]))
	}
	if n > 0 {
		res.warns = append(res.warns, fmt.Sprintf("%d inactive registrations left out (%s)", n, strings.Join(by, ", ")))
	}
	return res, nil
}

// regSortedActive orders the active records by key from the export's
// stored order (order, of the first nExport records), placing the few
// records patches added among them, instead of sorting every key again.
// It declines (false), leaving the full sort and its duplicate check to
// the caller, when it has no order, when a patch set a record's key, or
// when an added key is one an active record already has.
func regSortedActive(order []int32, nExport int, t *patch.Table, active []int, keyCol int, rep *patch.Report) ([]int, bool) {
	if order == nil || len(order) != nExport {
		return nil, false
	}
	keyField := t.Fields[keyCol]
	for _, e := range rep.Patches {
		for _, ch := range e.Changes {
			if ch.Field == keyField && ch.Op != patch.Add {
				return nil, false
			}
		}
	}
	isActive := make([]bool, len(t.Records))
	var added []int
	for _, i := range active {
		isActive[i] = true
		if i >= nExport {
			added = append(added, i)
		}
	}
	key := func(i int) string { return t.Records[i].Get(keyCol) }
	slices.SortFunc(added, func(a, b int) int { return strings.Compare(key(a), key(b)) })
	at := make([]int, len(added)) // where each added record goes in order
	for k, i := range added {
		if k > 0 && key(added[k-1]) == key(i) {
			return nil, false
		}
		at[k] = sort.Search(len(order), func(j int) bool { return key(int(order[j])) >= key(i) })
		if j := at[k]; j < len(order) && isActive[order[j]] && key(int(order[j])) == key(i) {
			return nil, false
		}
	}
	out := make([]int, 0, len(active))
	k := 0
	for j, i := range order {
		for ; k < len(added) && at[k] == j; k++ {
			out = append(out, added[k])
		}
		if isActive[i] {
			out = append(out, int(i))
		}
	}
	return append(out, added[k:]...), true
}

func patchedField(t *patch.Table, rec int, field string) bool {
	for _, a := range t.Applied(rec) {
		if slices.Contains(a.Fields, field) {
			return true
		}
	}
	return false
}

// valueErr formats a value error: file:line, record key, column, and the
// raw value unless the column is sensitive.
func valueErr(header []string, export string, t *patch.Table, ve valueError, priv *Privacy, opt patch.Options) error {
	field := t.Fields[ve.field]
	key := t.Records[ve.rec].Get(slices.Index(t.Fields, t.Key))
	bv, ok := ve.err.(*schema.ValueError)
	if !ok {
		return pos.Errorf(pos.Pos{File: export, Line: ve.line}, "%s: column %q: %v", key, header[ve.field], ve.err)
	}
	shown := strconv.Quote(ve.raw)
	hint := bv.Hint
	if priv.IsSensitive(field) && !opt.ShowPrivate {
		shown = "(value withheld: sensitive field " + field + ")"
		if strings.HasPrefix(hint, "did you mean") {
			hint = "" // the closest category says what the value nearly is
		}
	}
	if strings.TrimSpace(ve.raw) == "" {
		shown = ""
	} else {
		shown = " " + shown
	}
	var why []string
	if bv.Want != "" {
		why = append(why, "want "+bv.Want)
	}
	if hint != "" {
		why = append(why, hint)
	}
	why = append(why, "or fix the record with a patch that sets "+field)
	return pos.Errorf(pos.Pos{File: export, Line: ve.line}, "%s: column %q: %s%s (%s)",
		key, header[ve.field], bv.What, shown, strings.Join(why, "; "))
}

// regBatch is a batch of raw records handed from the parsing goroutine to
// the mapping one: the mapped columns of each row, flat, and each row's
// line. err ends the stream.
type regBatch struct {
	fields []string
	lines  []int
	err    error
}

const regBatchRows = 1024

// readExport streams the export into a patch table, mapping every cell.
// Cells no mapping knows are returned as value errors, not failed at once,
// because a patch may fix them.
func readExport(ctx context.Context, fsys fs.FS, export string, cfg *regConfig, m *regMapped) (*patch.Table, []valueError, error) {
	f, err := fsys.Open(export)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, export)
	if err != nil {
		return nil, nil, err
	}
	cols, err := cfg.schema.Columns(export, cr.Header())
	if err != nil {
		return nil, nil, err
	}
	idx := cols.Index
	cfg.cols = cols
	for i, j := range idx {
		if j >= 0 {
			m.header[i] = strings.TrimSpace(cr.Header()[j])
		}
	}
	if w := cols.MissingWarning(export); w != "" {
		m.warns = append(m.warns, w)
	}
	t := newRegTable(export, cfg.schema)
	keyCol := cfg.schema.Index(cfg.schema.PrimaryKey)
	var verrs []valueError
	n := len(cfg.schema.Fields)
	vals := make([]string, n)
	mappers := cfg.mappers()
	// Parsing and mapping run on two goroutines, in batches: each is
	// about half the work of a large export.
	batches := make(chan *regBatch, 4)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(batches)
		for {
			b := &regBatch{fields: make([]string, 0, regBatchRows*n), lines: make([]int, 0, regBatchRows)}
			for len(b.lines) < regBatchRows {
				rec, err := cr.Read()
				if err != nil {
					if err != io.EOF {
						b.err = err
					}
					select {
					case batches <- b:
					case <-done:
					}
					return
				}
				for fi := 0; fi < n; fi++ {
					if j := idx[fi]; j >= 0 {
						b.fields = append(b.fields, rec.Fields[j])
					} else {
						b.fields = append(b.fields, "")
					}
				}
				b.lines = append(b.lines, rec.Line)
			}
			select {
			case batches <- b:
			case <-done:
				return
			}
		}
	}()
	for b := range batches {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		for k, line := range b.lines {
			m.rowsRead++
			raws := b.fields[k*n : (k+1)*n]
			for fi, raw := range raws {
				if idx[fi] < 0 {
					// No column: blank, not what a blank cell means.
					vals[fi] = ""
					continue
				}
				v, err := mappers[fi](raw)
				if err != nil {
					verrs = append(verrs, valueError{rec: len(t.Records), field: fi, line: line, err: err, raw: raw})
					// The raw cell stays in the record, so that a patch's
					// expect and messages see what the export says. It
					// never reaches an output: the build fails unless a
					// patch sets the field, or the record is dropped or
					// inactive.
					v = strings.TrimSpace(raw)
				}
				vals[fi] = v
			}
			if vals[keyCol] == "" {
				return nil, nil, pos.Errorf(pos.Pos{File: export, Line: line}, "column %q is empty: every registration needs its %s", m.header[keyCol], cfg.schema.PrimaryKey)
			}
			t.Records = append(t.Records, patch.NewRecord(vals, line))
		}
		if b.err != nil {
			return nil, nil, b.err
		}
	}
	if len(t.Records) == 0 {
		// A new event's first export, or a truncated download: say so
		// once, and build (the program and the site need no records).
		m.warns = append(m.warns, export+":1: the export has no records, only a header")
	}
	if n, first := cr.Converted(); n > 0 {
		m.warns = append(m.warns, fmt.Sprintf("%s:%d: %d cells were not UTF-8 and were read as Windows-1252; export as \"CSV UTF-8\" to be sure", export, first, n))
	}
	// Duplicate ids in the export itself: sort positions by key.
	order := make([]int32, len(t.Records))
	keys := make([]string, len(t.Records))
	for i := range t.Records {
		order[i] = int32(i)
		keys[i] = t.Records[i].Get(keyCol)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(keys[a], keys[b]) })
	m.order = order
	var errs pos.List
	for j := 1; j < len(order); j++ {
		a, b := order[j-1], order[j]
		if keys[a] == keys[b] {
			la, lb := t.Records[a].Line, t.Records[b].Line
			errs = append(errs, pos.Errorf(pos.Pos{File: export, Line: max(la, lb)}, "%s %s appears twice (also at line %d); the export must have one row per registration", cfg.schema.PrimaryKey, keys[a], min(la, lb)))
			if len(errs) == maxListedErrors {
				break
			}
		}
	}
	return t, verrs, errs.Err()
}

// newRegTable is the empty registrations table of an export.
func newRegTable(export string, sch *schema.Schema) *patch.Table {
	t := &patch.Table{
		Name: "registrations", Fields: sch.Names(), Key: sch.PrimaryKey,
		Lists: map[string]bool{}, ListSep: ";", Source: export,
	}
	for _, f := range sch.Fields {
		if f.IsList() {
			t.Lists[f.Name] = true
			t.ListSep = f.Delimiter
		}
	}
	return t
}

// required lists the fields a patch may not leave blank.
func (c *regConfig) required() map[string]bool {
	m := map[string]bool{}
	for _, f := range c.schema.Fields {
		if f.Required {
			m[f.Name] = true
		}
	}
	return m
}

// mappers returns, per field, the function that maps a raw cell.
// Mappings of low-cardinality fields are memoized: a million rows hold a
// few hundred distinct bethel or meal spellings, and some tens of
// thousands of birth dates (parsing one cost four allocations).
func (c *regConfig) mappers() []func(string) (string, error) {
	memo := func(f func(string) (string, error)) func(string) (string, error) {
		type out struct {
			v   string
			err error
		}
		cache := map[string]out{}
		return func(raw string) (string, error) {
			if o, ok := cache[raw]; ok {
				return o.v, o.err
			}
			v, err := f(raw)
			if len(cache) < 1<<16 {
				cache[strings.Clone(raw)] = out{v, err}
			}
			return v, err
		}
	}
	m := make([]func(string) (string, error), len(c.schema.Fields))
	for i, f := range c.schema.Fields {
		switch {
		case len(f.Categories) > 0 || f.Reference != nil || f.Type == schema.Boolean || f.Format == schema.Money || f.Type == schema.Integer,
			f.Type == schema.Date: // birth dates: some 15,000 distinct in 100,000 records
			m[i] = memo(f.Canonical)
		default:
			m[i] = f.Canonical
		}
	}
	return m
}

// canon checks a patch value against the field declaration. Patches
// speak canonical values: a category, a yes/no value or a directory key
// must be written as the build writes it (an export spelling gets "did you
// mean" the canonical value); a list may name its values in any order and
// spelling; dates, times, amounts and addresses may take any form the
// export may. Blank stays blank (pkg/patch refuses it for a required
// field in a set or an add).
func (c *regConfig) canon(field, v string) (string, error) {
	f := c.schema.Field(field)
	if f == nil || strings.TrimSpace(v) == "" {
		return v, nil
	}
	strict := f.Type == schema.Boolean || f.Reference != nil || f.Type == schema.String && len(f.Categories) > 0
	if strict {
		err := f.Check(v)
		if err == nil {
			return v, nil
		}
		ve, ok := err.(*schema.ValueError)
		if !ok {
			return "", err
		}
		out := *ve
		if canonical, cerr := f.Canonical(v); cerr == nil && canonical != v {
			out.Hint = fmt.Sprintf("did you mean %q?", canonical)
		} else if strings.HasPrefix(out.Hint, "or add an alias") {
			out.Hint = ""
		}
		return "", &out
	}
	out, err := f.Canonical(v)
	if ve, ok := err.(*schema.ValueError); ok && strings.HasPrefix(ve.Hint, "or add an alias") {
		// Where to add an alias is advice for exports.
		return "", &schema.ValueError{Field: ve.Field, What: ve.What, Want: ve.Want}
	}
	return out, err
}

// write writes the active records, sorted, and their lineage.
func (res *regResult) write(w io.Writer, rec *lineage.Recorder) error {
	cw := csvio.NewWriter(w)
	t := res.table
	if err := cw.Write(t.Fields); err != nil {
		return err
	}
	row := make([]string, 0, len(t.Fields))
	rec.Grow(len(res.active))
	for _, i := range res.active {
		row = t.Records[i].AppendValues(row[:0])
		if err := cw.Write(row); err != nil {
			return err
		}
		if rec != nil {
			res.lineage(rec, i, row[res.keyCol])
		}
	}
	return cw.Flush()
}

// lineage records the lineage of output row for record i: its export
// line (or, read from a mapped table, that table's row, whose own lineage
// names the line) and the patches that changed it.
func (res *regResult) lineage(rec *lineage.Recorder, i int, key string) {
	t := res.table
	r := &t.Records[i]
	applied := t.Applied(i)
	if len(applied) == 0 && r.Line > 0 {
		if res.mapped != "" {
			rec.AddRef(res.mapped, i)
		} else {
			rec.AddSource(lineage.Source{File: res.export, Line: r.Line, Key: key})
		}
		return
	}
	lr := lineage.Row{}
	if r.Line > 0 {
		if res.mapped != "" {
			lr.Refs = []lineage.Ref{{Input: res.mapped, Row: i}}
		} else {
			lr.Sources = []lineage.Source{{File: res.export, Line: r.Line, Key: key}}
		}
	}
	for _, a := range applied {
		// A record added by a patch (a walk-in) has no export line:
		// its source record is the patch.
		if r.Line <= 0 && a.Patch.Kind == patch.Add && lr.Sources == nil {
			lr.Sources = []lineage.Source{{File: a.Patch.Pos.File, Line: a.Patch.Pos.Line, Key: key}}
		}
		lr.Patches = append(lr.Patches, lineage.Patch{ID: a.Patch.ID, File: a.Patch.Pos.File, Line: a.Patch.Pos.Line, Fields: a.Fields})
	}
	rec.AddRow(lr)
}

// writeTable writes the column table of the registrations file just
// written (package coltable): the same rows, values and lines, for the
// stages that read a few of its columns.
func (res *regResult) writeTable(w io.Writer) error {
	t := res.table
	lines := res.regLines()
	line := func(k int) int { return lines[k] }
	if res.codes != nil {
		cols, err := res.codedColumns(res.orig, res.codes)
		if err != nil {
			return err
		}
		return coltable.WriteColumns(w, t.Fields, len(res.active), line, cols)
	}
	return coltable.Write(w, t.Fields, len(res.active), line,
		func(k, c int) string { return t.Records[res.active[k]].Get(c) })
}
