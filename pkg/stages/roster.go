package stages

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/stage"
)

// roster writes out/private/roster.csv: the check-in roster, one row per
// active registration, grouped by bethel (by number), then by last name,
// first name and registration id, with an empty checked_in column to tick
// at the desk. It carries names, allergies and emergency contacts, which
// is why it exists (staff need them on site) and why it is private: the
// privacy check refuses it in an internal or public node.
//
// Inputs: the normalized registrations, config/bethels.csv,
// config/privacy.toml. No params.
type roster struct{}

func init() { register(roster{}) }

func (roster) Name() string    { return "roster" }
func (roster) Version() string { return "1" }

// RosterColumns is the header of roster.csv; every column but bethel_name
// and checked_in is a canonical field copied as is.
var RosterColumns = []string{
	"bethel", "bethel_name", "registration_id", "last_name", "first_name", "preferred_name",
	"member_type", "grand_bethel_office", "days_attending", "housing", "tshirt_size", "banquet_meal",
	"dietary_needs", "allergies", "emergency_contact_name", "emergency_contact_phone",
	"photo_consent", "payment_status", "checked_in",
}

func (roster) Run(ctx context.Context, r *stage.Run) error {
	out, err := output(r, ".csv")
	if err != nil {
		return err
	}
	priv, err := PrivacyOf(r)
	if err != nil {
		return err
	}
	var ds []Derivation
	for _, c := range RosterColumns {
		switch c {
		case "bethel_name":
			ds = append(ds, Derivation{Column: c, From: []string{"bethel"}})
		case "checked_in":
		default:
			ds = append(ds, Derivation{Column: c, From: []string{c}})
		}
	}
	if err := priv.CheckPrivacy(r.Node, r.Visibility, declassifyOf(r), out, ds); err != nil {
		return err
	}
	bethels, err := BethelsOf(r)
	if err != nil {
		return err
	}
	in, err := r.Input(RegistrationsFile)
	if err != nil {
		return err
	}
	src := RosterColumns[2 : len(RosterColumns)-1]
	sc, done, err := scanRegistrations(r, in, append([]string{"bethel"}, src...)...)
	if err != nil {
		return err
	}
	defer done()
	// Rows live in one byte arena (sort key, then encoded CSV line) with
	// pointer-free entries: a million-row roster costs its own size in
	// memory and nothing for the garbage collector to scan.
	type row struct {
		bethel    int32
		input     int32
		keyStart  uint32 // key is arena[keyStart:lineStart], line arena[lineStart:end]
		lineStart uint32
		end       uint32
	}
	// Pre-size from the input: the roster is about as large, and growing
	// a few hundred megabytes by doubling costs more than the rest.
	var rows []row
	var arena []byte
	if fi, err := fs.Stat(r.FS, in); err == nil && fi.Size() > 0 && fi.Size() < 1<<31 {
		arena = make([]byte, 0, fi.Size()+fi.Size()/4)
		rows = make([]row, 0, fi.Size()/150)
	}
	cells := make([]string, 0, len(RosterColumns))
	for n := 0; ; n++ {
		if n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		v, err := sc.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		status := v[len(v)-1]
		if status == "cancelled" || status == "refunded" {
			continue
		}
		b, _ := strconv.Atoi(v[0])
		name := ""
		if e := bethels.ByNumber[b]; e != nil {
			name = e.Name
		}
		cells = append(cells[:0], v[0], name)
		cells = append(cells, v[1:]...)
		cells = append(cells, "")
		// cells: 0 bethel, 1 name, 2 id, 3 last, 4 first.
		x := row{bethel: int32(b), input: int32(n), keyStart: uint32(len(arena))}
		arena = appendLower(arena, cells[3])
		arena = append(arena, 0)
		arena = appendLower(arena, cells[4])
		arena = append(arena, 0)
		arena = append(arena, cells[2]...)
		x.lineStart = uint32(len(arena))
		arena = csvio.AppendRow(arena, cells)
		x.end = uint32(len(arena))
		if len(arena) > math.MaxUint32 {
			return fmt.Errorf("node %s: the roster is larger than 4 GiB", r.Node)
		}
		rows = append(rows, x)
	}
	// Bethel numbers fit in 16 bits (all real ones do): then the bethel and
	// the key's first 6 bytes compare as one number, the next 8 as
	// another, and most comparisons of the sort end there. (Keys shorter
	// than the prefixes are padded with zeros, which orders them as the
	// keys themselves: a shorter key that ties is a prefix of the other.)
	packed := true
	for _, x := range rows {
		packed = packed && x.bethel >= 0 && x.bethel <= math.MaxUint16
	}
	// The sort moves small entries (the prefixes and a row number), not
	// the rows: half the bytes to move, which was most of its cost.
	type sortKey struct {
		prefix  uint64 // the key's first bytes, big-endian: most compares end here
		prefix2 uint64 // the next ones: names repeat, and compares of their bytes cost more
		i       uint32
	}
	keys := make([]sortKey, len(rows))
	for i := range rows {
		x := &rows[i]
		var pre [16]byte
		if packed {
			binary.BigEndian.PutUint16(pre[:], uint16(x.bethel))
			copy(pre[2:], arena[x.keyStart:x.lineStart])
		} else {
			copy(pre[:], arena[x.keyStart:x.lineStart])
		}
		keys[i] = sortKey{binary.BigEndian.Uint64(pre[:8]), binary.BigEndian.Uint64(pre[8:]), uint32(i)}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if !packed {
			if c := cmp.Compare(rows[a.i].bethel, rows[b.i].bethel); c != 0 {
				return c
			}
		}
		switch {
		case a.prefix != b.prefix:
			return cmp.Compare(a.prefix, b.prefix)
		case a.prefix2 != b.prefix2:
			return cmp.Compare(a.prefix2, b.prefix2)
		}
		ra, rb := &rows[a.i], &rows[b.i]
		return bytes.Compare(arena[ra.keyStart:ra.lineStart], arena[rb.keyStart:rb.lineStart])
	})
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	rec := lineageOf(r, out)
	rec.Grow(len(keys))
	cw := csvio.NewWriter(w)
	cw.Write(RosterColumns)
	if err := cw.Flush(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	for _, k := range keys {
		x := &rows[k.i]
		if _, err := bw.Write(arena[x.lineStart:x.end]); err != nil {
			return err
		}
		rec.AddRef(in, int(x.input))
	}
	return bw.Flush()
}

// appendLower appends the lower-case form of s (as strings.ToLower would
// give it) without an intermediate string for ASCII.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return append(b, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}
