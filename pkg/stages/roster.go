package stages

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/lineage"
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
	bfile, err := r.Input(BethelsFile)
	if err != nil {
		return err
	}
	bethels, err := LoadBethels(r.FS, bfile)
	if err != nil {
		return err
	}
	in, err := r.Input(RegistrationsFile)
	if err != nil {
		return err
	}
	f, err := r.FS.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, in)
	if err != nil {
		return err
	}
	src := RosterColumns[2 : len(RosterColumns)-1]
	idx, err := cr.Require(append([]string{"bethel"}, src...)...)
	if err != nil {
		return err
	}
	// Each row is kept as its encoded CSV line plus a sort key, not as 19
	// strings: a million-row roster then fits in a few hundred megabytes.
	type row struct {
		bethel int
		key    string // folded last name, first name, id
		line   string
		input  int
	}
	var rows []row
	var lb bytes.Buffer
	lw := csvio.NewWriterNoBOM(&lb)
	cells := make([]string, 0, len(RosterColumns))
	for n := 0; ; n++ {
		if n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		status := rec.Fields[idx[len(idx)-1]]
		if status == "cancelled" || status == "refunded" {
			continue
		}
		b, _ := strconv.Atoi(rec.Fields[idx[0]])
		name := ""
		if e := bethels.ByNumber[b]; e != nil {
			name = e.Name
		}
		cells = append(cells[:0], csvio.Unescape(rec.Fields[idx[0]]), name)
		for k := range src {
			cells = append(cells, csvio.Unescape(rec.Fields[idx[k+1]]))
		}
		cells = append(cells, "")
		lb.Reset()
		if err := lw.Write(cells); err != nil {
			return err
		}
		if err := lw.Flush(); err != nil {
			return err
		}
		// cells: 0 bethel, 1 name, 2 id, 3 last, 4 first.
		key := strings.ToLower(cells[3]) + "\x00" + strings.ToLower(cells[4]) + "\x00" + cells[2]
		rows = append(rows, row{bethel: b, key: key, line: lb.String(), input: n})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := &rows[i], &rows[j]
		if a.bethel != b.bethel {
			return a.bethel < b.bethel
		}
		return a.key < b.key
	})
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	rec := lineageOf(r, out)
	cw := csvio.NewWriter(w)
	cw.Write(RosterColumns)
	if err := cw.Flush(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	for _, x := range rows {
		if _, err := bw.WriteString(x.line); err != nil {
			return err
		}
		rec.AddRow(lineage.Row{Refs: []lineage.Ref{{Input: in, Row: x.input}}})
	}
	return bw.Flush()
}
