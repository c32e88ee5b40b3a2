package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/lineage"
	"bethel/pkg/patch"
	"bethel/pkg/pos"
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
	table   *patch.Table
	report  *patch.Report
	active  []int // record indexes, sorted by registration_id
	warns   []string
	counts  map[string]int
	keyCol  int
	privacy *Privacy
}

func (s registrationsNormalize) Run(ctx context.Context, r *stage.Run) error {
	var csvOut, jsonOut string
	for _, o := range r.Outputs {
		switch {
		case strings.HasSuffix(o, ".csv") && csvOut == "":
			csvOut = o
		case strings.HasSuffix(o, ".json") && jsonOut == "":
			jsonOut = o
		default:
			return fmt.Errorf("node %s: registrations.normalize writes one .csv (the registrations) and at most one .json (the patch report); output %s is neither", r.Node, o)
		}
	}
	if csvOut == "" {
		return fmt.Errorf("node %s: registrations.normalize needs a .csv output (out/private/registrations.csv)", r.Node)
	}
	if r.Visibility != stage.Private {
		return fmt.Errorf("node %s: registrations.normalize writes personal data; its visibility must be private, not %s", r.Node, r.Visibility)
	}
	res, err := normalizeRegistrations(ctx, r, patch.Options{})
	if res != nil && r.Warnf != nil {
		for _, w := range res.warns {
			r.Warnf("%s", w)
		}
	}
	if err != nil {
		return err
	}
	w, err := r.Create(csvOut)
	if err != nil {
		return err
	}
	var rec *lineage.Recorder
	if r.Lineage != nil {
		rec = r.Lineage(csvOut)
	}
	if err := res.write(w, rec); err != nil {
		return err
	}
	if jsonOut != "" {
		w, err := r.Create(jsonOut)
		if err != nil {
			return err
		}
		if err := writeReport(w, res.report); err != nil {
			return err
		}
	}
	return nil
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

func writeReport(w io.Writer, rep *patch.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
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
	var export string
	var bethelsFile string
	for _, in := range r.Inputs {
		if !strings.HasSuffix(in, ".csv") {
			continue
		}
		if in == BethelsFile || strings.HasSuffix(in, "/"+BethelsFile) {
			bethelsFile = in
			continue
		}
		if export != "" {
			return nil, fmt.Errorf("node %s: two exports among the inputs (%s and %s); registrations.normalize reads one", r.Node, export, in)
		}
		export = in
	}
	if export == "" {
		return nil, fmt.Errorf("node %s: no export among the inputs: add the registration export (a .csv) to the node's inputs", r.Node)
	}
	if bethelsFile == "" {
		return nil, fmt.Errorf("node %s: stage needs an input %q; add it to the node's inputs", r.Node, BethelsFile)
	}
	priv, err := PrivacyOf(r)
	if err != nil {
		return nil, err
	}
	cfg := &regConfig{}
	colsFile, err := r.Input(ColumnsFile)
	if err != nil {
		return nil, err
	}
	if cfg.header, err = regLoadColumns(r.FS, colsFile); err != nil {
		return nil, err
	}
	valsFile, err := r.Input(ValuesFile)
	if err != nil {
		return nil, err
	}
	if err := regLoadValues(r.FS, valsFile, cfg); err != nil {
		return nil, err
	}
	if cfg.bethels, err = LoadBethels(r.FS, bethelsFile); err != nil {
		return nil, err
	}
	patches, err := patch.Load(r.FS, r.Patches)
	if err != nil {
		return nil, err
	}

	res := &regResult{export: export, privacy: priv, counts: map[string]int{}}
	table, verrs, err := readExport(ctx, r, export, cfg, priv, res)
	if err != nil {
		return nil, err
	}
	table.Canon = cfg.canon
	res.table = table
	rep, warns, perr := patch.Apply(table, patches, opt)
	res.report = rep
	res.warns = append(res.warns, warns...)

	var errs pos.List
	if perr != nil {
		errs = append(errs, perr.(pos.List)...)
	}
	field := func(name string) int { return slices.Index(RegistrationFields, name) }
	statusCol := field("payment_status")
	res.keyCol = field("registration_id")
	inactive := func(i int) bool { return regContains(InactiveStatuses, table.Records[i].Get(statusCol)) }
	var open []valueError
	for _, ve := range verrs {
		rec := &table.Records[ve.rec]
		if rec.Dropped || (ve.field != statusCol && inactive(ve.rec)) || patchedField(table, ve.rec, RegistrationFields[ve.field]) {
			continue
		}
		open = append(open, ve)
	}
	for i, ve := range open {
		if i == maxListedErrors {
			errs = append(errs, fmt.Errorf("%s: and %d more value errors like these", export, len(open)-maxListedErrors))
			break
		}
		errs = append(errs, cfg.valueErr(export, table, ve, priv, opt))
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
	keys := make([]string, len(table.Records))
	for _, i := range res.active {
		keys[i] = table.Records[i].Get(res.keyCol)
	}
	sort.Slice(res.active, func(a, b int) bool { return keys[res.active[a]] < keys[res.active[b]] })
	// A patch can add a key the export also has; an active duplicate key
	// would make every later join ambiguous.
	for j := 1; j < len(res.active); j++ {
		a, b := res.active[j-1], res.active[j]
		if keys[a] == keys[b] {
			return res, pos.Errorf(pos.Pos{File: export, Line: table.Records[b].Line}, "registration_id %s is used twice (also at line %d)", keys[a], table.Records[a].Line)
		}
	}
	res.counts["active"] = len(res.active)
	rep.Counts = res.counts
	if n := res.counts["cancelled"] + res.counts["refunded"]; n > 0 {
		res.warns = append(res.warns, fmt.Sprintf("%d inactive registrations left out (cancelled %d, refunded %d)",
			n, res.counts["cancelled"], res.counts["refunded"]))
	}
	return res, nil
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
func (c *regConfig) valueErr(export string, t *patch.Table, ve valueError, priv *Privacy, opt patch.Options) error {
	field := RegistrationFields[ve.field]
	key := t.Records[ve.rec].Get(slices.Index(RegistrationFields, "registration_id"))
	bv, ok := ve.err.(*regBadValue)
	if !ok {
		return pos.Errorf(pos.Pos{File: export, Line: ve.line}, "%s: column %q: %v", key, c.header[ve.field], ve.err)
	}
	shown := strconv.Quote(ve.raw)
	if priv.IsSensitive(field) && !opt.ShowPrivate {
		shown = "(value withheld: sensitive field " + field + ")"
	}
	if strings.TrimSpace(ve.raw) == "" {
		shown = ""
	} else {
		shown = " " + shown
	}
	return pos.Errorf(pos.Pos{File: export, Line: ve.line}, "%s: column %q: %s%s (%s; or fix the record with a patch that sets %s)",
		key, c.header[ve.field], bv.what, shown, bv.hint, field)
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
func readExport(ctx context.Context, r *stage.Run, export string, cfg *regConfig, priv *Privacy, res *regResult) (*patch.Table, []valueError, error) {
	f, err := r.FS.Open(export)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, export)
	if err != nil {
		return nil, nil, err
	}
	idx, err := cr.Require(cfg.header...)
	if err != nil {
		return nil, nil, err
	}
	t := &patch.Table{
		Name: "registrations", Fields: RegistrationFields, Key: "registration_id",
		Lists: map[string]bool{"days_attending": true}, ListSep: ";",
		Sensitive: priv.SensitiveSet(), Source: export,
	}
	var verrs []valueError
	n := len(RegistrationFields)
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
					b.fields = append(b.fields, rec.Fields[idx[fi]])
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
			res.counts["rows_read"]++
			raws := b.fields[k*n : (k+1)*n]
			for fi, raw := range raws {
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
			if vals[0] == "" {
				return nil, nil, pos.Errorf(pos.Pos{File: export, Line: line}, "column %q is empty: every registration needs its id", cfg.header[0])
			}
			t.Records = append(t.Records, patch.NewRecord(vals, line))
		}
		if b.err != nil {
			return nil, nil, b.err
		}
	}
	if n, first := cr.Converted(); n > 0 {
		res.warns = append(res.warns, fmt.Sprintf("%s:%d: %d cells were not UTF-8 and were read as Windows-1252; export as \"CSV UTF-8\" to be sure", export, first, n))
	}
	// Duplicate ids in the export itself: sort positions by key.
	order := make([]int32, len(t.Records))
	keys := make([]string, len(t.Records))
	for i := range t.Records {
		order[i] = int32(i)
		keys[i] = t.Records[i].Get(0)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(keys[a], keys[b]) })
	var errs pos.List
	for j := 1; j < len(order); j++ {
		a, b := order[j-1], order[j]
		if keys[a] == keys[b] {
			la, lb := t.Records[a].Line, t.Records[b].Line
			errs = append(errs, pos.Errorf(pos.Pos{File: export, Line: max(la, lb)}, "registration_id %s appears twice (also at line %d); the export must have one row per registration", keys[a], min(la, lb)))
			if len(errs) == maxListedErrors {
				break
			}
		}
	}
	return t, verrs, errs.Err()
}

// mappers returns, per canonical field, the function that maps a raw cell.
// Mappings of low-cardinality fields are memoized: a million rows hold a
// few hundred distinct bethel or meal spellings.
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
	enum := func(field string) func(string) (string, error) {
		return memo(func(raw string) (string, error) { return c.mapEnum(field, raw) })
	}
	text := func(raw string) (string, error) { return c.cleanText(raw, false), nil }
	noneText := func(raw string) (string, error) { return c.cleanText(raw, true), nil }
	m := make([]func(string) (string, error), len(RegistrationFields))
	for i, f := range RegistrationFields {
		switch f {
		case "submitted_at":
			m[i] = regDateTime
		case "date_of_birth":
			m[i] = regDate
		case "email":
			m[i] = regEmail
		case "bethel":
			m[i] = memo(c.parseBethel)
		case "days_attending":
			m[i] = memo(c.parseDays)
		case "member_type", "tshirt_size", "banquet_meal", "payment_status", "photo_consent", "housing":
			m[i] = enum(f)
		case "amount_paid":
			m[i] = memo(regAmount)
		case "grand_bethel_office", "dietary_needs", "allergies":
			m[i] = noneText
		default:
			m[i] = text
		}
	}
	return m
}

// canon checks a patch value: canonical values only for mapped fields
// (patches speak canonical), days in configured order.
func (c *regConfig) canon(field, v string) (string, error) {
	switch field {
	case "bethel":
		return c.canonBethel(v)
	case "days_attending":
		out, err := c.parseDays(v)
		if err != nil {
			return "", fmt.Errorf("want days among %s", strings.Join(c.days, ", "))
		}
		return out, nil
	case "member_type", "tshirt_size", "banquet_meal", "payment_status", "photo_consent", "housing":
		m := c.maps[field]
		if regContains(m.order, v) || (v == "" && m.hasEmpty && m.empty == "") {
			return v, nil
		}
		return "", fmt.Errorf("not a canonical %s (want %s)", field, regOrList(m.order))
	case "date_of_birth":
		if d, err := regDate(v); err != nil || d != v {
			return "", fmt.Errorf("want a date as 2010-04-03")
		}
	case "submitted_at":
		if d, err := regDateTime(v); err != nil || d != v {
			return "", fmt.Errorf("want a time as 2026-03-14T09:31:07")
		}
	case "amount_paid":
		if d, err := regAmount(v); err != nil || d != v {
			return "", fmt.Errorf("want an amount as 45.00")
		}
	case "email":
		if d, err := regEmail(v); err != nil || d != v {
			return "", fmt.Errorf("want one lower-case address")
		}
	case "registration_id":
		if strings.TrimSpace(v) != v || v == "" {
			return "", fmt.Errorf("want an id without surrounding space")
		}
	}
	return v, nil
}

// write writes the active records, sorted, and their lineage.
func (res *regResult) write(w io.Writer, rec *lineage.Recorder) error {
	cw := csvio.NewWriter(w)
	if err := cw.Write(RegistrationFields); err != nil {
		return err
	}
	t := res.table
	row := make([]string, len(RegistrationFields))
	for _, i := range res.active {
		r := &t.Records[i]
		for f := range row {
			row[f] = r.Get(f)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
		if rec != nil {
			lr := lineage.Row{}
			if r.Line > 0 {
				lr.Sources = []lineage.Source{{File: res.export, Line: r.Line, Key: row[res.keyCol]}}
			}
			for _, a := range t.Applied(i) {
				// A record added by a patch (a walk-in) has no export line:
				// its source record is the patch.
				if r.Line <= 0 && a.Patch.Kind == patch.Add && lr.Sources == nil {
					lr.Sources = []lineage.Source{{File: a.Patch.Pos.File, Line: a.Patch.Pos.Line, Key: row[res.keyCol]}}
				}
				lr.Patches = append(lr.Patches, lineage.Patch{ID: a.Patch.ID, File: a.Patch.Pos.File, Line: a.Patch.Pos.Line, Fields: a.Fields})
			}
			rec.AddRow(lr)
		}
	}
	return cw.Flush()
}
