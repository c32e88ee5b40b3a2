package xlsxw

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Large sheets' rows (lzMinRows) are compressed without searching for matches: the sheet
// writer knows where the markup it writes was written last (a text cell's
// opening and closing tags, a row's, an empty cell) and where each
// column's previous cell was, so it records those repeats as deflate
// back-references as it formats the row, and the rest (the cells' text)
// as literals. A worker then only encodes the references and literals in
// a deflate block with the format's fixed Huffman codes (RFC 1951, 3.2.6):
// no hash chains, no code tables to build. On a roster's XML this takes a
// third of the time of compress/flate at level 3 and makes a file 2.8
// times as large (a fifth of the XML); see docs/stages.md.

// lzMatch is one back-reference of a chunk: at offset pos of the chunk's
// XML, length bytes are a copy of those dist bytes before (which may be in
// an earlier chunk of the same part).
type lzMatch struct {
	pos, length, dist int32
}

// Deflate's limits on a back-reference.
const (
	minMatch = 3
	maxMatch = 258
	maxDist  = 32768
)

// lzTracker records the matches of one part as the sheet writer formats
// it. Positions are offsets in the part's uncompressed stream.
type lzTracker struct {
	on      bool // the sheet is large enough (lzMinRows); else nothing is recorded
	p       *pipeline
	matches []lzMatch
	// last holds, per markup kind, where it was last written (-1: not
	// in this part).
	last [lzKinds]int64
	// prev is, per column, where its last cell was written (a stream
	// offset; -1: none) and its length, to be compared with the next.
	prev []prevCell
}

type prevCell struct {
	at int64
	n  int
}

// Markup kinds whose last place is tracked.
const (
	lzRowOpen  = iota // <row r="
	lzRowClose        // </row>
	lzEmpty           // <c/>
	lzTextOpen        // <c t="inlineStr"><is><t>
	lzTextEnd         // </t></is></c>
	lzJunction        // </t></is></c><c t="inlineStr"><is><t>: one text cell's end, the next's start
	lzKinds
)

var lzMarkup = [lzKinds]string{`<row r="`, `</row>`, `<c/>`, `<c t="inlineStr"><is><t>`, `</t></is></c>`,
	`</t></is></c><c t="inlineStr"><is><t>`}

// lzMinRows is the size from which a sheet's rows are compressed so:
// below it compress/flate's smaller output costs next to nothing (and
// the workbooks of summaries keep their bytes).
var lzMinRows = 1000

// reset starts a part of ncol columns; on says whether to record.
func (t *lzTracker) reset(p *pipeline, ncol int, on bool) {
	t.on = on
	t.matches = nil
	t.p = p
	for i := range t.last {
		t.last[i] = -1
	}
	t.prev = t.prev[:0]
	for range ncol {
		t.prev = append(t.prev, prevCell{at: -1})
	}
}

// pos is the part's stream offset of buffer offset i.
func (t *lzTracker) pos(i int) int64 { return int64(t.p.cur.size) + int64(i) }

// ref records that buf[i:i+n] repeats what was at stream offset at,
// when a back-reference can say so.
func (t *lzTracker) ref(i, n int, at int64) {
	if !t.on || at < 0 || n < minMatch {
		return
	}
	dist := t.pos(i) - at
	if dist <= 0 || dist > maxDist {
		return
	}
	if t.matches == nil {
		// A part's first reference: a list a worker is done with, when
		// there is one (every sheet of a roster starts a part).
		select {
		case t.matches = <-t.p.spentMatches:
		default:
		}
	}
	// A copy that goes on where the last one ended, from as far back,
	// extends it: cells equal to the previous row's, side by side, are
	// one reference.
	if k := len(t.matches); k > 0 {
		if m := t.matches[k-1]; int(m.pos+m.length) == i && int64(m.dist) == dist {
			i, n = int(m.pos), n+int(m.length)
			t.matches = t.matches[:k-1]
		}
	}
	for n >= minMatch {
		l := min(n, maxMatch)
		if n-l > 0 && n-l < minMatch {
			l = n - minMatch // leave a referable rest
		}
		t.matches = append(t.matches, lzMatch{int32(i), int32(l), int32(dist)})
		i += l
		n -= l
	}
}

// markup records the markup of kind k just written at buffer offset i.
func (t *lzTracker) markup(k, i int) {
	if !t.on {
		return
	}
	t.ref(i, len(lzMarkup[k]), t.last[k])
	t.last[k] = t.pos(i)
}

// cell records the cell of column c written at buf[i:j]: a copy of the
// column's previous cell when their bytes are equal (compared when that
// cell is still in buf, as it is but after a chunk was sent), else its
// text markup as copies of the last markup written.
func (t *lzTracker) cell(buf []byte, c, i, j int) {
	if !t.on {
		return
	}
	p := &t.prev[c]
	b := buf[i:j]
	from := p.at - int64(t.p.cur.size) // p's offset in buf
	if p.n == j-i && from >= 0 && bytes.Equal(buf[from:from+int64(p.n)], b) {
		t.ref(i, j-i, p.at)
	} else if bytes.HasPrefix(b, []byte(lzMarkup[lzTextOpen])) && bytes.HasSuffix(b, []byte(lzMarkup[lzTextEnd])) {
		end := len(lzMarkup[lzTextEnd])
		k := len(t.matches)
		if k > 0 && t.matches[k-1] == (lzMatch{int32(i - end), int32(end), t.matches[k-1].dist}) {
			// The previous cell's end tag was referred to alone: its
			// end and this start are one copy of the last junction.
			t.matches = t.matches[:k-1]
			t.markup(lzJunction, i-end)
		} else {
			t.markup(lzTextOpen, i)
		}
		t.markup(lzTextEnd, j-end)
	}
	*p = prevCell{at: t.pos(i), n: j - i}
}

// take hands over the matches recorded for the buffer being sent, and
// starts the next buffer's in a list a worker is done with, when there is
// one.
func (t *lzTracker) take() []lzMatch {
	m := t.matches
	t.matches = nil
	if len(m) > 0 {
		select {
		case t.matches = <-t.p.spentMatches:
		default:
			t.matches = make([]lzMatch, 0, cap(m))
		}
	}
	return m
}

// The fixed Huffman codes, bit-reversed for the LSB-first bit stream:
// litCode[s] for literal/length symbol s, with its length in litBits.
var litCode, litBits = func() (code [288]uint16, n [288]uint8) {
	put := func(s int, c uint16, l uint8) {
		code[s] = bits.Reverse16(c) >> (16 - l)
		n[s] = l
	}
	for s := 0; s < 288; s++ {
		switch {
		case s < 144:
			put(s, uint16(0x30+s), 8)
		case s < 256:
			put(s, uint16(0x190+s-144), 9)
		case s < 280:
			put(s, uint16(s-256), 7)
		default:
			put(s, uint16(0xC0+s-280), 8)
		}
	}
	return code, n
}()

var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
)

// lengthSym is, per match length, its code (symbol 257 + index), the
// extra bits' value and their count, as one bit string of nbits.
var lengthSym = func() (t [maxMatch + 1]struct {
	bits  uint32
	nbits uint8
}) {
	for i := len(lengthBase) - 1; i >= 0; i-- {
		for l := int(lengthBase[i]); l <= maxMatch && t[l].nbits == 0; l++ {
			s := 257 + i
			extra := uint32(l - int(lengthBase[i]))
			t[l].bits = uint32(litCode[s]) | extra<<litBits[s]
			t[l].nbits = litBits[s] + lengthExtra[i]
		}
	}
	return t
}()

// litPacked is litCode and litBits in one word per byte: the code in the
// low 16 bits, its length above them.
var litPacked = func() (t [256]uint32) {
	for c := range t {
		t[c] = uint32(litCode[c]) | uint32(litBits[c])<<16
	}
	return t
}()

// bitWriter appends bits, least significant first, to a byte slice, four
// bytes at a time (no put adds more than 27 bits: three literals).
type bitWriter struct {
	out   []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) put(b uint64, n uint) {
	w.acc |= b << w.nbits
	w.nbits += n
	if w.nbits >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.nbits -= 32
	}
}

// align pads to a byte boundary and writes out what is held.
func (w *bitWriter) align() {
	for w.nbits > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nbits -= min(8, w.nbits)
	}
}

// encodeFixed appends raw as one deflate block with fixed Huffman codes,
// its matches as back-references and the other bytes as literals. The
// block is final when last; otherwise a sync flush follows it (an empty
// stored block, as flate.Writer.Flush writes), so that the next chunk's
// block starts on a byte.
func encodeFixed(out []byte, raw []byte, matches []lzMatch, last bool) []byte {
	w := bitWriter{out: out}
	var hdr uint64 = 1 << 1 // BTYPE 01: fixed codes
	if last {
		hdr |= 1
	}
	w.put(hdr, 3)
	lit := func(b []byte) {
		// Three literals (at most 27 bits) per put: most of a chunk is
		// literals, and a put's flush test is most of its cost.
		for len(b) >= 3 {
			e0, e1, e2 := litPacked[b[0]], litPacked[b[1]], litPacked[b[2]]
			n0, n1 := e0>>16, e1>>16
			w.put(uint64(e0&0xffff)|uint64(e1&0xffff)<<n0|uint64(e2&0xffff)<<(n0+n1), uint(n0+n1+e2>>16))
			b = b[3:]
		}
		for _, c := range b {
			w.put(uint64(litCode[c]), uint(litBits[c]))
		}
	}
	at := 0
	for _, m := range matches {
		lit(raw[at:m.pos])
		ls := lengthSym[m.length]
		w.put(uint64(ls.bits), uint(ls.nbits))
		d := uint32(m.dist - 1)
		var code, extra uint32
		if d < 4 {
			code = d
		} else {
			e := uint32(bits.Len32(d)) - 2
			code = 2*e + 2 + ((d >> e) & 1)
			extra = e
		}
		dbits := uint64(bits.Reverse8(uint8(code)) >> 3)
		dbits |= uint64(d-uint32(distBase[code]-1)) << 5
		w.put(dbits, 5+uint(extra))
		at = int(m.pos + m.length)
	}
	lit(raw[at:])
	w.put(uint64(litCode[256]), uint(litBits[256]))
	if last {
		w.align()
		return w.out
	}
	w.put(0, 3) // an empty stored block: BFINAL 0, BTYPE 00
	w.align()
	return append(w.out, 0, 0, 0xff, 0xff)
}
