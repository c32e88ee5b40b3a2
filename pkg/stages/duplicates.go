package stages

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"bethel/pkg/csvio"
	"bethel/pkg/lineage"
	"bethel/pkg/schema"
	"bethel/pkg/stage"
)

// registrationsDuplicates is the registrations.duplicates stage: it reads
// the normalized registrations and lists possible duplicate pairs by
// record key and the rule that matched, never the names: an organizer
// decides, and drops a confirmed duplicate with a patch.
//
// Rules: name_birth_date (same first and last name, same birth date) and
// email_name (same email, same first and last name). Names compare
// case-insensitively, ignoring accents, spaces and punctuation.
//
// Inputs: a registrations CSV (the .csv input), config/fields.toml and
// config/privacy.toml. Params name the fields compared (defaults in
// brackets; a default field the event does not declare drops its rule):
//
//	names      = ["first_name", "last_name"]   # compared in both rules
//	birth_date = "date_of_birth"
//	email      = "email"
//
// Output:
// one .csv with columns registration_id_a,registration_id_b,rule; a pair
// is listed once (a < b), sorted, with every matching rule joined by ";".
type registrationsDuplicates struct{}

func init() { register(registrationsDuplicates{}) }

func (registrationsDuplicates) Name() string    { return "registrations.duplicates" }
func (registrationsDuplicates) Version() string { return "1" }

// dupFields are the fields the duplicate rules compare; "" drops a rule.
type dupFields struct {
	names            []string
	birthDate, email string
}

func dupFieldsOf(r *stage.Run, sch *schema.Schema) (*dupFields, error) {
	d := &dupFields{names: []string{"first_name", "last_name"}, birthDate: "date_of_birth", email: "email"}
	declared := func(key, f string, explicit bool) (string, error) {
		if sch.Field(f) != nil {
			return f, nil
		}
		if explicit {
			return "", fmt.Errorf("node %s: params.%s: no field %q is declared in %s%s", r.Node, key, f, sch.File, regDidYouMean(f, sch.Names()))
		}
		return "", nil
	}
	for k, v := range r.Params {
		var err error
		switch k {
		case "names":
			if d.names, err = paramStrings(v); err == nil && len(d.names) == 0 {
				err = fmt.Errorf("names one field at least")
			}
		case "birth_date", "email":
			s, ok := v.(string)
			if !ok {
				err = fmt.Errorf("must be a field name")
			} else if k == "email" {
				d.email = s
			} else {
				d.birthDate = s
			}
		default:
			return nil, fmt.Errorf("node %s: unknown param %q (want names, birth_date, email)", r.Node, k)
		}
		if err != nil {
			return nil, fmt.Errorf("node %s: params.%s %v", r.Node, k, err)
		}
	}
	_, explicitNames := r.Params["names"]
	for i, n := range d.names {
		f, err := declared("names", n, explicitNames)
		if err != nil {
			return nil, err
		}
		if f == "" {
			d.names = nil // a default name field missing: no name to compare
			break
		}
		d.names[i] = f
	}
	var err error
	_, explicit := r.Params["birth_date"]
	if d.birthDate, err = declared("birth_date", d.birthDate, explicit); err != nil {
		return nil, err
	}
	_, explicit = r.Params["email"]
	if d.email, err = declared("email", d.email, explicit); err != nil {
		return nil, err
	}
	return d, nil
}

// DuplicateColumns are the columns of duplicates.csv.
var DuplicateColumns = []string{"registration_id_a", "registration_id_b", "rule"}

// dupMaxGroup caps the pairs listed for one key: a hundred registrations
// sharing a name and birth date is a data problem, not a hundred
// duplicates, and n² pairs would swamp the report.
const dupMaxGroup = 20

func (registrationsDuplicates) Run(ctx context.Context, r *stage.Run) error {
	if len(r.Outputs) != 1 || !strings.HasSuffix(r.Outputs[0], ".csv") {
		return fmt.Errorf("node %s: registrations.duplicates writes exactly one .csv output", r.Node)
	}
	out := r.Outputs[0]
	if r.Visibility == stage.Public {
		return fmt.Errorf("node %s: registrations.duplicates lists registration ids, which are never public; make the node internal", r.Node)
	}
	priv, sch, err := privacyAndSchemaOf(r)
	if err != nil {
		return err
	}
	df, err := dupFieldsOf(r, sch)
	if err != nil {
		return err
	}
	// Columns read: the key, the names, then the birth date and the
	// email (the key again in place of a rule's missing field).
	identity := append([]string{}, df.names...)
	nNames := len(identity)
	for _, f := range []string{df.birthDate, df.email} {
		if f == "" {
			f = sch.PrimaryKey
		}
		identity = append(identity, f)
	}
	if err := priv.CheckPrivacy(r.Node, r.Visibility, "", out, []Derivation{
		{Column: "registration_id_a", From: []string{"registration_id"}},
		{Column: "registration_id_b", From: []string{"registration_id"}},
		// The rule names which fields agreed, never their values.
		{Column: "rule", From: identity, Aggregate: true},
	}); err != nil {
		return err
	}
	var in string
	for _, p := range r.Inputs {
		if strings.HasSuffix(p, ".csv") {
			if in != "" {
				return fmt.Errorf("node %s: two .csv inputs (%s and %s); registrations.duplicates reads one", r.Node, in, p)
			}
			in = p
		}
	}
	if in == "" {
		return fmt.Errorf("node %s: no registrations .csv among the inputs", r.Node)
	}
	sc, done, err := scanRegistrations(r, in, append([]string{sch.PrimaryKey}, identity...)...)
	if err != nil {
		return err
	}
	defer done()
	// A key's hash and row, and where the key itself is in keys (to tell a
	// match from a hash collision): no string per row.
	type keyed struct {
		h          uint64
		row        int32
		start, end uint32
	}
	n := max(sc.Len(), 0)
	ids := make([]string, 0, n)
	byDOB, byEmail := make([]keyed, 0, n), make([]keyed, 0, n)
	keys := make([]byte, 0, 48*n)
	var name []byte
	for row := int32(0); ; row++ {
		if row&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		fl, err := sc.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(keys) > math.MaxUint32-1<<20 {
			return fmt.Errorf("node %s: the names and dates to compare exceed 4 GiB", r.Node)
		}
		id := fl[0]
		if !sc.Stable() {
			id = strings.Clone(id)
		}
		ids = append(ids, id)
		name = name[:0]
		for k := 1; k <= nNames; k++ {
			if k > 1 {
				name = append(name, '|')
			}
			name = dupAppendName(name, fl[k])
		}
		hasName := nNames > 0 && len(name) > nNames-1
		if dob := strings.TrimSpace(fl[nNames+1]); hasName && df.birthDate != "" && dob != "" {
			k := keyed{row: row, start: uint32(len(keys))}
			keys = append(append(append(keys, name...), '|'), dob...)
			k.end = uint32(len(keys))
			k.h = dupHash(keys[k.start:k.end])
			byDOB = append(byDOB, k)
		}
		if e := strings.TrimSpace(fl[nNames+2]); hasName && df.email != "" && e != "" {
			k := keyed{row: row, start: uint32(len(keys))}
			keys = append(append(keys, name...), '|')
			for i := 0; i < len(e); i++ {
				c := e[i]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				keys = append(keys, c)
			}
			k.end = uint32(len(keys))
			k.h = dupHash(keys[k.start:k.end])
			byEmail = append(byEmail, k)
		}
	}
	type pair struct{ a, b int32 }
	rules := map[pair][]string{}
	capped := 0
	var scratch []keyed
	scan := func(ks []keyed, rule string) {
		// By hash, then row: rows were appended in order, and a radix
		// sort on the hash keeps that order among equal hashes (a
		// comparison sort of 100,000 keys cost about 15 ms each).
		if cap(scratch) < len(ks) {
			scratch = make([]keyed, len(ks))
		}
		src, dst := ks, scratch[:len(ks)]
		for shift := 0; shift < 64; shift += 16 {
			var count [1 << 16]int32
			for _, k := range src {
				count[k.h>>shift&0xffff]++
			}
			sum := int32(0)
			for i, c := range count {
				count[i] = sum
				sum += c
			}
			for _, k := range src {
				d := k.h >> shift & 0xffff
				dst[count[d]] = k
				count[d]++
			}
			src, dst = dst, src
		}
		// Four passes: the sorted keys are back in ks.
		for i := 0; i < len(ks); {
			j := i + 1
			for j < len(ks) && ks[j].h == ks[i].h {
				j++
			}
			group := ks[i:j]
			if len(group) > dupMaxGroup {
				capped++
				group = group[:dupMaxGroup]
			}
			for x := 0; x < len(group); x++ {
				for y := x + 1; y < len(group); y++ {
					a, b := group[x].row, group[y].row
					if !bytes.Equal(keys[group[x].start:group[x].end], keys[group[y].start:group[y].end]) {
						continue // a hash collision, not a match
					}
					if ids[b] < ids[a] {
						a, b = b, a
					}
					p := pair{a, b}
					rules[p] = append(rules[p], rule)
				}
			}
			i = j
		}
	}
	scan(byDOB, "name_birth_date")
	scan(byEmail, "email_name")

	pairs := make([]pair, 0, len(rules))
	for p := range rules {
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(x, y pair) int {
		if c := strings.Compare(ids[x.a], ids[y.a]); c != 0 {
			return c
		}
		return strings.Compare(ids[x.b], ids[y.b])
	})
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	var rec *lineage.Recorder
	if r.Lineage != nil {
		rec = r.Lineage(out)
	}
	cw := csvio.NewWriter(w)
	if err := cw.Write(DuplicateColumns); err != nil {
		return err
	}
	for _, p := range pairs {
		rs := rules[p]
		slices.Sort(rs)
		if err := cw.Write([]string{ids[p.a], ids[p.b], strings.Join(rs, ";")}); err != nil {
			return err
		}
		rec.AddRow(lineage.Row{Refs: []lineage.Ref{{Input: in, Row: int(p.a)}, {Input: in, Row: int(p.b)}}})
	}
	if err := cw.Flush(); err != nil {
		return err
	}
	if r.Warnf != nil {
		if len(pairs) > 0 {
			r.Warnf("%d possible duplicate pairs in %s; drop each confirmed duplicate with a patch", len(pairs), out)
		}
		if capped > 0 {
			r.Warnf("%d groups of more than %d registrations share a name and birth date or email; only their first %d are paired", capped, dupMaxGroup, dupMaxGroup)
		}
	}
	return nil
}

// dupAppendName appends the comparison form of a name: letters only,
// lower case, common accents dropped (Zoë = Zoe).
func dupAppendName(b []byte, s string) []byte {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b = append(b, byte(r))
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r+32))
		case r < 0x80 || !unicode.IsLetter(r):
		default:
			r = unicode.ToLower(r)
			if base, ok := dupFold[r]; ok {
				r = base
			}
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

var dupFold = func() map[rune]rune {
	m := map[rune]rune{}
	for base, accented := range map[rune]string{
		'a': "àáâãäåā", 'c': "çćč", 'e': "èéêëēė", 'i': "ìíîïī", 'n': "ñń", 'o': "òóôõöøō", 'u': "ùúûüū", 'y': "ýÿ", 's': "šś", 'z': "žź",
	} {
		for _, r := range accented {
			m[r] = base
		}
	}
	return m
}()

// dupHash is 64-bit FNV-1a.
func dupHash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
