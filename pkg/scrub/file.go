package scrub

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

// The file format of a Set (a private artifact, e.g.
// out/private/registrations.sensitive): three text lines, then the keys.
//
//	bethel-scrub-set 2
//	birth-year 2016
//	keys 48213
//	<keys: 8 bytes each, little-endian, strictly increasing>
//
// birth-year is the latest year of a birth date added (0: none). A key is
// a 64-bit hash of one normalized form or word prefix with its three low
// bits as flags (1: a whole form, 2: the start of a longer word form, 4: a
// whole Category form); no value is stored in clear. The same values give
// the same bytes. Version 1, whose keys had two flag bits (1 and 2), is
// still read.
const magic = "bethel-scrub-set 2"

// magic1 is version 1's first line.
const magic1 = "bethel-scrub-set 1"

// maxKeys bounds what ReadSet believes of a header: 2^28 keys is 2 GiB of
// keys, far beyond any event's forms.
const maxKeys = 1 << 28

// WriteTo writes the Set in its file format (see above).
func (s *Set) WriteTo(w io.Writer) (int64, error) {
	var keys []uint64
	by := 0
	if s != nil {
		keys, by = s.keys, s.latestBY
	}
	bw := bufio.NewWriter(w)
	n, _ := fmt.Fprintf(bw, "%s\nbirth-year %d\nkeys %d\n", magic, by, len(keys))
	total := int64(n)
	var buf [8]byte
	for _, k := range keys {
		binary.LittleEndian.PutUint64(buf[:], k)
		bw.Write(buf[:])
		total += 8
	}
	if err := bw.Flush(); err != nil {
		return total, fmt.Errorf("writing scrub set: %w", err)
	}
	return total, nil
}

// unionParts are what a union of sets is made of: the non-empty key
// lists (nil sets skipped) and the latest birth year of any.
func unionParts(sets []*Set) (ks [][]uint64, by int) {
	for _, s := range sets {
		if s == nil {
			continue
		}
		by = max(by, s.latestBY)
		if len(s.keys) > 0 {
			ks = append(ks, s.keys)
		}
	}
	return ks, by
}

// WriteUnion writes the Union of sets in the file format, merging their
// keys as it writes instead of holding the union: the registrations node
// adds a patch's few values to the export's millions of keys.
func WriteUnion(w io.Writer, sets ...*Set) (int64, error) {
	ks, by := unionParts(sets)
	if len(ks) <= 1 {
		var keys []uint64
		if len(ks) == 1 {
			keys = ks[0]
		}
		return (&Set{keys: keys, latestBY: by}).WriteTo(w)
	}
	chunk := make([]uint64, 0, 8192)
	n := 0
	for m := newKeyMerge(ks); ; {
		if chunk = m.next(chunk[:0]); len(chunk) == 0 {
			break
		}
		n += len(chunk)
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	c, _ := fmt.Fprintf(bw, "%s\nbirth-year %d\nkeys %d\n", magic, by, n)
	total := int64(c)
	out := make([]byte, 8*cap(chunk))
	for m := newKeyMerge(ks); ; {
		if chunk = m.next(chunk[:0]); len(chunk) == 0 {
			break
		}
		for i, k := range chunk {
			binary.LittleEndian.PutUint64(out[8*i:], k)
		}
		bw.Write(out[:8*len(chunk)])
		total += int64(8 * len(chunk))
	}
	if err := bw.Flush(); err != nil {
		return total, fmt.Errorf("writing scrub set: %w", err)
	}
	return total, nil
}

// UnionSize is the number of bytes WriteUnion writes for sets: a file
// that holds a set after a length (the mapped registrations) writes it
// without holding its bytes first.
func UnionSize(sets ...*Set) int64 {
	ks, by := unionParts(sets)
	n := 0
	switch len(ks) {
	case 0:
	case 1:
		n = len(ks[0])
	default:
		chunk := make([]uint64, 0, 8192)
		for m := newKeyMerge(ks); ; {
			if chunk = m.next(chunk[:0]); len(chunk) == 0 {
				break
			}
			n += len(chunk)
		}
	}
	return int64(len(fmt.Sprintf("%s\nbirth-year %d\nkeys %d\n", magic, by, n)) + 8*n)
}

// keyMerge walks the union of sorted key lists in order, the flags of a
// slot in several lists OR-ed (as mergeKeys does for two).
type keyMerge struct {
	ks  [][]uint64
	pos []int
}

func newKeyMerge(ks [][]uint64) *keyMerge { return &keyMerge{ks: ks, pos: make([]int, len(ks))} }

// next appends the next keys to dst, up to its capacity; none at the end.
func (m *keyMerge) next(dst []uint64) []uint64 {
	for len(dst) < cap(dst) {
		best, have := uint64(0), false
		for i, l := range m.ks {
			if p := m.pos[i]; p < len(l) {
				if s := slot(l[p]); !have || s < best {
					best, have = s, true
				}
			}
		}
		if !have {
			break
		}
		var k uint64
		for i, l := range m.ks {
			if p := m.pos[i]; p < len(l) && slot(l[p]) == best {
				k |= l[p]
				m.pos[i]++
			}
		}
		dst = append(dst, k)
	}
	return dst
}

// ReadSet reads a Set written by WriteTo. Errors name the line of the
// header or the index of the key at fault (the caller adds the file).
func ReadSet(r io.Reader) (*Set, error) {
	br := bufio.NewReader(r)
	line := func(n int, want string) (string, error) {
		s, err := br.ReadString('\n')
		if err != nil {
			if err == io.EOF {
				return "", fmt.Errorf("line %d: unexpected end of file, want %q", n, want)
			}
			return "", fmt.Errorf("line %d: %w", n, err)
		}
		if len(s) > 64 {
			return "", fmt.Errorf("line %d: too long for a header line, want %q", n, want)
		}
		return strings.TrimSuffix(s, "\n"), nil
	}
	head, err := line(1, magic)
	if err != nil {
		return nil, err
	}
	mask := uint64(flagMask)
	switch head {
	case magic:
	case magic1:
		mask = flagFull | flagPrefix
	default:
		return nil, fmt.Errorf("line 1: not a scrub set (want %q)", magic)
	}
	slotOf := func(k uint64) uint64 { // slot under the file's own mask
		if k &^= mask; k == 0 {
			return mask + 1
		}
		return k
	}
	num := func(n int, key string) (int, error) {
		s, err := line(n, key+" N")
		if err != nil {
			return 0, err
		}
		v, ok := strings.CutPrefix(s, key+" ")
		if !ok {
			return 0, fmt.Errorf("line %d: want %q", n, key+" N")
		}
		x, err := strconv.Atoi(v)
		if err != nil || x < 0 || strconv.Itoa(x) != v {
			return 0, fmt.Errorf("line %d: %s is not a count", n, key)
		}
		return x, nil
	}
	by, err := num(2, "birth-year")
	if err != nil {
		return nil, err
	}
	if by > 9999 {
		return nil, fmt.Errorf("line 2: birth-year %d is not a year", by)
	}
	n, err := num(3, "keys")
	if err != nil {
		return nil, err
	}
	if n > maxKeys {
		return nil, fmt.Errorf("line 3: %d keys is more than a scrub set holds (%d)", n, maxKeys)
	}
	// Read in chunks rather than trusting the count up front, unless the
	// reader's size vouches for it (a million registrations' set holds
	// some seven million keys: growing to them by doubling copies them
	// all once more and holds twice their memory at the end).
	want := min(n, 1<<16)
	if size := sizeOf(r); size >= 0 && int64(n) <= (size+int64(br.Buffered()))/8 {
		want = n
	}
	keys := make([]uint64, 0, want)
	buf := make([]byte, 8*min(n, 1<<13))
	for i := 0; i < n; {
		chunk := buf[:8*min(n-i, len(buf)/8)]
		if got, err := io.ReadFull(br, chunk); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("key %d: file ends after %d of %d keys", i+got/8, i+got/8, n)
			}
			return nil, fmt.Errorf("key %d: %w", i+got/8, err)
		}
		for off := 0; off < len(chunk); off, i = off+8, i+1 {
			k := binary.LittleEndian.Uint64(chunk[off:])
			if k&mask == 0 || slotOf(k) != k&^mask {
				return nil, fmt.Errorf("key %d: not a key (no flag, or the empty slot)", i)
			}
			if len(keys) > 0 && slotOf(keys[len(keys)-1]) >= slotOf(k) {
				return nil, fmt.Errorf("key %d: keys out of order", i)
			}
			keys = append(keys, k)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("key %d: data after the last key", n)
	}
	if head == magic1 {
		keys = fromVersion1(keys)
	}
	return newSet(keys, by), nil
}

// sizeOf is what is left to read of r when r knows it (a strings or bytes
// reader, a regular file), else -1; what a bufio.Reader over r has taken
// from it is left to read too.
func sizeOf(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len())
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size() // the start of a file: ReadSet's callers open it for this
		}
	}
	return -1
}

// fromVersion1 gives version 1 keys the third flag bit: a hash's bit 2
// becomes a flag, so two keys may now share a slot (adjacent, since they
// differed in their lowest hash bit only); their flags merge.
func fromVersion1(keys []uint64) []uint64 {
	out := keys[:0]
	for _, k := range keys {
		k = slot(k) | k&(flagFull|flagPrefix)
		if n := len(out); n > 0 && slot(out[n-1]) == slot(k) {
			out[n-1] |= k & flagMask
			continue
		}
		out = append(out, k)
	}
	return out
}
