package stages

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unsafe"

	"bethel/pkg/lineage"
	"bethel/pkg/patch"
	"bethel/pkg/pos"
	"bethel/pkg/schema"
	scrubset "bethel/pkg/scrub"
	"bethel/pkg/stage"
)

// The registrations node in two halves, so that editing a patch does not
// map the whole export again: registrations.map maps the export to
// canonical values and stores the result (a private intermediate), and
// registrations.patch applies the patches to it and writes what
// registrations.normalize writes. The engine's cache and early cutoff then
// skip the mapping, the expensive half, when only patches changed. The
// two together give byte-identical outputs to registrations.normalize,
// which stays for pipelines that want one node.

// regMappedSuffix is how the patching half finds the mapped table among
// its inputs, and how the mapping half recognizes its output.
const regMappedSuffix = ".mapped"

// registrationsMap is the registrations.map stage. Inputs: as
// registrations.normalize without privacy.toml (the export, columns.toml,
// values.toml, bethels.csv). Output: one file ending in ".mapped". Cells
// no mapping knows are stored, not failed: a patch may fix them, and the
// patching half judges them.
type registrationsMap struct{}

func init() { register(registrationsMap{}) }

func (registrationsMap) Name() string    { return "registrations.map" }
func (registrationsMap) Version() string { return "3" } // 3: the mapped table holds the values' codes and the key order

func (registrationsMap) Run(ctx context.Context, r *stage.Run) error {
	if len(r.Outputs) != 1 || !strings.HasSuffix(r.Outputs[0], regMappedSuffix) {
		return fmt.Errorf("node %s: registrations.map writes one output ending in %q (out/private/registrations%s), have %v", r.Node, regMappedSuffix, regMappedSuffix, r.Outputs)
	}
	if r.Visibility != stage.Private {
		return fmt.Errorf("node %s: registrations.map writes personal data; its visibility must be private, not %s", r.Node, r.Visibility)
	}
	if len(r.Patches) > 0 {
		return fmt.Errorf("node %s: registrations.map applies no patches; give them to the registrations.patch node", r.Node)
	}
	src, cfg, err := regSources(r)
	if err != nil {
		return err
	}
	m, err := mapRegistrations(ctx, r.FS, src, cfg)
	if err != nil {
		return err
	}
	if r.Warnf != nil {
		for _, w := range m.warns {
			r.Warnf("%s", w)
		}
	}
	// The export's values coded, and its sensitive values, gathered here
	// once: the patching half codes and adds only what its patches change.
	m.codes, m.sens = regCodeColumns(m.table, cfg.schema)
	w, err := r.Create(r.Outputs[0])
	if err != nil {
		return err
	}
	if err := writeMapped(w, src, m); err != nil {
		return err
	}
	// Row lineage: record i of the stored table is export record i.
	if rec := lineageOf(r, r.Outputs[0]); rec != nil {
		for i := range m.table.Records {
			x := &m.table.Records[i]
			rec.AddSource(lineage.Source{File: m.export, Line: x.Line, Key: x.Get(0)})
		}
	}
	return nil
}

// registrationsPatch is the registrations.patch stage. Inputs: the mapped
// table (ending in ".mapped"), values.toml and bethels.csv (patch values
// are checked as canonical), privacy.toml. Patches, outputs and
// visibility as registrations.normalize.
type registrationsPatch struct{}

func init() { register(registrationsPatch{}) }

func (registrationsPatch) Name() string    { return "registrations.patch" }
func (registrationsPatch) Version() string { return "1" }

func (s registrationsPatch) Run(ctx context.Context, r *stage.Run) error {
	return runNormalize(ctx, r, func() (*regResult, error) { return patchMapped(ctx, r, patch.Options{}, false) })
}

// PatchReport maps the export named in the stored table again instead of
// trusting the table: `bethel patches` must show what the next build will
// find, and the export may have changed since the mapping half ran.
func (registrationsPatch) PatchReport(ctx context.Context, r *stage.Run, opt patch.Options) (*patch.Report, error) {
	res, err := patchMapped(ctx, r, opt, true)
	if res == nil {
		return nil, err
	}
	return res.report, err
}

var _ patch.Reporter = registrationsPatch{}

// patchMapped reads the mapped table (or, with fresh, maps the export it
// came from again) and applies the node's patches.
func patchMapped(ctx context.Context, r *stage.Run, opt patch.Options, fresh bool) (*regResult, error) {
	var mapped string
	for _, in := range r.Inputs {
		if strings.HasSuffix(in, regMappedSuffix) {
			if mapped != "" {
				return nil, fmt.Errorf("node %s: two mapped tables among the inputs (%s and %s)", r.Node, mapped, in)
			}
			mapped = in
		}
	}
	if mapped == "" {
		return nil, fmt.Errorf("node %s: registrations.patch needs the output of a registrations.map node (a %s file) among its inputs", r.Node, regMappedSuffix)
	}
	// PrivacyOf, with the sensitive fields taken from the declaration
	// loaded here rather than parsed once more.
	priv, err := LoadPrivacy(r.FS, r.Privacy)
	if err != nil {
		return nil, err
	}
	fields, err := fieldsFileOf(r)
	if err != nil {
		return nil, err
	}
	cfg, err := loadRegConfig(r.FS, fields, r.Inputs)
	if err != nil {
		return nil, err
	}
	priv.setSensitive(fields, cfg.schema.SensitiveSet())
	patches, err := patch.Load(r.FS, r.Patches)
	if err != nil {
		return nil, err
	}
	f, err := r.FS.Open(mapped)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	m, from, err := readMapped(f, size, mapped, cfg.schema, !fresh)
	if err != nil {
		return nil, err
	}
	if fresh {
		mcfg, err := loadRegConfig(r.FS, from.fields, from.refs)
		if err != nil {
			return nil, err
		}
		if m, err = mapRegistrations(ctx, r.FS, from, mcfg); err != nil {
			return nil, err
		}
		m.warns = nil // the mapping half's warnings, not this node's
	}
	var orig []patch.Record
	if !fresh {
		orig = slices.Clone(m.table.Records) // patches repack the records they change
	}
	res, err := patchRegistrations(m, cfg, priv, patches, opt)
	if res != nil && !fresh {
		res.mapped = mapped
		res.exportSets = m.sens
		res.orig, res.codes = orig, m.codes
	}
	return res, err
}

// The stored table, written by writeMapped and read by readMapped. It is
// private (it holds every raw value), deterministic, and made for reading
// fast rather than for other tools: each record is stored in pkg/patch's
// packed form, so reading a table is one read of the file and no copy.
//
//	"bethel registrations.map 3\n"
//	str export, str fields.toml, uvarint nrefs, str directory[nrefs]
//	uvarint nfields, per field: str name, str header (its export column)
//	uvarint rows_read
//	uvarint nrecords, per record: uvarint line, str packed (patch.Record.Packed)
//	uvarint nerrors, per value error: uvarint record, field, line, kind;
//	    str what, str want, str hint (kind 1, a value no mapping knows) or
//	    str message (kind 0), str raw
//	per field, its values' codes (mappedCol): uvarint ndict, str firsts,
//	    str codes
//	str order: the records by key, 4 bytes each, little-endian (empty
//	    when not known)
//	str sensitive: the export's sensitive values as a pkg/scrub set file
//
// where str is a uvarint length and the bytes.
const regMappedMagic = "bethel registrations.map 6\n"

func writeMapped(w io.Writer, src regSourceFiles, m *regMapped) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var b []byte
	str := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	u := func(b []byte, v int) []byte { return binary.AppendUvarint(b, uint64(v)) }
	b = append(b, regMappedMagic...)
	b = str(str(b, src.export), src.fields)
	b = u(b, len(src.refs))
	for _, s := range src.refs {
		b = str(b, s)
	}
	b = u(b, len(m.header))
	for i, h := range m.header {
		b = str(str(b, m.table.Fields[i]), h)
	}
	b = u(b, m.rowsRead)
	b = u(b, len(m.table.Records))
	bw.Write(b)
	for i := range m.table.Records {
		x := &m.table.Records[i]
		p := x.Packed()
		b = u(u(b[:0], x.Line), len(p))
		bw.Write(b)
		bw.WriteString(p)
	}
	b = u(b[:0], len(m.verrs))
	for _, ve := range m.verrs {
		b = u(u(u(b, ve.rec), ve.field), ve.line)
		if bv, ok := ve.err.(*schema.ValueError); ok {
			b = str(str(str(u(b, 1), bv.What), bv.Want), bv.Hint)
		} else {
			b = str(u(b, 0), ve.err.Error())
		}
		b = str(b, ve.raw)
	}
	bw.Write(b)
	for _, c := range m.codes {
		bw.Write(u(u(b[:0], c.ndict), len(c.firsts)))
		bw.WriteString(c.firsts)
		bw.Write(u(b[:0], len(c.codes)))
		bw.WriteString(c.codes)
	}
	b = u(b[:0], 4*len(m.order))
	for _, i := range m.order {
		b = binary.LittleEndian.AppendUint32(b, uint32(i))
		if len(b) >= 64<<10 {
			bw.Write(b)
			b = b[:0]
		}
	}
	bw.Write(b)
	b = b[:0]
	b = b[:0]
	// The sets are written as they are merged, after their size: at a
	// million rows they are some 56 MB, not worth holding once more.
	bw.Write(u(b, int(scrubset.UnionSize(m.sens...))))
	if _, err := scrubset.WriteUnion(bw, m.sens...); err != nil {
		return err
	}
	return bw.Flush()
}

var errMappedCorrupt = errors.New("not a registrations.map table, or a damaged one; rebuild it (bethel make)")

// readMapped reads a stored table of the given fields; with records
// false, only its header (the files it was mapped from).
func readMapped(f io.Reader, size int64, file string, sch *schema.Schema, records bool) (*regMapped, regSourceFiles, error) {
	fields := sch.Names()
	var src regSourceFiles
	bad := func() (*regMapped, regSourceFiles, error) {
		return nil, src, pos.Errorf(pos.Pos{File: file, Line: 1}, "%v", errMappedCorrupt)
	}
	// One string holds the whole table; records are slices of it. The
	// file is read straight into that string's bytes (nothing writes them
	// afterwards), not copied through a buffer.
	var data string
	if size > 0 {
		buf := make([]byte, size+1) // one more: a file that grew shows as not at EOF
		n, err := io.ReadFull(f, buf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return nil, src, err
		}
		if n > 0 {
			data = unsafe.String(&buf[0], n)
		}
		if int64(n) > size {
			// Grown since the stat: read the rest the slow way.
			rest, err := io.ReadAll(f)
			if err != nil {
				return nil, src, err
			}
			data = data + string(rest)
		}
	} else {
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, src, err
		}
		data = string(b)
	}
	if !strings.HasPrefix(data, regMappedMagic) {
		return bad()
	}
	p := len(regMappedMagic)
	ok := true
	u := func() int {
		var v uint64
		for shift := uint(0); ; shift += 7 {
			if p >= len(data) || shift > 35 {
				ok = false
				return 0
			}
			c := data[p]
			p++
			v |= uint64(c&0x7f) << shift
			if c < 0x80 {
				break
			}
		}
		return int(v)
	}
	str := func() string {
		n := u()
		if !ok || n > len(data)-p {
			ok = false
			return ""
		}
		p += n
		return data[p-n : p]
	}
	src = regSourceFiles{export: str(), fields: str()}
	nr := u()
	for i := 0; i < nr && ok; i++ {
		src.refs = append(src.refs, str())
	}
	nf := u()
	if !ok || nf != len(fields) {
		return bad()
	}
	m := &regMapped{export: src.export, header: make([]string, nf)}
	for i := range m.header {
		if str() != fields[i] {
			return bad()
		}
		m.header[i] = str()
	}
	m.rowsRead = u()
	n := u()
	if !ok || n > len(data) {
		return bad()
	}
	if !records {
		return m, src, nil
	}
	t := newRegTable(src.export, sch)
	t.Records = make([]patch.Record, n)
	for i := range t.Records {
		line := u()
		rec, good := patch.RecordFromPacked(str(), nf, line)
		if !ok || !good {
			return bad()
		}
		t.Records[i] = rec
	}
	ne := u()
	for i := 0; i < ne && ok; i++ {
		ve := valueError{rec: u(), field: u(), line: u()}
		switch u() {
		case 1:
			ve.err = &schema.ValueError{Field: fields[min(ve.field, nf-1)], What: str(), Want: str(), Hint: str()}
		default:
			ve.err = errors.New(str())
		}
		ve.raw = str()
		if ve.rec >= len(t.Records) || ve.field >= nf {
			return bad()
		}
		m.verrs = append(m.verrs, ve)
	}
	m.codes = make([]mappedCol, nf)
	for c := range m.codes {
		m.codes[c] = mappedCol{ndict: u(), firsts: str(), codes: str()}
		if !ok || !m.codes[c].valid(n) {
			return bad()
		}
	}
	if ord := str(); ord != "" {
		if !ok || len(ord) != 4*n {
			return bad()
		}
		seen := make([]bool, n)
		m.order = make([]int32, n)
		for i := range m.order {
			q := ord[4*i : 4*i+4]
			r := uint32(q[0]) | uint32(q[1])<<8 | uint32(q[2])<<16 | uint32(q[3])<<24
			if r >= uint32(n) || seen[r] {
				return bad()
			}
			seen[r] = true
			m.order[i] = int32(r)
		}
	}
	set := str()
	if !ok || p != len(data) {
		return bad()
	}
	sens, err := scrubset.ReadSet(strings.NewReader(set))
	if err != nil {
		return bad()
	}
	m.sens = []*scrubset.Set{sens}
	m.table = t
	return m, src, nil
}
