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
	bw := bufio.NewWriterSize(w, 64<<10)
	files := newInterner()
	for _, s := range l.Sources {
		files.id(s.File)
	}
	for _, p := range l.Patches {
		files.id(p.File)
	}
	bw.WriteString("window.bethelLineage = {\"v\":1,\n\"files\":")
	writeStrings(bw, files.list)
	bw.WriteString(",\n\"src\":{\"f\":[")
	for i := 0; i < len(l.Sources); {
		j := i
		for j < len(l.Sources) && l.Sources[j].File == l.Sources[i].File {
			j++
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(strconv.Itoa(files.id(l.Sources[i].File)))
		bw.WriteByte(',')
		bw.WriteString(strconv.Itoa(j - i))
		i = j
	}
	bw.WriteString("],\n\"l\":[")
	for i, s := range l.Sources {
		if i > 0 {
			bw.WriteByte(',')
		}
		d := s.Line
		if i > 0 && l.Sources[i-1].File == s.File {
			d -= l.Sources[i-1].Line
		}
		bw.WriteString(strconv.Itoa(d))
	}
	bw.WriteString("],\n\"k\":[")
	for i, s := range l.Sources {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(jsString(s.Key))
	}
	bw.WriteString("]},\n\"patches\":[")
	for i, p := range l.Patches {
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.WriteString("[" + jsString(p.ID) + "," + strconv.Itoa(files.id(p.File)) + "," + strconv.Itoa(p.Line) + "," + jsString(p.Reason) + "]")
	}
	ids := make([]string, 0, len(l.Cells))
	for id := range l.Cells {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	text, chains := newInterner(), newInterner()
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
	var buf []byte
	setOf := make([][2]int, len(ids))
	for i, id := range ids {
		c := l.Cells[id]
		buf = appendSet(buf[:0], c.Sources)
		setOf[i][0] = sets.id(string(buf))
		buf = appendSet(buf[:0], c.Patches)
		setOf[i][1] = sets.id(string(buf))
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

// appendRuns encodes ascending indexes as writeJS describes.
func appendRuns[T int | int32](b []byte, idx []T) []byte {
	cur := T(-1)
	first := true
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && idx[j] == idx[j-1]+1 {
			j++
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = strconv.AppendInt(b, int64(idx[i]-cur), 10)
		if j-i > 1 {
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(-(j - i - 1)), 10)
		}
		cur = idx[j-1]
		i = j
	}
	return b
}

// appendSet encodes a set of ascending indexes as writeJS describes: runs
// or a bitmap, whichever is shorter.
func appendSet[T int | int32](b []byte, idx []T) []byte {
	start := len(b)
	b = append(b, '[')
	b = appendRuns(b, idx)
	b = append(b, ']')
	if len(idx) == 0 {
		return b
	}
	n := int(idx[len(idx)-1])/8 + 1
	if base64.StdEncoding.EncodedLen(n)+2 >= len(b)-start {
		return b
	}
	bits := make([]byte, n)
	for _, i := range idx {
		bits[i/8] |= 1 << (i % 8)
	}
	b = append(b[:start], '"')
	b = base64.StdEncoding.AppendEncode(b, bits)
	return append(b, '"')
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
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			simple = false
			break
		}
	}
	if simple {
		return `"` + s + `"`
	}
	b, _ := json.Marshal(s)
	return string(b)
}
