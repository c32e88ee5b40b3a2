package stages

import (
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/lazyre"
	"bethel/pkg/pos"
	"bethel/pkg/schema"
	"bethel/pkg/stage"
)

// BethelsFile is the bethel directory: config/bethels.csv with columns
// number,name,city,district.
const BethelsFile = "bethels.csv"

// Bethel is one row of the bethel directory.
type Bethel struct {
	Number   int
	Name     string
	City     string
	District string
	Line     int
}

// Bethels is the loaded bethel directory.
type Bethels struct {
	File     string
	ByNumber map[int]*Bethel
	// Sorted by number.
	List []*Bethel
	// byPlace maps a folded city or name to the bethels there.
	byPlace map[string][]*Bethel
}

// BethelsOf loads the bethel directory among a stage's inputs.
func BethelsOf(r *stage.Run) (*Bethels, error) {
	f, err := r.Input(BethelsFile)
	if err != nil {
		return nil, err
	}
	return LoadBethels(r.FS, f)
}

// LoadBethels reads the bethel directory. Numbers must be positive
// integers without duplicates.
func LoadBethels(fsys fs.FS, file string) (*Bethels, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := csvio.NewReader(f, file)
	if err != nil {
		return nil, err
	}
	idx, err := r.Require("number", "name", "city", "district")
	if err != nil {
		return nil, err
	}
	b := &Bethels{File: file, ByNumber: map[int]*Bethel{}, byPlace: map[string][]*Bethel{}}
	var errs pos.List
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		at := pos.Pos{File: file, Line: rec.Line}
		raw := strings.TrimSpace(rec.Fields[idx[0]])
		n, err := strconv.Atoi(strings.TrimLeft(raw, "0"))
		if err != nil || n <= 0 {
			errs = append(errs, pos.Errorf(at, "number %q is not a positive integer", raw))
			continue
		}
		if prev, dup := b.ByNumber[n]; dup {
			errs = append(errs, pos.Errorf(at, "bethel %d is listed twice (first at line %d)", n, prev.Line))
			continue
		}
		e := &Bethel{Number: n, Name: strings.TrimSpace(rec.Fields[idx[1]]), City: strings.TrimSpace(rec.Fields[idx[2]]),
			District: strings.TrimSpace(rec.Fields[idx[3]]), Line: rec.Line}
		b.ByNumber[n] = e
		b.List = append(b.List, e)
		for _, place := range []string{e.City, e.Name} {
			if k := schema.Fold(place); k != "" && !regContainsBethel(b.byPlace[k], e) {
				b.byPlace[k] = append(b.byPlace[k], e)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	sort.Slice(b.List, func(i, j int) bool { return b.List[i].Number < b.List[j].Number })
	return b, nil
}

// byNumber returns the bethel numbered n, or nil (also for a nil
// directory).
func (b *Bethels) byNumber(n int) *Bethel {
	if b == nil {
		return nil
	}
	return b.ByNumber[n]
}

func regContainsBethel(l []*Bethel, e *Bethel) bool {
	for _, x := range l {
		if x == e {
			return true
		}
	}
	return false
}

// SchemaOf loads the workspace's field declaration for a stage. Its
// reference fields are not bound: a stage that maps raw values binds the
// directories it lists (bindReferences).
func SchemaOf(r *stage.Run) (*schema.Schema, error) {
	file, err := fieldsFileOf(r)
	if err != nil {
		return nil, err
	}
	return schema.Load(r.FS, file)
}

// fieldsFileOf is the field declaration the engine names
// (stage.Run.Fields).
func fieldsFileOf(r *stage.Run) (string, error) { return fieldsFile(r) }

// bindReferences loads the directory of every reference field, which must
// be among inputs (every byte a stage reads is declared), and binds it.
// The field bound to the bethel role reads the bethel directory, with its
// spellings (Bethel #12, a city); any other reads its key column.
func bindReferences(fsys fs.FS, s *schema.Schema, inputs []string) error {
	var errs pos.List
	for _, f := range s.Fields {
		if f.Reference == nil {
			continue
		}
		res := f.Reference.Resource
		if !slices.Contains(inputs, res) {
			errs = append(errs, pos.Errorf(pos.Pos{File: s.File, Line: f.Line}, "field %s: its directory %s is not among the node's inputs; add it there", f.Name, res))
			continue
		}
		if f.Name == s.Roles.Bethel {
			b, err := LoadBethels(fsys, res)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f.Bind(b)
			continue
		}
		d, err := loadDirectory(fsys, res, f.Reference.Field)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.Bind(d)
	}
	return errs.Err()
}

// directory is a reference field's directory file: the values of its key
// column.
type directory struct {
	file, column string
	keys         []string
	byFold       map[string]string
}

func loadDirectory(fsys fs.FS, file, column string) (*directory, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := csvio.NewReader(f, file)
	if err != nil {
		return nil, err
	}
	idx, err := r.Require(column)
	if err != nil {
		return nil, err
	}
	d := &directory{file: file, column: column, byFold: map[string]string{}}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		k := strings.TrimSpace(rec.Fields[idx[0]])
		if _, dup := d.byFold[schema.Fold(k)]; dup || k == "" {
			return nil, pos.Errorf(pos.Pos{File: file, Line: rec.Line}, "%s %q is blank or listed twice", column, k)
		}
		d.byFold[schema.Fold(k)] = k
		d.keys = append(d.keys, k)
	}
	return d, nil
}

// Resolve maps a cell to the directory key it names (compared folded).
func (d *directory) Resolve(raw string) (string, error) {
	if k, ok := d.byFold[schema.Fold(raw)]; ok {
		return k, nil
	}
	return "", &schema.ValueError{What: "unknown value", Want: "a " + d.column + " listed in " + d.file}
}

// Check reports whether v is a key of the directory.
func (d *directory) Check(v string) error {
	if _, ok := d.byFold[schema.Fold(v)]; ok && d.byFold[schema.Fold(v)] == v {
		return nil
	}
	return &schema.ValueError{What: "unknown value", Want: "a " + d.column + " listed in " + d.file}
}

// regConfig is what the registrations stages read from config/: the field
// declaration with its directories bound.
type regConfig struct {
	schema *schema.Schema
	// header names, per field, the export column it was read from (the
	// field's first declared header when the export has none), for
	// messages.
	header []string
	cols   *schema.Columns
}

// regBethelRE parses the numbered forms of a bethel cell: 12, 012, #12,
// Bethel 12, Bethel #12, Bethel No. 12, Bethel 12 - Springfield,
// Bethel #12 (Springfield). Group 1 is the number, group 2 the place.
var regBethelRE = lazyre.New(`(?i)^(?:bethel\s*)?(?:(?:no\.?|nr\.?|num\.?|number)\s*|#\s*)?0*([0-9]{1,6})(?:\s*[-\x{2013}\x{2014},:/(]\s*|\s+)?(.*?)\)?$`)

var regBethelWordRE = lazyre.New(`(?i)^bethel\s+(?:of\s+)?`)

// BethelPlaces are the keys a bethel cell without a number is looked up
// by, as a city or a name of config/bethels.csv: the cell folded without
// a leading "Bethel" (of), then the whole cell folded. bethel init uses
// them to tell which places its guessed directory resolves.
func BethelPlaces(s string) (place, whole string) {
	s = strings.TrimSpace(s)
	return schema.Fold(regBethelWordRE().ReplaceAllString(s, "")), schema.Fold(s)
}

// Resolve maps a bethel cell to its number, checked against the
// directory. A place after the number must be that bethel's city or name;
// a cell with only a place is looked up by city or name.
func (b *Bethels) Resolve(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if m := regBethelRE().FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n == 0 {
			return "", &schema.ValueError{What: "unknown bethel", Hint: "0 is not a bethel number"}
		}
		e, ok := b.ByNumber[n]
		if !ok {
			return "", &schema.ValueError{What: "unknown bethel", Hint: fmt.Sprintf("bethel %d is not in %s", n, b.File)}
		}
		if place := schema.Fold(m[2]); place != "" && place != schema.Fold(e.City) && place != schema.Fold(e.Name) {
			return "", &schema.ValueError{What: "contradictory bethel", Hint: fmt.Sprintf("bethel %d is %s, per %s", n, describeBethel(e), b.File)}
		}
		return strconv.Itoa(n), nil
	}
	place, whole := BethelPlaces(s)
	found := b.byPlace[place]
	if len(found) == 0 {
		found = b.byPlace[whole]
	}
	switch len(found) {
	case 1:
		return strconv.Itoa(found[0].Number), nil
	case 0:
		return "", &schema.ValueError{What: "unknown bethel", Hint: "neither a bethel number nor a city or name in " + b.File}
	}
	nums := make([]string, len(found))
	for i, e := range found {
		nums[i] = strconv.Itoa(e.Number)
	}
	return "", &schema.ValueError{What: "ambiguous bethel", Hint: fmt.Sprintf("%s has bethels %s; give the number", strings.TrimSpace(s), strings.Join(nums, ", "))}
}

// describeBethel says what the directory knows of a bethel's name and
// city, for a message: "Rosewood in Deer Junction", "in Deer Junction (no
// name listed)".
func describeBethel(e *Bethel) string {
	switch {
	case e.Name != "" && e.City != "":
		return e.Name + " in " + e.City
	case e.City != "":
		return "in " + e.City + " (no name listed)"
	case e.Name != "":
		return e.Name + " (no city listed)"
	}
	return "listed without a name or city"
}

// Check reports whether v is a canonical bethel: a number of the
// directory without leading zeros.
func (b *Bethels) Check(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || strconv.Itoa(n) != v {
		return &schema.ValueError{What: "not a canonical bethel", Want: "a number without leading zeros, as in " + b.File}
	}
	if _, ok := b.ByNumber[n]; !ok {
		return &schema.ValueError{What: "unknown bethel", Hint: fmt.Sprintf("bethel %d is not in %s", n, b.File)}
	}
	return nil
}

var _ schema.Resolver = (*Bethels)(nil)
var _ schema.Resolver = (*directory)(nil)

// regDidYouMean suggests the closest of names to s, as " (did you mean
// ...?)", or "".
func regDidYouMean(s string, names []string) string {
	if c := schema.Closest(s, names); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}
