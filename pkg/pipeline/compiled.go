package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
	"unsafe"

	"bethel/pkg/pos"
	"bethel/pkg/stage"

	"github.com/BurntSushi/toml"
)

// The compiled-pipeline cache. Decoding TOML is most of Load's cost (about
// 60% of a 1000-node load, see BenchmarkLoad), and a no-op build has a
// budget of a few milliseconds, so LoadCached keeps the validated pipeline
// in a binary file and reuses it while nothing it was derived from has
// changed.
//
// File format (all integers unsigned varints, strings length-prefixed):
//
//	magic "bethel-pipeline\n", format version
//	key:     SHA-256 of the pipeline file, the file's stat data (size,
//	         modification time, inode, change time as signed varints; all
//	         zero when it cannot vouch for the sum, see trustedSum),
//	         SHA-256 of the stage name list
//	         (or a zero hash for "unchecked"), the pipeline file's path,
//	         the running executable's identity (path, size, mtime), so that
//	         a rebuilt bethel with a changed loader never trusts an older
//	         one's result even if compiledVersion was not bumped
//	deps:    count, then per dependency a kind byte and a path:
//	         'd' directory: the generated names its listing leaves out
//	             (outputs, and out/ and .bethel/ at the root), then the
//	             SHA-256 of the listing (name, NUL, type bits, newline per
//	             entry, sorted; a zero hash when missing)
//	         'l' symbolic link: the type bits of what it points to
//	payload: CRC-32 (IEEE) of the payload (4 bytes, little-endian),
//	         then the payload: the file table (Pipeline.Files), the
//	         nodes, each naming its input, patch and output files by
//	         their index in the table, and its declared inputs and
//	         patches as a 1 when they are those same lists, then order,
//	         sources, globs. The checksum catches a file torn by a
//	         crash, which is all it has to catch: what the payload was
//	         derived from is in the key.
//	         (SHA-256's pass over the payload cost a 5000-node no-op about
//	         a third of a millisecond; CRC-32C's tables take 0.2 ms to make
//	         on first use, in every process; the IEEE polynomial's are
//	         made at start-up anyway and it runs with CLMUL.)
//
// Any mismatch, short read or decode error is a miss and falls back to
// Load, which rewrites the file. The directory listings are what glob
// expansion and the missing-source check read, so a new patch file, a
// deleted input or a new match for a glob all change the key; file
// contents never matter to a pipeline's shape.

const (
	compiledMagic   = "bethel-pipeline\n"
	compiledVersion = 9
)

// LoadCached is Load with a compiled-pipeline cache in cacheDir (relative
// to root unless absolute; created 0700 when missing). The result is the
// same as Load's. Failing to write the cache is not an error: the next call
// just loads again.
func LoadCached(root, file string, stages []string, cacheDir string) (*Pipeline, error) {
	p, _, err := loadCached(root, file, stages, cacheDir)
	return p, err
}

// loadCached also reports whether the cache was used, for tests.
func loadCached(root, file string, stages []string, cacheDir string) (*Pipeline, bool, error) {
	l, err := newLoader(root, file)
	if err != nil {
		return nil, false, err
	}
	if !filepath.IsAbs(cacheDir) {
		cacheDir = filepath.Join(l.root, cacheDir)
	}
	cpath := filepath.Join(cacheDir, "pipeline-"+sumOf([]byte(l.rel)).short()+".bin")
	stSum := stagesSum(stages)
	if b, err := os.ReadFile(cpath); err == nil {
		// The pipeline file's sum is the one stored with the file's
		// stat data while that is unchanged; otherwise it is hashed.
		srcSum, ok := trustedSum(b, l.path())
		if !ok {
			if srcSum, err = hashFile(l.path()); err != nil {
				return nil, false, &pos.Error{Pos: pos.Pos{File: l.rel}, Msg: readErrMsg(err)}
			}
		}
		if p, err := decodeCompiledOwned(b, l.root, l.rel, srcSum, stSum); err == nil {
			p.SourceSum = srcSum
			if !ok {
				restamp(cpath, b, l.path(), srcSum)
			}
			return p, true, nil
		}
	}
	// A miss first takes a time stamp from the file system's clock, by
	// creating (and at once removing) a file in the cache directory:
	// taken before the pipeline file is stat'ed and read, it tells
	// whether that stat can be trusted later (see trustable).
	t0 := clockStamp(cacheDir)
	st, stOK := statSource(l.path())
	// A miss reads the file whole and sums what it parses, which is what
	// the pipeline is keyed by even if the file changed since it was hashed.
	src, err := os.ReadFile(l.path())
	if err != nil {
		return nil, false, &pos.Error{Pos: pos.Pos{File: l.rel}, Msg: readErrMsg(err)}
	}
	srcSum := sumOf(src)
	p, err := l.load(src, stages)
	if err != nil {
		return nil, false, err
	}
	p.SourceSum = srcSum
	if !stOK || !trustable(st, t0) {
		st = srcStat{}
	}
	if b, err := encodeCompiled(p, l.fs, srcSum, stSum, st); err == nil {
		if os.MkdirAll(cacheDir, 0o700) == nil {
			writeCompiled(cpath, b)
		}
	}
	return p, false, nil
}

// restamp rewrites the valid cache file b with the pipeline file's
// current stat data, when the stored stat no longer vouches for the file
// (it was touched, or it was too new when the cache was written: a
// pipeline written just before a build) but its content is still what
// was compiled: otherwise every later load would hash it again. The file
// is hashed anew after the stat, as a miss does; nothing else in b
// changes (the payload's checksum does not cover the key).
func restamp(cpath string, b []byte, path string, srcSum sum) {
	t0 := clockStamp(filepath.Dir(cpath))
	st, ok := statSource(path)
	if !ok || !trustable(st, t0) {
		return
	}
	if h, err := hashFile(path); err != nil || h != srcSum {
		return
	}
	d := &dec{b: b[len(compiledMagic):]}
	d.uint()
	d.hash()
	at := len(b) - len(d.b) // where the stat starts
	d.srcStat()
	if d.err != nil {
		return
	}
	var e enc
	e.b = append(e.b, b[:at]...)
	e.srcStat(st)
	e.b = append(e.b, d.b...)
	writeCompiled(cpath, e.b)
}

// clockStamp returns the modification time (in nanoseconds) of a file it
// creates in dir and removes, or 0 when it cannot.
func clockStamp(dir string) int64 {
	if os.MkdirAll(dir, 0o700) != nil {
		return 0
	}
	f, err := os.CreateTemp(dir, "clock"+tempMarker+"*")
	if err != nil {
		return 0
	}
	defer os.Remove(f.Name())
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	return fi.ModTime().UnixNano()
}

// srcStat is the pipeline file's stat data (size, modification time,
// inode, change time) as the compiled cache stores it with the file's sum:
// while the file's stat data is the same, its sum is, and a load need not
// read and hash it (0.1 ms for a 1000-node pipeline). The zero srcStat,
// stored when the stat could not be trusted, matches no file.
type srcStat struct{ size, mtime, ino, ctime int64 }

// trustable reports whether st, taken after a file was created with time
// stamp t0 (clockStamp: the same clock as st's), may vouch for the content
// read after it: only when the file last changed before t0. A change made
// after the stat gives the file a change time at t0 or later, so its stat
// data can never again be st. One made in the same clock tick as the stat
// could keep it (git's racy-clean rule); so could any before t0's tick,
// but those happened before the stat and the read.
func trustable(st srcStat, t0 int64) bool {
	return t0 > 0 && st != (srcStat{}) && st.mtime < t0 && st.ctime < t0
}

// trustedSum returns the pipeline file's sum stored in the compiled file b
// when the file at path still has the stat data stored with it.
func trustedSum(b []byte, path string) (sum, bool) {
	if !bytes.HasPrefix(b, []byte(compiledMagic)) {
		return sum{}, false
	}
	d := &dec{b: b[len(compiledMagic):]}
	if d.uint() != compiledVersion {
		return sum{}, false
	}
	src := d.hash()
	stored := d.srcStat()
	if d.err != nil || stored == (srcStat{}) {
		return sum{}, false
	}
	st, ok := statSource(path)
	return src, ok && st == stored
}

// writeCompiled replaces the cache file atomically. It skips fsync: the
// payload carries its own checksum, so a write lost in a crash reads back
// as a miss, never as a wrong pipeline.
func writeCompiled(path string, b []byte) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+tempMarker+"*")
	if err != nil {
		return
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

// tempMarker is in the name of every temporary file bethel creates (see
// cache.IsTemp), so that one left by a crash is known for what it is.
const tempMarker = ".bethel-tmp-"

// sum is a SHA-256 digest: the compiled pipeline's own checksum, which
// needs no speed beyond the standard library's (a megabyte of pipeline
// hashes in well under a millisecond) and keeps the loader independent of
// the build cache.
type sum [sha256.Size]byte

func sumOf(b []byte) sum { return sha256.Sum256(b) }

// hashFile is sumOf the file at path, read through a small buffer. A hit
// in the compiled-pipeline cache needs only the file's sum, and every
// page a build touches for the first time costs a page fault: reading a
// 1000-node pipeline file whole took 33 of them (see BenchmarkLoadCached
// and scripts/bench-engine.sh).
func hashFile(path string) (sum, error) {
	f, err := os.Open(path)
	if err != nil {
		return sum{}, err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum{}, err
		}
	}
	var s sum
	h.Sum(s[:0])
	return s, nil
}

// payloadSum is the payload's checksum.
func payloadSum(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// short is the first 6 bytes in hex, for file names.
func (s sum) short() string { return hex.EncodeToString(s[:6]) }

func stagesSum(stages []string) sum {
	if stages == nil {
		return sum{}
	}
	s := append([]string(nil), stages...)
	sort.Strings(s)
	var b bytes.Buffer
	b.WriteString("stages\n")
	for _, n := range s {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return sumOf(b.Bytes())
}

// listingSum hashes a directory listing, leaving out the names in ignore:
// generated files come and go with every build and clean, and loading
// never looks at them.
func listingSum(ents []dirEnt, missing bool, ignore []string) sum {
	if missing {
		return sum{}
	}
	var b bytes.Buffer
	for _, e := range ents {
		if len(ignore) > 0 && contains(ignore, e.name) {
			continue
		}
		b.WriteString(e.name)
		b.WriteByte(0)
		b.WriteString(fmt.Sprint(uint32(e.typ)))
		b.WriteByte('\n')
	}
	return sumOf(b.Bytes())
}

// enc is an append-only binary writer.
type enc struct {
	b   []byte
	err error
}

func (e *enc) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) str(s string)  { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) hash(h sum) {
	e.b = append(e.b, h[:]...)
}
func (e *enc) srcStat(st srcStat) {
	for _, v := range [...]int64{st.size, st.mtime, st.ino, st.ctime} {
		e.int(v)
	}
}

func (e *enc) strs(s []string) {
	e.uint(uint64(len(s)))
	for _, x := range s {
		e.str(x)
	}
}

// refs writes a list of files as indexes in the pipeline's Files.
func (e *enc) refs(s []string, ref map[string]int) {
	e.uint(uint64(len(s)))
	for _, x := range s {
		i, ok := ref[x]
		if !ok {
			e.err = fmt.Errorf("pipeline cache: %s is not in the file table", x)
			return
		}
		e.uint(uint64(i))
	}
}

// sameOr writes s as a 1 when it is the same list as files (declared
// inputs without globs are their own expansion), else as 0 and the list.
func (e *enc) sameOr(s, files []string) {
	if slices.Equal(s, files) {
		e.uint(1)
		return
	}
	e.uint(0)
	e.strs(s)
}

func encodeCompiled(p *Pipeline, dc *dirCache, srcSum, stSum sum, st srcStat) ([]byte, error) {
	var body enc
	ref := make(map[string]int, len(p.Files))
	for i, f := range p.Files {
		ref[f] = i
	}
	body.strs(p.Files)
	body.uint(uint64(len(p.Nodes)))
	for _, n := range p.Nodes {
		body.str(n.Name)
		body.str(n.Description)
		body.str(n.Stage)
		body.str(n.Run)
		body.refs(n.InputFiles, ref)
		body.refs(n.PatchFiles, ref)
		body.refs(n.Outputs, ref)
		body.sameOr(n.Inputs, n.InputFiles)
		body.sameOr(n.Patches, n.PatchFiles)
		body.strs(n.EngineInputs)
		body.str(string(n.Visibility))
		body.str(n.Declassify)
		body.uint(b2u(n.VisibilityDeclared))
		body.strs(n.Env)
		body.uint(uint64(n.Pos.Line))
		body.uint(uint64(n.Pos.Col))
		if n.Params == nil {
			body.uint(0)
		} else {
			body.uint(1)
			body.value(n.Params)
		}
		body.uint(uint64(len(n.Deps)))
		for _, d := range n.Deps {
			body.uint(uint64(d.Index))
		}
	}
	for _, n := range p.Order {
		body.uint(uint64(n.Index))
	}
	body.strs(p.Sources)
	body.strs(p.Globs)
	body.str(p.Report)
	body.str(p.Fields)
	body.str(p.Privacy)
	body.strs(p.Links)
	if body.err != nil {
		return nil, body.err
	}

	var e enc
	e.b = append(e.b, compiledMagic...)
	e.uint(compiledVersion)
	e.hash(srcSum)
	e.srcStat(st)
	e.hash(stSum)
	e.str(p.File)
	e.str(exeIdentity())
	e.uint(uint64(len(dc.order) + len(dc.links)))
	// Per directory, the generated names its listing leaves out.
	gen := map[string][]string{"": {".bethel", "out"}}
	for o := range p.Producer {
		dir, base := splitPath(o)
		gen[dir] = append(gen[dir], base)
	}
	for _, d := range dc.order {
		ignore := sortedUnique(gen[d])
		e.b = append(e.b, 'd')
		e.str(d)
		e.strs(ignore)
		e.hash(listingSum(dc.m[d], dc.missing[d], ignore))
	}
	links := make([]string, 0, len(dc.links))
	for l := range dc.links {
		links = append(links, l)
	}
	sort.Strings(links)
	for _, l := range links {
		e.b = append(e.b, 'l')
		e.str(l)
		e.uint(uint64(dc.links[l]))
	}
	e.b = binary.LittleEndian.AppendUint32(e.b, payloadSum(body.b))
	e.b = append(e.b, body.b...)
	return e.b, nil
}

// Value tags of params.
const (
	tagString = iota + 1
	tagInt
	tagFloat
	tagFalse
	tagTrue
	tagTime
	tagArray
	tagTable
)

// Zone kinds of time values: TOML's local date, time and datetime carry
// the decoder's own locations, which must come back as the same pointers.
const (
	zoneUTC = iota
	zoneLocal
	zoneLocalDatetime
	zoneLocalDate
	zoneLocalTime
	zoneFixed
)

var (
	tomlZonesOnce sync.Once
	tomlZones     [3]*time.Location // datetime-local, date-local, time-local
)

// localZones returns the decoder's locations for local datetimes, dates
// and times, found by decoding one of each.
func localZones() [3]*time.Location {
	tomlZonesOnce.Do(func() {
		var m map[string]any
		if _, err := toml.Decode("a = 1979-05-27T07:32:00\nb = 1979-05-27\nc = 07:32:00\n", &m); err != nil {
			return
		}
		for i, k := range []string{"a", "b", "c"} {
			if t, ok := m[k].(time.Time); ok {
				tomlZones[i] = t.Location()
			}
		}
	})
	return tomlZones
}

func (e *enc) value(v any) {
	switch x := v.(type) {
	case string:
		e.uint(tagString)
		e.str(x)
	case int64:
		e.uint(tagInt)
		e.int(x)
	case float64:
		e.uint(tagFloat)
		e.uint(math.Float64bits(x))
	case bool:
		if x {
			e.uint(tagTrue)
		} else {
			e.uint(tagFalse)
		}
	case time.Time:
		e.uint(tagTime)
		e.int(x.Unix())
		e.uint(uint64(x.Nanosecond()))
		z := localZones()
		switch loc := x.Location(); {
		case loc == time.UTC:
			e.uint(zoneUTC)
		case loc == time.Local:
			e.uint(zoneLocal)
		case loc == z[0] && loc != nil:
			e.uint(zoneLocalDatetime)
		case loc == z[1] && loc != nil:
			e.uint(zoneLocalDate)
		case loc == z[2] && loc != nil:
			e.uint(zoneLocalTime)
		default:
			name, off := x.Zone()
			e.uint(zoneFixed)
			e.str(name)
			e.int(int64(off))
		}
	case []any:
		e.uint(tagArray)
		e.uint(uint64(len(x)))
		for _, y := range x {
			e.value(y)
		}
	case map[string]any:
		e.uint(tagTable)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		e.uint(uint64(len(keys)))
		for _, k := range keys {
			e.str(k)
			e.value(x[k])
		}
	default:
		e.err = fmt.Errorf("pipeline cache: cannot encode %T", v)
	}
}

var errCorrupt = errors.New("compiled pipeline: corrupt")

// dec reads what enc wrote; the first error sticks and every read after it
// returns zero values, so decoding garbage ends quickly without panics.
type dec struct {
	b   []byte
	err error
	// s is the whole payload as one string once decodeBody starts: every
	// decoded string is a substring of it, so that decoding a pipeline
	// allocates per node, not per path.
	s string
	// arena hands out string slices from one allocation.
	arena []string
	// refIdx are the file indexes refs has read, node after node.
	refIdx []int32
	// owned: b is the decoder's for good (nothing writes it again), so s
	// can be b itself rather than a copy. The copy of a 1000-node
	// pipeline's payload was 128 KB of fresh memory, 32 page faults, in
	// every no-op build.
	owned bool
}

func (d *dec) fail() { d.err = errCorrupt; d.b = nil }

func (d *dec) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length that must be plausible for the bytes left (every
// element takes at least one byte).
func (d *dec) count() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *dec) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail()
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

func (d *dec) str() string {
	n := d.count()
	if d.s == "" {
		return string(d.bytes(n))
	}
	off := len(d.s) - len(d.b) // b is always a suffix of s
	b := d.bytes(n)
	if b == nil {
		return ""
	}
	return d.s[off : off+n]
}

func (d *dec) srcStat() srcStat {
	return srcStat{size: d.int(), mtime: d.int(), ino: d.int(), ctime: d.int()}
}

func (d *dec) hash() sum {
	var h sum
	copy(h[:], d.bytes(len(h)))
	return h
}

func (d *dec) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	s := d.list(n)
	for i := range s {
		s[i] = d.str()
	}
	return s
}

// list returns a slice of n strings from the arena.
func (d *dec) list(n int) []string {
	if len(d.arena) < n {
		d.arena = make([]string, max(n, 1024))
	}
	// The full slice expression keeps an append by a caller from
	// writing into the next list.
	s := d.arena[:n:n]
	d.arena = d.arena[n:]
	return s
}

// refs reads what enc.refs wrote: files from the table, each index also
// appended to d.refIdx.
func (d *dec) refs(files []string) []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	s := d.list(n)
	for i := range s {
		k := d.index(len(files))
		if d.err != nil {
			return nil
		}
		s[i] = files[k]
		d.refIdx = append(d.refIdx, int32(k))
	}
	return s
}

// sameOr reads what enc.sameOr wrote: a copy of files, or a list.
func (d *dec) sameOr(files []string) []string {
	if d.uint() != 1 {
		return d.strs()
	}
	if len(files) == 0 {
		return nil
	}
	s := d.list(len(files))
	copy(s, files)
	return s
}

// index reads a node index below n.
func (d *dec) index(n int) int {
	i := d.uint()
	if i >= uint64(n) {
		d.fail()
		return 0
	}
	return int(i)
}

func (d *dec) value(depth int) any {
	if depth > 64 {
		d.fail()
		return nil
	}
	switch d.uint() {
	case tagString:
		return d.str()
	case tagInt:
		return d.int()
	case tagFloat:
		return math.Float64frombits(d.uint())
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagTime:
		sec, nsec := d.int(), d.uint()
		if nsec >= 1e9 {
			d.fail()
			return nil
		}
		t := time.Unix(sec, int64(nsec))
		z := localZones()
		var loc *time.Location
		switch d.uint() {
		case zoneUTC:
			loc = time.UTC
		case zoneLocal:
			loc = time.Local
		case zoneLocalDatetime:
			loc = z[0]
		case zoneLocalDate:
			loc = z[1]
		case zoneLocalTime:
			loc = z[2]
		case zoneFixed:
			name := d.str()
			loc = time.FixedZone(name, int(d.int()))
		}
		if loc == nil {
			d.fail()
			return nil
		}
		return t.In(loc)
	case tagArray:
		a := make([]any, d.count())
		for i := range a {
			a[i] = d.value(depth + 1)
		}
		return a
	case tagTable:
		n := d.count()
		m := make(map[string]any, n)
		for i := 0; i < n; i++ {
			k := d.str()
			m[k] = d.value(depth + 1)
		}
		return m
	}
	d.fail()
	return nil
}

// decodeCompiled checks the key of a cache file against the current
// pipeline file and workspace, and decodes the pipeline when it holds.
func decodeCompiled(b []byte, root, rel string, srcSum, stSum sum) (*Pipeline, error) {
	return decodeCompiledKey(b, root, rel, currentKey(rel, srcSum, stSum), true, false)
}

// decodeCompiledOwned is decodeCompiled of a b that nothing writes again
// (a file just read): the pipeline's strings are then parts of b.
func decodeCompiledOwned(b []byte, root, rel string, srcSum, stSum sum) (*Pipeline, error) {
	return decodeCompiledKey(b, root, rel, currentKey(rel, srcSum, stSum), true, true)
}

// currentKey accepts the key of a file compiled by this bethel from this
// pipeline file and stage list.
func currentKey(rel string, srcSum, stSum sum) func(compiledHeader) bool {
	return func(h compiledHeader) bool {
		return h.version == compiledVersion && h.src == srcSum && h.stages == stSum && h.file == rel && h.exe == exeIdentity()
	}
}

// decodeCompiledUnchecked decodes whatever b holds, trusting its key and
// payload hash: for fuzzing the decoder, which must still never panic.
func decodeCompiledUnchecked(b []byte, root string) (*Pipeline, error) {
	return decodeCompiledKey(b, root, "pipeline.toml", func(compiledHeader) bool { return true }, false, false)
}

type compiledHeader struct {
	version     uint64
	src, stages sum
	file, exe   string
}

func decodeCompiledKey(b []byte, root, rel string, keyOK func(compiledHeader) bool, check, owned bool) (*Pipeline, error) {
	if !bytes.HasPrefix(b, []byte(compiledMagic)) {
		return nil, errCorrupt
	}
	d := &dec{b: b[len(compiledMagic):], owned: owned}
	h := compiledHeader{version: d.uint(), src: d.hash()}
	d.srcStat() // trustedSum's business
	h.stages, h.file, h.exe = d.hash(), d.str(), d.str()
	if d.err != nil {
		return nil, d.err
	}
	if !keyOK(h) {
		return nil, errStale
	}
	ndeps := d.count()
	for i := 0; i < ndeps && d.err == nil; i++ {
		kind := d.bytes(1)
		p := d.str()
		if d.err != nil {
			break
		}
		full := filepath.Join(root, filepath.FromSlash(p))
		switch kind[0] {
		case 'd':
			ignore := d.strs()
			want := d.hash()
			if !check {
				continue
			}
			ents, missing := readDirEnts(full)
			if listingSum(ents, missing, ignore) != want {
				return nil, errStale
			}
		case 'l':
			want := fs.FileMode(d.uint())
			if !check {
				continue
			}
			got := fs.ModeIrregular
			if fi, err := os.Stat(full); err == nil {
				got = fi.Mode().Type()
			}
			if got != want {
				return nil, errStale
			}
		default:
			d.fail()
		}
	}
	crc := d.bytes(4)
	if d.err != nil || (check && payloadSum(d.b) != binary.LittleEndian.Uint32(crc)) {
		return nil, errCorrupt
	}
	return decodeBody(d, root, rel)
}

func decodeBody(d *dec, root, rel string) (*Pipeline, error) {
	if d.owned {
		d.s = unsafe.String(unsafe.SliceData(d.b), len(d.b))
	} else {
		d.s = string(d.b)
	}
	p := &Pipeline{Root: root, File: rel}
	files := d.strs()
	n := d.count()
	p.Producer = make(map[string]*Node, n)
	p.Nodes = make([]*Node, n)
	all := make([]Node, n)
	for i := range p.Nodes {
		all[i].Index = i
		p.Nodes[i] = &all[i]
	}
	var depArena []*Node
	// refAt[i] is where node i's file indexes start in d.refIdx (its
	// InputFiles, PatchFiles and Outputs, in a row).
	refAt := make([]int32, n+1)
	d.refIdx = make([]int32, 0, 4*n)
	for _, nd := range p.Nodes {
		nd.Name = d.str()
		nd.Description = d.str()
		nd.Stage = d.str()
		nd.Run = d.str()
		refAt[nd.Index] = int32(len(d.refIdx))
		nd.InputFiles = d.refs(files)
		nd.PatchFiles = d.refs(files)
		nd.Outputs = d.refs(files)
		refAt[nd.Index+1] = int32(len(d.refIdx))
		nd.Inputs = d.sameOr(nd.InputFiles)
		nd.Patches = d.sameOr(nd.PatchFiles)
		nd.EngineInputs = d.strs()
		nd.Visibility = stage.Visibility(d.str())
		nd.Declassify = d.str()
		nd.VisibilityDeclared = d.uint() == 1
		nd.Env = d.strs()
		nd.Pos = pos.Pos{File: rel, Line: int(d.uint()), Col: int(d.uint())}
		if d.uint() == 1 {
			m, ok := d.value(0).(map[string]any)
			if !ok {
				d.fail()
			}
			nd.Params = m
		}
		if k := d.count(); k > 0 {
			if len(depArena) < k {
				depArena = make([]*Node, max(k, n))
			}
			nd.Deps = depArena[:k:k]
			depArena = depArena[k:]
		}
		for k := range nd.Deps {
			nd.Deps[k] = p.Nodes[d.index(n)]
		}
		for _, o := range nd.Outputs {
			p.Producer[o] = nd
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	p.Order = make([]*Node, n)
	for i := range p.Order {
		p.Order[i] = p.Nodes[d.index(n)]
	}
	if d.err != nil {
		return nil, d.err
	}
	p.Files = files
	if len(d.refIdx) > 0 {
		p.FileRefs = make([]int32, 0, len(d.refIdx))
		for _, nd := range p.Order {
			p.FileRefs = append(p.FileRefs, d.refIdx[refAt[nd.Index]:refAt[nd.Index+1]]...)
		}
	}
	p.Sources = d.strs()
	p.Globs = d.strs()
	p.Report = d.str()
	p.Fields = d.str()
	p.Privacy = d.str()
	p.Links = d.strs()
	if d.err != nil || len(d.b) != 0 {
		return nil, errCorrupt
	}
	return p, nil
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// splitPath splits a cleaned relative path into its directory ("" at the
// root) and base name.
func splitPath(p string) (string, string) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i], p[i+1:]
		}
	}
	return "", p
}

var errStale = errors.New("compiled pipeline: stale")

var (
	exeOnce sync.Once
	exeID   string
)

// exeIdentity names the running binary by path, size and modification
// time; "" when it cannot be found, which still works but relies on
// compiledVersion alone.
func exeIdentity() string {
	exeOnce.Do(func() {
		p, err := os.Executable()
		if err != nil {
			return
		}
		fi, err := os.Stat(p)
		if err != nil {
			return
		}
		exeID = fmt.Sprintf("%s %d %d", p, fi.Size(), fi.ModTime().UnixNano())
	})
	return exeID
}
