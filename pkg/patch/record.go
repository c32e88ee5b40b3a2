package patch

import "strings"

// Record is one row of a Table. Its values live packed in one string
// (offsets, then the bytes of every field), because a million
// registrations held as []string would spend more memory on string headers
// than on the data itself.
type Record struct {
	data string
	// Line is where the record starts in Table.Source; 0 for a record added
	// by a patch.
	Line int
	// Dropped is set when a patch dropped the record.
	Dropped bool
}

// NewRecord packs values into a Record.
func NewRecord(values []string, line int) Record {
	return Record{data: pack(values), Line: line}
}

// Packed returns the record's values in their packed form, for a stage
// that stores a table and reads it back with RecordFromPacked (the
// registrations.map stage): far cheaper than repacking every record. The
// form is internal to this package: a stage that stores it must bump its
// version when this package changes it.
func (r *Record) Packed() string { return r.data }

// RecordFromPacked is the record whose packed form is data, as Packed
// returned it. It checks the form's structure (n fields, offsets within
// data) so that damaged stored data is an error, not a panic later.
func RecordFromPacked(data string, n, line int) (Record, bool) {
	if len(data) < 3 || data[0] > 1 || int(data[1])|int(data[2])<<8 != n {
		return Record{}, false
	}
	w := offsetWidth(data)
	base := 3 + n*w
	if len(data) < base {
		return Record{}, false
	}
	prev := 0
	for k := 0; k < n; k++ {
		end := offsetEnd(data, w, k)
		if end < prev {
			return Record{}, false
		}
		prev = end
	}
	if base+prev != len(data) {
		return Record{}, false
	}
	return Record{data: data, Line: line}, true
}

// Len is the number of fields.
func (r *Record) Len() int {
	if r.data == "" {
		return 0
	}
	return int(r.data[1]) | int(r.data[2])<<8
}

// Get returns field i.
func (r *Record) Get(i int) string {
	d := r.data
	w := offsetWidth(d)
	base := 3 + (int(d[1])|int(d[2])<<8)*w
	start := 0
	if i > 0 {
		start = offsetEnd(d, w, i-1)
	}
	return d[base+start : base+offsetEnd(d, w, i)]
}

// The packed form: byte 0 the offset width (0: 2 bytes, 1: 4 bytes),
// bytes 1-2 the number of fields, then each field's end offset, little
// endian, then the fields' bytes.

func offsetWidth(d string) int {
	if d[0] == 1 {
		return 4
	}
	return 2
}

// offsetEnd is where field k ends, relative to the start of the bytes.
func offsetEnd(d string, w, k int) int {
	p := 3 + k*w
	if w == 2 {
		return int(d[p]) | int(d[p+1])<<8
	}
	return int(d[p]) | int(d[p+1])<<8 | int(d[p+2])<<16 | int(d[p+3])<<24
}

// Values returns a fresh slice of every field.
func (r *Record) Values() []string {
	return r.AppendValues(make([]string, 0, r.Len()))
}

// AppendValues appends every field to dst in one pass over the offsets:
// writing a table out, Get per field cost a quarter of the work.
func (r *Record) AppendValues(dst []string) []string {
	d := r.data
	if d == "" {
		return dst
	}
	n := int(d[1]) | int(d[2])<<8
	w := offsetWidth(d)
	base := 3 + n*w
	start := 0
	for k := 0; k < n; k++ {
		end := offsetEnd(d, w, k)
		dst = append(dst, d[base+start:base+end])
		start = end
	}
	return dst
}

// Set replaces field i; it repacks the record, which is fine for the few
// records patches touch.
func (r *Record) Set(i int, v string) {
	vals := r.Values()
	vals[i] = v
	r.data = pack(vals)
}

func pack(values []string) string {
	total := 0
	for _, v := range values {
		total += len(v)
	}
	w := 2
	if total > 0xFFFF {
		w = 4
	}
	var b strings.Builder
	b.Grow(3 + len(values)*w + total)
	if w == 2 {
		b.WriteByte(0)
	} else {
		b.WriteByte(1)
	}
	n := len(values)
	b.WriteByte(byte(n))
	b.WriteByte(byte(n >> 8))
	off := 0
	for _, v := range values {
		off += len(v)
		b.WriteByte(byte(off))
		b.WriteByte(byte(off >> 8))
		if w == 4 {
			b.WriteByte(byte(off >> 16))
			b.WriteByte(byte(off >> 24))
		}
	}
	for _, v := range values {
		b.WriteString(v)
	}
	return b.String()
}
