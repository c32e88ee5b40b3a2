package site

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"bethel/pkg/par"
)

// writeLineage writes lineage.js: one assignment of a JSON object, loaded
// by a script tag because browsers refuse fetch() from file://.
//
// Format (v 1), every list index-addressed:
//
//	window.bethelLineage = {
//	  "v": 1,
//	  "files": [file, ...],                        // every file named below
//	  "src": {"f": [file, count, ...],             // Sources' files, run-length
//	          "l": [delta, ...],                   // lines, each minus the previous (0 at a new file)
//	          "k": [key, ...]},                    // record keys
//	  "patches": [[id, file, line, reason], ...],
//	  "text": [string, ...],                       // derivations and field lists
//	  "chains": [[node, ...], ...],                // node chains
//	  "sets": [[run, ...], ...],                   // lists of indexes, each once
//	  "cells": {"PATH:ROW:COL": [value, derivation, chain, fields, sources, patches], ...}
//	};
//
// A cell's derivation and fields index "text", its chain "chains", its
// sources and patches "sets" (into "src" and "patches"). A set is a list
// of ascending indexes written in whichever of two forms is shorter:
//
//   - an array of runs: a positive number d moves d past the previous
//     index (which starts at -1) and names it, a negative -k names the k
//     indexes right after the previous one. A TOTAL cell over every
//     record is two numbers, a sparse cell (one bethel's guests) about
//     one short number per record;
//   - a string: base64 of a bitmap, bit i (byte i/8, bit i%8 from the
//     least significant) set when index i is in the set. A dense but
//     scattered cell (a day's daughters) costs 1.33 bits per record.
//
// The many cells that count the same records (a day's total and every
// all-bethels session that day) share one set.
func (l *Lineage) writeJS(w io.Writer) error {
	ids := make([]string, 0, len(l.Cells))
	for id := range l.Cells {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	// Encoding the cells' source lists is most of the work: it runs on
	// other cores while the tables are written.
	lists := l.encodeLists(ids)
	bw := bufio.NewWriterSize(w, 64<<10)
	files := newInterner()
	for i, s := range l.Sources {
		if i == 0 || s.File != l.Sources[i-1].File {
			files.id(s.File)
		}
	}
	for _, p := range l.Patches {
		files.id(p.File)
	}
	bw.WriteString("window.bethelLineage = {\"v\":1,\n\"files\":")
	writeStrings(bw, files.list)
	bw.WriteString(",\n\"src\":{\"f\":[")
	// One scratch buffer for every number and key: a hundred thousand
	// records each allocated two strings before.
	var num []byte
	for i := 0; i < len(l.Sources); {
		j := i
		for j < len(l.Sources) && l.Sources[j].File == l.Sources[i].File {
			j++
		}
		num = num[:0]
		if i > 0 {
			num = append(num, ',')
		}
		num = strconv.AppendInt(num, int64(files.id(l.Sources[i].File)), 10)
		num = append(num, ',')
		num = strconv.AppendInt(num, int64(j-i), 10)
		bw.Write(num)
		i = j
	}
	bw.WriteString("],\n\"l\":[")
	for i, s := range l.Sources {
		num = num[:0]
		if i > 0 {
			num = append(num, ',')
		}
		d := s.Line
		if i > 0 && l.Sources[i-1].File == s.File {
			d -= l.Sources[i-1].Line
		}
		num = strconv.AppendInt(num, int64(d), 10)
		bw.Write(num)
	}
	bw.WriteString("],\n\"k\":[")
	for i, s := range l.Sources {
		num = num[:0]
		if i > 0 {
			num = append(num, ',')
		}
		num = appendJSString(num, s.Key)
		bw.Write(num)
	}
	bw.WriteString("]},\n\"patches\":[")
	for i, p := range l.Patches {
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.WriteString("[" + jsString(p.ID) + "," + strconv.Itoa(files.id(p.File)) + "," + strconv.Itoa(p.Line) + "," + jsString(p.Reason) + "]")
	}
	text, chains := newInterner(), newInterner()
	var buf []byte
	var chainList [][]string
	type enc struct{ deriv, chain, fields int }
	encs := make([]enc, len(ids))
	for i, id := range ids {
		c := l.Cells[id]
		key := strings.Join(c.Nodes, "\x00")
		n := len(chains.list)
		ch := chains.id(key)
		if ch == n {
			chainList = append(chainList, c.Nodes)
		}
		encs[i] = enc{text.id(c.Derivation), ch, text.id(strings.Join(c.Fields, ", "))}
	}
	bw.WriteString("],\n\"text\":")
	writeStrings(bw, text.list)
	bw.WriteString(",\n\"chains\":[")
	for i, ch := range chainList {
		if i > 0 {
			bw.WriteByte(',')
		}
		writeStrings(bw, ch)
	}
	sets := newInterner()
	encoded := map[list]int{}
	setID := func(idx []int32) int {
		var k list
		if len(idx) > 0 {
			k = list{&idx[0], len(idx)}
			if id, ok := encoded[k]; ok {
				return id
			}
		}
		var id int
		if e, ok := lists.done(k); ok {
			id = sets.id(e)
		} else {
			buf = appendSet(buf[:0], idx)
			id = sets.id(string(buf))
		}
		if k.first != nil {
			encoded[k] = id
		}
		return id
	}
	setOf := make([][2]int, len(ids))
	for i, id := range ids {
		c := l.Cells[id]
		setOf[i][0] = setID(c.Sources)
		setOf[i][1] = setID(c.Patches)
	}
	bw.WriteString("],\n\"sets\":[")
	for i, set := range sets.list {
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.WriteString(set)
	}
	bw.WriteString("],\n\"cells\":{")
	for i, id := range ids {
		c := l.Cells[id]
		if i > 0 {
			bw.WriteByte(',')
		}
		e := encs[i]
		bw.WriteString("\n" + jsString(id) + ":[" + jsString(c.Value) + "," + strconv.Itoa(e.deriv) + "," + strconv.Itoa(e.chain) + "," +
			strconv.Itoa(e.fields) + "," + strconv.Itoa(setOf[i][0]) + "," + strconv.Itoa(setOf[i][1]) + "]")
	}
	bw.WriteString("\n}};\n")
	return bw.Flush()
}

// list names one index list by identity: cells that count the same
// records usually share one list (the engine resolves equal row sets
// once), which is then encoded once.
type list struct {
	first *int32
	n     int
}

// encodedLists are the cells' distinct source lists being encoded in the
// background (encodeLists).
type encodedLists struct {
	idx  map[list]int
	enc  []string
	wait func()
}

// encodeLists starts encoding every distinct source list of the cells
// ids on two goroutines.
func (l *Lineage) encodeLists(ids []string) *encodedLists {
	e := &encodedLists{idx: map[list]int{}}
	var todo [][]int32
	for _, id := range ids {
		if src := l.Cells[id].Sources; len(src) > 0 {
			k := list{&src[0], len(src)}
			if _, ok := e.idx[k]; !ok {
				e.idx[k] = len(todo)
				todo = append(todo, src)
			}
		}
	}
	e.enc = make([]string, len(todo))
	e.wait = sync.OnceFunc(par.Go(len(todo), 2, func() func(int) {
		var buf []byte
		return func(i int) {
			buf = appendSet(buf[:0], todo[i])
			e.enc[i] = string(buf)
		}
	}))
	return e
}

// done returns the encoding of list k, once every list is encoded; ok is
// false for a list encodeLists did not take (an empty or patch list).
func (e *encodedLists) done(k list) (string, bool) {
	i, ok := e.idx[k]
	if !ok {
		return "", false
	}
	e.wait()
	return e.enc[i], true
}

// appendRuns encodes ascending indexes as writeJS describes.
func appendRuns[T int | int32](b []byte, idx []T) []byte {
	b, _ = appendRunsUpTo(b, idx, -1)
	return b
}

// appendRunsUpTo is appendRuns that gives up (ok false) once the runs and
// a closing bracket would make b longer than max (max < 0: no limit).
func appendRunsUpTo[T int | int32](b []byte, idx []T, max int) (_ []byte, ok bool) {
	cur := T(-1)
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && idx[j] == idx[j-1]+1 {
			j++
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendInt(b, int64(idx[i]-cur))
		if j-i > 1 {
			b = append(b, ',', '-')
			b = appendInt(b, int64(j-i-1))
		}
		if max >= 0 && len(b)+1 > max {
			return b, false
		}
		cur = idx[j-1]
		i = j
	}
	return b, true
}

// appendInt is strconv.AppendInt in base 10 with a shortcut for the one-
// and two-digit numbers most runs are made of.
func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v < 10:
		return append(b, byte('0'+v))
	case v >= 10 && v < 100:
		return append(b, byte('0'+v/10), byte('0'+v%10))
	}
	return strconv.AppendInt(b, v, 10)
}

// appendSet encodes a set of ascending indexes as writeJS describes: runs
// or a bitmap, whichever is shorter. The bitmap's length is known up
// front, so the runs stop as soon as they are longer: a dense set of a
// hundred thousand records was written out in full as runs first.
func appendSet[T int | int32](b []byte, idx []T) []byte {
	if len(idx) == 0 {
		return append(b, '[', ']')
	}
	start := len(b)
	n := int(idx[len(idx)-1])/8 + 1
	limit := base64.StdEncoding.EncodedLen(n) + 2
	b = append(b, '[')
	b, ok := appendRunsUpTo(b, idx, start+limit)
	if ok {
		return append(b, ']')
	}
	bits := make([]byte, n)
	for _, i := range idx {
		bits[i/8] |= 1 << (i % 8)
	}
	b = append(b[:start], '"')
	b = base64.StdEncoding.AppendEncode(b, bits)
	return append(b, '"')
}

// LineageJS is lineage.js as site.js reads it, for the tests that check
// what the site shows against the lineage: record files, the sources
// (file number, line and key per record), the shared sets, and per cell
// id its set indexes.
type LineageJS struct {
	Files []string
	Src   struct {
		F, L []int
		K    []string
	}
	Sets  []json.RawMessage
	Cells map[string][]json.RawMessage
}

// ReadLineageJS parses lineage.js (one `window.bethelLineage = {...};`
// assignment).
func ReadLineageJS(b []byte) (*LineageJS, error) {
	s := strings.TrimSpace(string(b))
	s = strings.TrimSuffix(strings.TrimPrefix(s, "window.bethelLineage = "), ";")
	var lj LineageJS
	if err := json.Unmarshal([]byte(s), &lj); err != nil {
		return nil, err
	}
	return &lj, nil
}

// DecodeSet reads one set of lineage.js back, in either form, as site.js
// does: a JSON array of runs or a base64 bitmap string.
func DecodeSet(raw []byte) ([]int, error) {
	var toks []int
	if json.Unmarshal(raw, &toks) == nil {
		return decodeRuns(toks), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("lineage set %s is neither runs nor a bitmap", raw)
	}
	bits, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var out []int
	for i, c := range bits {
		for k := 0; k < 8; k++ {
			if c&(1<<k) != 0 {
				out = append(out, i*8+k)
			}
		}
	}
	return out, nil
}

// decodeRuns is appendRuns' inverse.
func decodeRuns(toks []int) []int {
	var out []int
	cur := -1
	for _, t := range toks {
		if t > 0 {
			cur += t
			out = append(out, cur)
			continue
		}
		for k := 0; k < -t; k++ {
			cur++
			out = append(out, cur)
		}
	}
	return out
}

type interner struct {
	m    map[string]int
	list []string
}

func newInterner() *interner { return &interner{m: map[string]int{}} }

func (in *interner) id(s string) int {
	if i, ok := in.m[s]; ok {
		return i
	}
	in.m[s] = len(in.list)
	in.list = append(in.list, s)
	return len(in.list) - 1
}

func writeStrings(bw *bufio.Writer, l []string) {
	bw.WriteByte('[')
	for i, s := range l {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(jsString(s))
	}
	bw.WriteByte(']')
}

// jsString quotes s as a JSON string, which is also a JavaScript string
// literal (encoding/json escapes U+2028 and U+2029, which JSON allows and
// older JavaScript did not).
func jsString(s string) string {
	if jsSimple(s) {
		return `"` + s + `"`
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// appendJSString appends jsString(s) without allocating for a string that
// needs no escape (a record key).
func appendJSString(b []byte, s string) []byte {
	if jsSimple(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	return append(b, jsString(s)...)
}

func jsSimple(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
