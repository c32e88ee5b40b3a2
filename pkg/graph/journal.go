package graph

import (
	"bytes"
	"encoding/hex"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"bethel/pkg/cache"
)

// journal is the state of the last build of every node: an append-only log
// (.bethel/state/log), like ninja's .ninja_log, so that finishing a node
// costs one small append instead of rewriting a state file.
//
//	bethel-state 1
//	S <node> <key> <crc>                      the node started writing outputs
//	D <node> <key> {<path> <hash>} <crc>      the node's outputs are in place
//	R <node> <key> <microseconds> <crc>       how long the run took (after D)
//
// Fields are separated by tabs; a name or path holding a tab, newline,
// backslash or leading quote is written Go-quoted. <crc> is the CRC-32 of
// the line before it, so a line torn by a crash is ignored. The last record
// of a node wins: a D means "these outputs are what bethel wrote for this
// key"; an S without a later D means a run was interrupted or failed, so the
// node is stale and its outputs are bethel's own leftovers (not hand edits),
// and any temporary files it left are swept. An R record is the running
// time of the run a D record ends, which the scheduler weighs the critical
// path by (ninja's .ninja_log keeps it for the same use); it does not
// count toward compaction. The file is compacted
// (rewritten atomically with one record per node) when it holds more than
// twice as many records as nodes and 512 more (compactAt).
type journal struct {
	path string

	mu      sync.Mutex
	m       map[string]*nodeState
	records int
	f       *os.File // open for appending while a build writes
	torn    bool     // the file does not end in a newline
}

// recordedOutput is one output as the journal recorded it.
type recordedOutput struct {
	path string
	h    cache.Hash
}

// output returns the recorded hash of path.
func (st *nodeState) output(path string) (cache.Hash, bool) {
	for _, o := range st.outputs {
		if o.path == path {
			return o.h, true
		}
	}
	return cache.Hash{}, false
}

// nodeState is the last record of one node.
type nodeState struct {
	key         cache.Hash
	outputs     []recordedOutput
	interrupted bool // last record is S: a run began and did not finish
	// ran is how long the node's last run took (0: not known), kept
	// across runs that restore it from the cache.
	ran time.Duration
}

const journalHeader = "bethel-state 1\n"

func loadJournal(path string) *journal {
	j := &journal{path: path, m: make(map[string]*nodeState)}
	b, err := os.ReadFile(path)
	if err != nil {
		return j
	}
	j.load(b)
	return j
}

// load reads the records of a whole log file.
func (j *journal) load(b []byte) {
	if !bytes.HasPrefix(b, []byte(journalHeader)) {
		return
	}
	j.torn = len(b) > 0 && b[len(b)-1] != '\n'
	b = b[len(journalHeader):]
	j.m = make(map[string]*nodeState, bytes.Count(b, []byte{'\n'}))
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		line := b[:i]
		b = b[i+1:]
		j.parse(line)
	}
}

func (j *journal) parse(line []byte) {
	body, ok := cache.CheckLine(line)
	if !ok {
		return
	}
	// Fields without splitting into a slice of strings: a no-op build
	// reads one record per node, so this loop is on its critical path.
	rest := body
	next := func() ([]byte, bool) {
		if rest == nil {
			return nil, false
		}
		i := bytes.IndexByte(rest, '\t')
		if i < 0 {
			f := rest
			rest = nil
			return f, true
		}
		f := rest[:i]
		rest = rest[i+1:]
		return f, true
	}
	kind, _ := next()
	nameF, ok1 := next()
	keyF, ok2 := next()
	if !ok1 || !ok2 {
		return
	}
	name, ok := unquoteField(string(nameF))
	var key cache.Hash
	if !ok || len(keyF) != 64 {
		return
	}
	if _, err := hex.Decode(key[:], keyF); err != nil {
		return
	}
	switch string(kind) {
	case "S":
		st := j.m[name]
		if st == nil {
			st = &nodeState{}
			j.m[name] = st
		}
		st.key, st.interrupted, st.outputs = key, true, nil
	case "D":
		var outs []recordedOutput
		for rest != nil {
			pf, _ := next()
			hf, ok := next()
			var h cache.Hash
			if !ok || len(hf) != 64 {
				return
			}
			if _, err := hex.Decode(h[:], hf); err != nil {
				return
			}
			p, ok := unquoteField(string(pf))
			if !ok {
				return
			}
			outs = append(outs, recordedOutput{p, h})
		}
		j.m[name] = &nodeState{key: key, outputs: outs, ran: j.ranOf(name)}
	case "R":
		us, ok := next()
		n, err := strconv.ParseInt(string(us), 10, 64)
		if st := j.m[name]; ok && err == nil && n > 0 && st != nil && st.key == key {
			st.ran = time.Duration(n) * time.Microsecond
		}
		return
	default:
		return
	}
	j.records++
}

// ranOf is the running time recorded for name, 0 if none.
func (j *journal) ranOf(name string) time.Duration {
	if st := j.m[name]; st != nil {
		return st.ran
	}
	return 0
}

// formatRan is the R record of a run of name that took ran.
func formatRan(name string, key cache.Hash, ran time.Duration) []byte {
	var b bytes.Buffer
	b.WriteString("R\t")
	b.WriteString(quoteField(name))
	b.WriteByte('\t')
	b.WriteString(key.String())
	b.WriteByte('\t')
	b.WriteString(strconv.FormatInt(max(ran.Microseconds(), 1), 10))
	b.Write(cache.ChecksumTail(b.Bytes()))
	return b.Bytes()
}

func quoteField(s string) string {
	if strings.ContainsAny(s, "\t\n\r\\") || strings.HasPrefix(s, `"`) {
		return strconv.Quote(s)
	}
	return s
}

func unquoteField(s string) (string, bool) {
	if strings.HasPrefix(s, `"`) {
		u, err := strconv.Unquote(s)
		return u, err == nil
	}
	return s, true
}

func (j *journal) get(name string) (*nodeState, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	st, ok := j.m[name]
	return st, ok
}

func (j *journal) interrupted() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var names []string
	for n, st := range j.m {
		if st.interrupted {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func formatRecord(kind, name string, key cache.Hash, outs []cache.Output) []byte {
	var b bytes.Buffer
	b.WriteString(kind)
	b.WriteByte('\t')
	b.WriteString(quoteField(name))
	b.WriteByte('\t')
	b.WriteString(key.String())
	for _, o := range outs {
		b.WriteByte('\t')
		b.WriteString(quoteField(o.Path))
		b.WriteByte('\t')
		b.WriteString(o.Hash.String())
	}
	b.Write(cache.ChecksumTail(b.Bytes()))
	return b.Bytes()
}

// append writes one record with a single write(2) on an O_APPEND file, so
// that a killed process leaves whole records (a torn one fails its CRC).
func (j *journal) append(rec []byte) error {
	if j.f == nil {
		f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		if fi.Size() == 0 {
			if _, err := f.WriteString(journalHeader); err != nil {
				f.Close()
				return err
			}
		} else if j.torn {
			if _, err := f.WriteString("\n"); err != nil {
				f.Close()
				return err
			}
			j.torn = false
		}
		j.f = f
	}
	_, err := j.f.Write(rec)
	return err
}

func (j *journal) start(name string, key cache.Hash) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.append(formatRecord("S", name, key, nil)); err != nil {
		return err
	}
	j.records++
	j.m[name] = &nodeState{key: key, interrupted: true}
	return nil
}

// done records that name's outputs for key are in place; ran is how long
// its run took, 0 when it was restored instead (the last known time is
// kept). One write for the D record and its R record.
func (j *journal) done(name string, key cache.Hash, outs []cache.Output, ran time.Duration) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if ran <= 0 {
		ran = j.ranOf(name)
	}
	rec := formatRecord("D", name, key, outs)
	if ran > 0 {
		rec = append(rec, formatRan(name, key, ran)...)
	}
	if err := j.append(rec); err != nil {
		return err
	}
	j.records++
	m := make([]recordedOutput, len(outs))
	for i, o := range outs {
		m[i] = recordedOutput{o.Path, o.Hash}
	}
	j.m[name] = &nodeState{key: key, outputs: m, ran: ran}
	return nil
}

// sync flushes the log to disk (after close, by path).
func (j *journal) sync() error {
	f, err := os.Open(j.path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// compactAt is how many records a log of live nodes may hold before it is
// compacted. Compacting is one rewrite, but a durable one: its fsync is
// the first of the build and waits for the file system to write out every
// output and blob the build wrote (70 to 130 ms after a one-patch rebuild
// of 100,000 registrations, which appends 26 records). Reading a few
// hundred superseded records costs far less (the journal parser reads a
// record in well under a microsecond), so the log may grow to twice its
// live records and 512 more.
func compactAt(live int) int { return 2*live + 512 }

// close ends appending; when the log has grown past twice its live records
// it is compacted, keeping only the nodes live accepts (nil keeps all).
func (j *journal) close(live func(string) bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var err error
	if j.f != nil {
		err = j.f.Close()
		j.f = nil
	}
	if err != nil || j.records <= compactAt(len(j.m)) {
		return err
	}
	names := make([]string, 0, len(j.m))
	for n := range j.m {
		if live == nil || live(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString(journalHeader)
	for _, n := range names {
		st := j.m[n]
		if st.interrupted {
			b.Write(formatRecord("S", n, st.key, nil))
			continue
		}
		outs := make([]cache.Output, len(st.outputs))
		for i, o := range st.outputs {
			outs[i] = cache.Output{Path: o.path, Hash: o.h}
		}
		b.Write(formatRecord("D", n, st.key, outs))
		if st.ran > 0 {
			b.Write(formatRan(n, st.key, st.ran))
		}
	}
	if err := cache.WriteFile(j.path, b.Bytes(), 0o600); err != nil {
		return err
	}
	j.records = len(names)
	return nil
}
