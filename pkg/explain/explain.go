// Package explain follows cell lineage through the DAG: from a cell of an
// output, through the rows and cells of the intermediate files it derives
// from, to the raw source records (file, line, record key) and the patches
// that set a field the cell reads.
//
// Stages record lineage one hop at a time (pkg/lineage); this package is
// the reader that chains the hops, a library of lineage alone (it knows
// neither the cache nor the engine). It serves two callers: `bethel why`,
// which asks about one cell of a finished build and reads provenance
// records, and a stage that shows lineage (the review site), which reads
// its inputs' lineage as engine artifacts (stage.LineagePrefix) and
// explains every cell of them at once. Both describe the artifacts they
// know through the Artifacts interface, so the walk is one piece of code
// whatever answers the question.
//
// A Walker memoizes what it resolved per row and per cell: a TOTAL cell of
// a 100,000-row build refers to every registration, and the other cells of
// the same table refer to the same rows again. A Walker is not safe for
// concurrent use.
package explain

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"bethel/pkg/lineage"
)

// Artifact is one output file as a build left it.
type Artifact struct {
	Path         string
	Hash         [32]byte
	Node         string
	Stage        string // empty for a command node
	StageVersion string
	Command      string
	Status       string // ran or restored; empty when not known
	// Table is the output's cell lineage; nil when its node records none
	// (a command node, whose outputs are opaque).
	Table *lineage.Table
	// Reads is every file the node read, with the hash it read.
	Reads map[string][32]byte
	// Record is what the Artifacts that answered keeps about the artifact
	// (bethel why: its provenance record), for the caller; the walk never
	// reads it.
	Record any
}

// Artifacts is where a Walker finds artifacts.
type Artifacts interface {
	// Artifact returns the artifact at path whose content hash is h. It
	// returns an error wrapping ErrNotFound (see NotFound) when nothing
	// describes those bytes.
	Artifact(path string, h [32]byte) (*Artifact, error)
	// IsOutput reports whether some node writes path; a path no node
	// writes is a raw input, where lineage ends.
	IsOutput(path string) bool
	// Reason returns the reason a patch's author gave, or "" when the
	// answer does not need it (the engine never reads patch files: what a
	// patch means is the stages' business).
	Reason(file, id string) string
}

// ErrNotFound is what an Artifacts answers, wrapped, when nothing
// describes the bytes asked about: at a path no node writes, the walk ends
// there (a raw input).
var ErrNotFound = errors.New("no record of the artifact")

// NotFound marks err as ErrNotFound, keeping its message and its own
// chain (errors.Is finds both).
func NotFound(err error) error { return notFound{err} }

type notFound struct{ error }

func (e notFound) Unwrap() []error { return []error{e.error, ErrNotFound} }

// Source is one raw source record.
type Source struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Key  string `json:"key"`
}

// Patch is a patch that changed a record some lineage reached.
type Patch struct {
	ID     string   `json:"id"`
	File   string   `json:"file"`
	Line   int      `json:"line"`
	Reason string   `json:"reason"`
	Fields []string `json:"fields,omitempty"`
}

// Resolved is what one cell (or one field of a record) derives from.
// Sources and Patches index the Walker's tables and are ascending, which
// is the order the walk first met them in.
type Resolved struct {
	Sources []int32
	Patches []int32
	// Derivation and Fields are the cell's own, for a resolved cell.
	Derivation string
	Fields     []string
	// arts are the walker's artifacts the walk passed through, as a set of
	// their indexes (bits); over 64 artifacts the walk names them all.
	arts uint64
	all  bool
}

// Walker follows lineage. The tables of sources, patches and artifacts
// grow as walks meet new ones; indexes into them stay valid.
type Walker struct {
	// Eager resolves every row of an artifact with row lineage when the
	// walk first meets it, in row order. A caller that explains whole
	// tables (the review site) reaches nearly every row anyway; resolving
	// them in order numbers the sources in file order, so each cell's
	// sources come out ascending without sorting. One question about one
	// cell (bethel why) is faster lazily.
	Eager bool

	src Artifacts

	arts   []*art
	artIdx map[artKey]*art
	// srcs are the numbered sources, their record keys back to back in
	// keys and their files named by number (fileNames): no pointers in a
	// table of a million records, and no string allocated per record.
	srcs      []srcRec
	keys      []byte
	fileNames []string
	srcCache  []Source         // srcs as Sources returned them
	byLine    [][]int32        // per file: line -> source number+1
	srcFull   map[Source]int32 // the rare source sharing a file and line with another
	files     map[string]int32
	patches   []Patch
	patIdx    map[string]int32 // by patch id

	raw    map[string]bool
	opaque []string

	// srcArena and patArena hold every resolved row's sources and
	// patches back to back; a row names its part by offset. Rows hold no
	// pointers: a million-row walk made the collector scan and the write
	// barrier track two slice headers per row.
	srcArena, patArena []int32
	// The file of the last source numbered: rows come in file order.
	lastFile string
	lastF    int32
	// rowBuf is the scratch list of a count's rows (denseCell).
	rowBuf []int32
	// chains are the rows' chains, numbered by chainOf.
	chains    []chain
	chainIdx  map[chain]uint16
	lastChain uint16

	// srcMark and patMark hold, per source and per patch, the generation
	// of the last union that took it in (see merger).
	srcMark, patMark []uint32
	gen              uint32
}

// srcRec is one numbered source: file fileNames[file], line line, record
// key keys[key:key+klen].
type srcRec struct {
	line       int
	key        int
	file, klen int32
}

type artKey struct {
	path string
	h    [32]byte
}

type art struct {
	*Artifact
	id    int
	rows  []rowRes
	cells map[cellKey]*Resolved
	dense *dense // set by an eager walker when the rows have that shape
	// refIn and refChild are the input the last one-ref row named and its
	// artifact: a table whose rows each stand for a row of one input
	// finds that input once, not once per row.
	refIn    string
	refChild *art
	// inputs are the artifacts (with row lineage) the cells of this one
	// count rows of, by input path.
	inputs map[string]*art
}

type cellKey struct {
	row int
	col string
}

// rowRes is the closure of one row of row lineage: its own sources and
// patches and those of every row it refers to, patches not yet filtered by
// the fields a cell reads. Sources are Walker.srcArena[src:src+nsrc],
// ascending and distinct; patches Walker.patArena[pat:pat+npat]; the
// artifacts on the way Walker.chains[chain-1] (0: not resolved yet). 16
// bytes: a million-row table is walked through twice.
type rowRes struct {
	src, pat, nsrc uint32
	npat, chain    uint16
}

// chain is a set of artifacts a walk passed through (Resolved's arts and
// all); a table has a handful, which rows name by number.
type chain struct {
	arts uint64
	all  bool
}

// chainOf numbers a chain for rowRes.
func (w *Walker) chainOf(arts uint64, all bool) (uint16, error) {
	c := chain{arts, all}
	if w.lastChain > 0 && w.chains[w.lastChain-1] == c {
		return w.lastChain, nil
	}
	i, ok := w.chainIdx[c]
	if !ok {
		if len(w.chains) >= math.MaxUint16 {
			return 0, errors.New("lineage walk: too many distinct chains of nodes")
		}
		w.chains = append(w.chains, c)
		i = uint16(len(w.chains))
		if w.chainIdx == nil {
			w.chainIdx = map[chain]uint16{}
		}
		w.chainIdx[c] = i
	}
	w.lastChain = i
	return i, nil
}

func (w *Walker) rowChain(r *rowRes) chain { return w.chains[r.chain-1] }

func (w *Walker) rowSrcs(r *rowRes) []int32 { return w.srcArena[r.src : r.src+r.nsrc : r.src+r.nsrc] }

func (w *Walker) rowPatches(r *rowRes) []int32 {
	end := r.pat + uint32(r.npat)
	return w.patArena[r.pat:end:end]
}

// New returns a walker over src.
func New(src Artifacts) *Walker {
	return &Walker{
		src:     src,
		artIdx:  map[artKey]*art{},
		srcFull: map[Source]int32{},
		files:   map[string]int32{},
		patIdx:  map[string]int32{},
		raw:     map[string]bool{},
	}
}

// Sources is the table Resolved.Sources indexes.
func (w *Walker) Sources() []Source {
	for i := len(w.srcCache); i < len(w.srcs); i++ {
		w.srcCache = append(w.srcCache, w.sourceAt(int32(i)))
	}
	return w.srcCache
}

func (w *Walker) sourceAt(i int32) Source {
	r := &w.srcs[i]
	return Source{File: w.fileNames[r.file], Line: r.line, Key: string(w.keys[r.key : r.key+int(r.klen)])}
}

// Patch returns patch i with its reason.
func (w *Walker) Patch(i int32) Patch {
	p := w.patches[i]
	p.Reason = w.src.Reason(p.File, p.ID)
	return p
}

// Raw is every raw input a walk reached, including the files of sources.
func (w *Walker) Raw() []string {
	out := make([]string, 0, len(w.raw))
	for r := range w.raw {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Opaque names the command nodes where a walk had to stop.
func (w *Walker) Opaque() []string { return w.opaque }

// Artifacts returns the artifacts a resolution passed through, in the
// order the walker first met them.
func (w *Walker) Artifacts(r *Resolved) []*Artifact {
	var out []*Artifact
	for _, a := range w.arts {
		if r.all || (a.id < 64 && r.arts&(1<<a.id) != 0) {
			out = append(out, a.Artifact)
		}
	}
	return out
}

// Artifact returns the artifact at path with hash h (loading it once).
func (w *Walker) Artifact(path string, h [32]byte) (*Artifact, error) {
	a, err := w.artifact(path, h)
	if err != nil {
		return nil, err
	}
	return a.Artifact, nil
}

func (w *Walker) artifact(path string, h [32]byte) (*art, error) {
	k := artKey{path, h}
	if a := w.artIdx[k]; a != nil {
		return a, nil
	}
	x, err := w.src.Artifact(path, h)
	if err != nil {
		return nil, err
	}
	a := &art{Artifact: x, id: len(w.arts), cells: map[cellKey]*Resolved{}}
	if x.Table != nil {
		n := x.Table.NumRows()
		a.rows = make([]rowRes, n)
		if w.Eager {
			w.srcArena = slices.Grow(w.srcArena, n)
		}
	}
	w.arts = append(w.arts, a)
	w.artIdx[k] = a
	if w.Eager {
		for i := range a.rows {
			if _, err := w.row(a, i); err != nil {
				return nil, err
			}
		}
		a.dense = w.makeDense(a)
	}
	return a, nil
}

func (a *art) bit() (uint64, bool) {
	if a.id >= 64 {
		return 0, true
	}
	return 1 << a.id, false
}

// Cell resolves one recorded cell of the artifact at path with hash h.
func (w *Walker) Cell(path string, h [32]byte, c lineage.Cell) (*Resolved, error) {
	a, err := w.artifact(path, h)
	if err != nil {
		return nil, err
	}
	return w.cell(a, c)
}

// CellAt resolves the recorded cell at (row, col) of the artifact; ok is
// false when the artifact recorded no such cell.
func (w *Walker) CellAt(path string, h [32]byte, row int, col string) (res *Resolved, ok bool, err error) {
	a, err := w.artifact(path, h)
	if err != nil {
		return nil, false, err
	}
	if a.Table == nil {
		return nil, false, nil
	}
	return w.cellAt(a, row, col)
}

func (w *Walker) cellAt(a *art, row int, col string) (*Resolved, bool, error) {
	if r := a.cells[cellKey{row, col}]; r != nil {
		return r, true, nil
	}
	i, ok := a.Table.CellIndex(row, col)
	if !ok {
		return nil, false, nil
	}
	return w.cellIdx(a, i)
}

// cellIdx resolves cell i (in the table's stored order) of a.
func (w *Walker) cellIdx(a *art, i int) (*Resolved, bool, error) {
	c, rows, one, err := a.Table.CellAtIndex(i)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", a.Path, err)
	}
	if r := a.cells[cellKey{c.Row, c.Col}]; r != nil {
		return r, true, nil
	}
	if w.Eager && one {
		r, ok, err := w.denseCell(a, c, rows)
		if err != nil {
			return nil, false, err
		}
		if ok {
			a.cells[cellKey{c.Row, c.Col}] = r
			return r, true, nil
		}
	}
	if one {
		// The general walk takes the rows as a list.
		if c, err = a.Table.CellAt(i); err != nil {
			return nil, false, fmt.Errorf("%s: %w", a.Path, err)
		}
	}
	r, err := w.cell(a, c)
	return r, err == nil, err
}

func (w *Walker) cell(a *art, c lineage.Cell) (*Resolved, error) {
	if r := a.cells[cellKey{c.Row, c.Col}]; r != nil {
		return r, nil
	}
	// Resolve every ref first: resolving may start unions of its own, and
	// unions share the stamp arrays, so they must not nest.
	var (
		rows  []*rowRes
		cells []*Resolved
		arts  []*art
	)
	// A count names thousands of rows of one input: find that input's
	// artifact once per run of refs to it, not once per row.
	var (
		lastIn    string
		lastChild *art
		lastRaw   bool
	)
	each := func(input string, row int) error {
		if lastChild != nil && input == lastIn && !lastRaw && lastChild.Table != nil && row < len(lastChild.rows) {
			rr, err := w.row(lastChild, row)
			if err != nil {
				return err
			}
			rows = append(rows, rr)
			return nil
		}
		ra, rr, rc, err := w.ref(a, input, row, c.Fields)
		lastIn, lastChild, lastRaw = input, ra, ra == nil
		if ra != nil {
			arts = append(arts, ra)
		}
		if rr != nil {
			rows = append(rows, rr)
		}
		cells = append(cells, rc...)
		return err
	}
	for _, ref := range c.Refs {
		if err := each(ref.Input, ref.Row); err != nil {
			return nil, err
		}
	}
	for _, row := range c.Rows {
		if err := each(c.Input, row); err != nil {
			return nil, err
		}
	}
	var m merger
	m.start(w)
	m.addArt(a)
	for _, x := range arts {
		m.addArt(x)
	}
	for _, rr := range rows {
		m.addRow(rr, c.Fields)
	}
	for _, rc := range cells {
		m.addResolved(rc)
	}
	r := m.done()
	r.Derivation, r.Fields = c.Derivation, c.Fields
	a.cells[cellKey{c.Row, c.Col}] = r
	return r, nil
}

// RowFields resolves data row row of a row-lineage artifact (one record
// per row) for a cell that reads fields: the record's sources and the
// patches that set one of fields (or added or dropped the record).
func (w *Walker) RowFields(path string, h [32]byte, row int, fields []string) (*Resolved, error) {
	a, err := w.artifact(path, h)
	if err != nil {
		return nil, err
	}
	rr, err := w.row(a, row)
	if err != nil {
		return nil, err
	}
	var m merger
	m.start(w)
	m.addArt(a)
	m.addRow(rr, fields)
	return m.done(), nil
}

// ref resolves row row of input as artifact a's node read it: the input's
// artifact (nil for a raw input), and either the closure of that row of
// row lineage or, for an aggregate input, its cells that the reading cell
// copies (fields are the fields the cell reads).
func (w *Walker) ref(a *art, input string, row int, fields []string) (*art, *rowRes, []*Resolved, error) {
	h, ok := a.Reads[input]
	if !ok {
		return nil, nil, nil, fmt.Errorf("%s: lineage names %s, which node %s did not read", a.Path, input, a.Node)
	}
	child, err := w.artifact(input, h)
	if errors.Is(err, ErrNotFound) && !w.src.IsOutput(input) {
		w.raw[input] = true
		return nil, nil, nil, nil
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil, nil, fmt.Errorf("%s: no provenance record for the content that was read from it; run bethel make", input)
		}
		return nil, nil, nil, err
	}
	if child.Table == nil {
		if !slices.Contains(w.opaque, child.Node) {
			w.opaque = append(w.opaque, child.Node)
		}
		return child, nil, nil, nil
	}
	if row < len(child.rows) {
		rr, err := w.row(child, row)
		return child, rr, nil, err
	}
	// A row beyond the row lineage names a cell of an aggregate input
	// (a public or JSON cell pointing at the summary cell it copies).
	var cells []*Resolved
	for _, f := range fields {
		r, ok, err := w.cellAt(child, row, f)
		if err != nil {
			return child, nil, nil, err
		}
		if ok {
			cells = append(cells, r)
		}
	}
	return child, nil, cells, nil
}

// row resolves the closure of one row of row lineage, once.
func (w *Walker) row(a *art, i int) (*rowRes, error) {
	if i < 0 || i >= len(a.rows) {
		return nil, fmt.Errorf("%s: lineage row %d out of range (the file has %d)", a.Path, i+1, len(a.rows))
	}
	r := &a.rows[i]
	if r.chain != 0 {
		return r, nil
	}
	// Nearly every row of a large table is one export record or one row
	// of an input: read those without building a lineage.Row.
	kind, src, key, ref, err := a.Table.RowSimpleKey(i)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.Path, err)
	}
	var (
		lr     lineage.Row
		refBuf [1]lineage.Ref
	)
	switch kind {
	case lineage.RowSource:
		arts, all := a.bit()
		if len(w.srcs) == cap(w.srcs) && w.Eager {
			// The rest of an export's table is records too, most likely,
			// with keys of about this length.
			w.srcs = slices.Grow(w.srcs, len(a.rows)-i)
			w.keys = slices.Grow(w.keys, (len(a.rows)-i)*(len(key)+1))
		}
		s := w.source(src.File, src.Line, key)
		off, err := w.arenaAppend(&w.srcArena, s)
		if err != nil {
			return nil, err
		}
		ch, err := w.chainOf(arts, all)
		if err != nil {
			return nil, err
		}
		*r = rowRes{src: off, nsrc: 1, chain: ch}
		return r, nil
	case lineage.RowRef:
		// A row standing for one row of the input the previous one named
		// (out/private/registrations.csv's rows): its closure is that
		// row's, shared, plus this artifact.
		if c := a.refChild; c != nil && ref.Input == a.refIn && ref.Row < len(c.rows) {
			rr, err := w.row(c, ref.Row)
			if err != nil {
				return nil, err
			}
			if rr.nsrc <= 1 && rr.npat == 0 {
				arts, all := a.bit()
				b, al := c.bit()
				rc := w.rowChain(rr)
				ch, err := w.chainOf(arts|b|rc.arts, all || al || rc.all)
				if err != nil {
					return nil, err
				}
				*r = rowRes{src: rr.src, nsrc: rr.nsrc, chain: ch}
				return r, nil
			}
		}
		refBuf[0] = ref
		lr.Refs = refBuf[:]
	default:
		if lr, err = a.Table.Row(i); err != nil {
			return nil, fmt.Errorf("%s: %w", a.Path, err)
		}
	}
	arts, all := a.bit()
	// Most rows have one source: a small local buffer keeps that on the
	// stack (the nested walks below have their own).
	var buf, pbuf [4]int32
	srcs, patches := buf[:0], pbuf[:0]
	for _, s := range lr.Sources {
		srcs = append(srcs, w.source(s.File, s.Line, []byte(s.Key)))
	}
	for _, p := range lr.Patches {
		patches = append(patches, w.patch(p))
	}
	for _, ref := range lr.Refs {
		// The closure is built without a cell's fields, so a row takes in
		// rows of its inputs, never cells.
		ca, rr, _, err := w.ref(a, ref.Input, ref.Row, nil)
		if err != nil {
			return nil, err
		}
		if ca != nil {
			b, al := ca.bit()
			arts |= b
			all = all || al
		}
		if rr != nil {
			srcs = append(srcs, w.rowSrcs(rr)...)
			patches = append(patches, w.rowPatches(rr)...)
			rc := w.rowChain(rr)
			arts |= rc.arts
			all = all || rc.all
			if len(lr.Refs) == 1 {
				a.refIn, a.refChild = ref.Input, ca
			}
		}
	}
	// A cell's union and the shared closures above count on ascending,
	// distinct lists.
	slices.Sort(srcs)
	srcs = slices.Compact(srcs)
	slices.Sort(patches)
	patches = slices.Compact(patches)
	so, err := w.arenaAppend(&w.srcArena, srcs...)
	if err != nil {
		return nil, err
	}
	po, err := w.arenaAppend(&w.patArena, patches...)
	if err != nil {
		return nil, err
	}
	if len(patches) > math.MaxUint16 {
		return nil, fmt.Errorf("%s: row %d: more than %d patches", a.Path, i+1, math.MaxUint16)
	}
	ch, err := w.chainOf(arts, all)
	if err != nil {
		return nil, err
	}
	*r = rowRes{src: so, nsrc: uint32(len(srcs)), pat: po, npat: uint16(len(patches)), chain: ch}
	return r, nil
}

// arenaAppend appends x to an arena and returns where it starts.
func (w *Walker) arenaAppend(arena *[]int32, x ...int32) (uint32, error) {
	off := len(*arena)
	if off+len(x) > math.MaxUint32 {
		return 0, errors.New("lineage walk: more than 4 billion row entries")
	}
	*arena = append(*arena, x...)
	return uint32(off), nil
}

// Sources are found by file and line: a record starts on one line, and a
// slice indexed by line is far cheaper than hashing the record's key (a
// million records at a time for the review site). byLine holds, per file,
// the source number+1 starting on each line.
func (w *Walker) source(file string, line int, key []byte) int32 {
	f := w.lastF
	if file != w.lastFile || len(w.byLine) == 0 {
		var ok bool
		if f, ok = w.files[file]; !ok {
			f = int32(len(w.files))
			w.files[file] = f
			w.fileNames = append(w.fileNames, file)
			w.byLine = append(w.byLine, nil)
			w.raw[file] = true
		}
		w.lastFile, w.lastF = file, f
	}
	if line < 0 || line > 1<<26 {
		return w.sourceFull(f, line, key) // no table of that size: look it up by value
	}
	lines := w.byLine[f]
	if line < len(lines) {
		if i := lines[line] - 1; i >= 0 {
			if r := &w.srcs[i]; r.file == f && r.line == line && string(w.keys[r.key:r.key+int(r.klen)]) == string(key) {
				return i
			}
			return w.sourceFull(f, line, key) // two records on one line: rare
		}
	}
	i := w.addSource(f, line, key)
	if line >= len(lines) {
		lines = append(lines, make([]int32, line+1-len(lines)+len(lines)/2)...)
		w.byLine[f] = lines
	}
	lines[line] = i + 1
	return i
}

func (w *Walker) addSource(f int32, line int, key []byte) int32 {
	i := int32(len(w.srcs))
	w.srcs = append(w.srcs, srcRec{line: line, key: len(w.keys), file: f, klen: int32(len(key))})
	w.keys = append(w.keys, key...)
	return i
}

// sourceFull numbers a source that shares its file and line with another.
func (w *Walker) sourceFull(f int32, line int, key []byte) int32 {
	s := Source{File: w.fileNames[f], Line: line, Key: string(key)}
	if j, ok := w.srcFull[s]; ok {
		return j
	}
	i := w.addSource(f, line, key)
	w.srcFull[s] = i
	return i
}

func (w *Walker) patch(p lineage.Patch) int32 {
	if i, ok := w.patIdx[p.ID]; ok {
		return i
	}
	i := int32(len(w.patches))
	w.patches = append(w.patches, Patch{ID: p.ID, File: p.File, Line: p.Line, Fields: p.Fields})
	w.patIdx[p.ID] = i
	return i
}

// merger unions sources and patches without a map: a generation stamp per
// table entry says whether this union already holds it.
type merger struct {
	w       *Walker
	gen     uint32
	srcs    []int32
	patches []int32
	arts    uint64
	all     bool
}

func (m *merger) start(w *Walker) {
	m.w = w
	w.gen++
	if w.gen == 0 { // wrapped: forget every old stamp
		clear(w.srcMark)
		clear(w.patMark)
		w.gen = 1
	}
	m.gen = w.gen
}

// stamp marks entry i of one table (sources or patches) in marks and
// reports whether this union had already marked it.
func (m *merger) stamp(marks *[]uint32, i int32) bool {
	if int(i) >= len(*marks) {
		*marks = append(*marks, make([]uint32, int(i)+1-len(*marks)+len(*marks)/2)...)
	}
	if (*marks)[i] == m.gen {
		return true
	}
	(*marks)[i] = m.gen
	return false
}

func (m *merger) addArt(a *art) {
	b, all := a.bit()
	m.arts |= b
	m.all = m.all || all
}

func (m *merger) addSrc(i int32) {
	if !m.stamp(&m.w.srcMark, i) {
		m.srcs = append(m.srcs, i)
	}
}

func (m *merger) addPatch(i int32) {
	if !m.stamp(&m.w.patMark, i) {
		m.patches = append(m.patches, i)
	}
}

func (m *merger) addRow(r *rowRes, fields []string) {
	for _, s := range m.w.rowSrcs(r) {
		m.addSrc(s)
	}
	for _, p := range m.w.rowPatches(r) {
		if touches(m.w.patches[p].Fields, fields) {
			m.addPatch(p)
		}
	}
	c := m.w.rowChain(r)
	m.arts |= c.arts
	m.all = m.all || c.all
}

func (m *merger) addResolved(r *Resolved) {
	for _, s := range r.Sources {
		m.addSrc(s)
	}
	for _, p := range r.Patches {
		m.addPatch(p)
	}
	m.arts |= r.arts
	m.all = m.all || r.all
}

func (m *merger) done() *Resolved {
	// Rows are usually met in ascending order already.
	if !slices.IsSorted(m.srcs) {
		slices.Sort(m.srcs)
	}
	slices.Sort(m.patches)
	return &Resolved{Sources: m.srcs, Patches: m.patches, arts: m.arts, all: m.all}
}

// touches reports whether a patch that set pf (none: an add or drop)
// matters to a cell reading fields (nil: every field).
func touches(pf, fields []string) bool {
	if len(pf) == 0 || fields == nil {
		return true
	}
	for _, f := range pf {
		if slices.Contains(fields, f) {
			return true
		}
	}
	return false
}
