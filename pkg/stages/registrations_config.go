package stages

import (
	"bethel/pkg/stage"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/pos"
)

// RegistrationFields are the canonical fields of a registration, in the
// order of out/private/registrations.csv.
var RegistrationFields = []string{
	"registration_id", "submitted_at", "first_name", "last_name", "preferred_name", "email", "phone",
	"date_of_birth", "bethel", "member_type", "grand_bethel_office", "days_attending", "banquet_meal",
	"dietary_needs", "allergies", "tshirt_size", "housing", "emergency_contact_name",
	"emergency_contact_phone", "photo_consent", "amount_paid", "payment_status",
}

// Canonical values fixed by the product brief; config/values.toml maps
// messy values onto them (and may not invent others), so that every
// summary can rely on them.
var (
	// MemberTypes in summary column order.
	MemberTypes = []string{"daughter", "adult", "guest"}
	// TShirtSizes in canonical size order.
	TShirtSizes = []string{"YS", "YM", "YL", "XS", "S", "M", "L", "XL", "2XL", "3XL", "4XL"}
	// BanquetMeals in summary order.
	BanquetMeals = []string{"chicken", "vegetarian", "vegan", "child", "none"}
	// PaymentStatuses; InactiveStatuses count nowhere.
	PaymentStatuses  = []string{"paid", "pending", "cancelled", "refunded"}
	InactiveStatuses = []string{"cancelled", "refunded"}
	// PhotoConsents are the canonical photo_consent values.
	PhotoConsents = []string{"yes", "no"}
)

// ColumnsFile maps the platform's headers to canonical fields.
//
// Format (config/columns.toml):
//
//	[columns]
//	"Registration ID" = "registration_id"
//	"Submitted At"    = "submitted_at"
//	...
//
// Every canonical field must be mapped exactly once; a header in the export
// that is not mapped is ignored (platforms add columns), a mapped header
// missing from the export is an error naming it.
const ColumnsFile = "columns.toml"

// ValuesFile maps messy cell values to canonical ones.
//
// Format (config/values.toml): one table per mapped field, whose keys are
// the canonical values (in the order summaries list them) and whose values
// are the aliases that mean them; a string key `empty` says what an empty
// cell means (leave it out and an empty cell is an error):
//
//	[member_type]
//	daughter = ["JD", "Job's Daughter"]
//	adult    = ["Bethel Guardian", "BG", "ABG", "Majority Member", "Council"]
//	guest    = ["Parent", "Guest"]
//
//	[banquet_meal]
//	empty = "none"
//	chicken = ["Chicken", "Roast chicken"]
//
//	[days]
//	order = ["Friday", "Saturday", "Sunday"]   # the configured days
//	all   = ["All days", "Whole weekend"]     # phrases meaning every day
//	[days.aliases]
//	Friday = ["Fri", "Fr"]
//
//	[free_text]
//	none = ["None", "N/A", "-"]   # dietary_needs, allergies, grand_bethel_office: means empty
//
// Tables: member_type, tshirt_size, banquet_meal, payment_status,
// photo_consent, housing (canonical values of housing are whatever the
// file lists), days, free_text. Aliases compare case-insensitively, with
// runs of spaces collapsed, dots dropped and curly apostrophes straight;
// a canonical value is always its own alias.
const ValuesFile = "values.toml"

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
			if k := regFold(place); k != "" && !regContainsBethel(b.byPlace[k], e) {
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

func regContainsBethel(l []*Bethel, e *Bethel) bool {
	for _, x := range l {
		if x == e {
			return true
		}
	}
	return false
}

// regConfig is everything registrations.normalize reads from config/.
type regConfig struct {
	// header maps canonical field index -> export header.
	header  []string
	maps    map[string]*regValueMap // by canonical field
	days    []string
	dayIdx  map[string]int // folded day name or alias -> index in days
	allDays map[string]bool
	none    map[string]bool
	noneMax int // the longest "none" word, to skip folding longer text
	bethels *Bethels
}

// regValueMap is one table of values.toml.
type regValueMap struct {
	field    string
	order    []string          // canonical values in file order
	alias    map[string]string // folded alias -> canonical
	empty    string
	hasEmpty bool
}

// regLoadColumns reads columns.toml.
func regLoadColumns(fsys fs.FS, file string) ([]string, error) {
	var doc map[string]any
	data, _, err := cfgDecode(fsys, file, &doc)
	if err != nil {
		return nil, err
	}
	var errs pos.List
	for _, k := range cfgSortedKeys(doc) {
		if k != "columns" {
			errs = append(errs, pos.Errorf(pos.Pos{File: file, Line: cfgKeyLine(data, k)}, "unknown key %q (want [columns])", k))
		}
	}
	cols, ok := doc["columns"].(map[string]any)
	if !ok {
		return nil, append(errs, pos.Errorf(pos.Pos{File: file, Line: 1}, "missing [columns] table: export header = canonical field"))
	}
	fieldIdx := map[string]int{}
	for i, f := range RegistrationFields {
		fieldIdx[f] = i
	}
	header := make([]string, len(RegistrationFields))
	for _, h := range cfgSortedKeys(cols) {
		at := pos.Pos{File: file, Line: cfgKeyLine(data, h)}
		f, ok := cols[h].(string)
		if !ok {
			errs = append(errs, pos.Errorf(at, "column %q must map to a canonical field name (a string)", h))
			continue
		}
		i, ok := fieldIdx[f]
		if !ok {
			errs = append(errs, pos.Errorf(at, "column %q maps to %q, which is not a canonical field%s", h, f, regDidYouMean(f, RegistrationFields)))
			continue
		}
		if header[i] != "" {
			errs = append(errs, pos.Errorf(at, "canonical field %q is mapped twice (from %q and %q)", f, header[i], h))
			continue
		}
		header[i] = strings.TrimSpace(h)
	}
	for i, h := range header {
		if h == "" && len(errs) == 0 {
			errs = append(errs, pos.Errorf(pos.Pos{File: file, Line: cfgKeyLine(data, "columns")}, "canonical field %q has no column; map the export's header to it", RegistrationFields[i]))
		}
	}
	return header, errs.Err()
}

// regFixedValues are the mapped fields whose canonical values the brief fixes.
var regFixedValues = map[string][]string{
	"member_type":    MemberTypes,
	"tshirt_size":    TShirtSizes,
	"banquet_meal":   BanquetMeals,
	"payment_status": PaymentStatuses,
	"photo_consent":  PhotoConsents,
	"housing":        nil, // any canonical values the file lists
}

// regLoadValues reads values.toml.
func regLoadValues(fsys fs.FS, file string, c *regConfig) error {
	var doc map[string]any
	data, md, err := cfgDecode(fsys, file, &doc)
	if err != nil {
		return err
	}
	// Key order in the file gives the canonical order of housing values.
	order := map[string][]string{}
	for _, k := range md.Keys() {
		if len(k) == 2 {
			order[k[0]] = append(order[k[0]], k[1])
		}
	}
	var errs pos.List
	at := func(k string) pos.Pos { return pos.Pos{File: file, Line: cfgKeyLine(data, k)} }
	c.maps = map[string]*regValueMap{}
	for _, sec := range cfgSortedKeys(doc) {
		tab, ok := doc[sec].(map[string]any)
		if !ok {
			errs = append(errs, pos.Errorf(at(sec), "%s must be a table", sec))
			continue
		}
		switch sec {
		case "days":
			errs = append(errs, c.loadDays(file, data, tab)...)
			continue
		case "free_text":
			c.none = map[string]bool{}
			for _, k := range cfgSortedKeys(tab) {
				if k != "none" {
					errs = append(errs, pos.Errorf(at(k), "unknown key %q in [free_text] (want none)", k))
					continue
				}
				l, err := regStringList(tab[k])
				if err != nil {
					errs = append(errs, pos.Errorf(at(k), "free_text.none %v", err))
				}
				for _, s := range l {
					c.none[regFold(s)] = true
					c.noneMax = max(c.noneMax, len(s)+8)
				}
			}
			continue
		}
		fixed, known := regFixedValues[sec]
		if !known {
			errs = append(errs, pos.Errorf(at(sec), "unknown table [%s] (want member_type, tshirt_size, banquet_meal, payment_status, photo_consent, housing, days, free_text)", sec))
			continue
		}
		m := &regValueMap{field: sec, alias: map[string]string{}}
		for _, canon := range order[sec] {
			v := tab[canon]
			if canon == "empty" {
				s, ok := v.(string)
				if !ok {
					errs = append(errs, pos.Errorf(at(canon), "%s.empty must be the canonical value of an empty cell (a string)", sec))
					continue
				}
				m.empty, m.hasEmpty = s, true
				continue
			}
			if fixed != nil && !regContains(fixed, canon) {
				errs = append(errs, pos.Errorf(at(canon), "%q is not a canonical %s (want one of %s)", canon, sec, strings.Join(fixed, ", ")))
				continue
			}
			aliases, err := regStringList(v)
			if err != nil {
				errs = append(errs, pos.Errorf(at(canon), "%s.%s %v", sec, canon, err))
				continue
			}
			m.order = append(m.order, canon)
			for _, a := range append([]string{canon}, aliases...) {
				k := regFold(a)
				if prev, dup := m.alias[k]; dup && prev != canon {
					errs = append(errs, pos.Errorf(at(canon), "alias %q of %s means both %q and %q", a, sec, prev, canon))
					continue
				}
				m.alias[k] = canon
			}
		}
		if m.hasEmpty && m.empty != "" && !regContains(m.order, m.empty) {
			errs = append(errs, pos.Errorf(at("empty"), "%s.empty = %q is not one of its canonical values", sec, m.empty))
		}
		if fixed != nil {
			// A canonical value is always its own alias, even unlisted.
			for _, v := range fixed {
				if _, ok := m.alias[regFold(v)]; !ok {
					m.alias[regFold(v)] = v
				}
			}
			m.order = fixed
		}
		c.maps[sec] = m
	}
	for _, sec := range []string{"member_type", "tshirt_size", "banquet_meal", "payment_status", "photo_consent", "housing", "days"} {
		if _, ok := doc[sec]; !ok {
			errs = append(errs, pos.Errorf(pos.Pos{File: file, Line: 1}, "missing table [%s]", sec))
		}
	}
	if c.none == nil {
		c.none = map[string]bool{}
	}
	return errs.Err()
}

func (c *regConfig) loadDays(file string, data []byte, tab map[string]any) pos.List {
	var errs pos.List
	at := func(k string) pos.Pos { return pos.Pos{File: file, Line: cfgKeyLine(data, k)} }
	c.dayIdx = map[string]int{}
	c.allDays = map[string]bool{}
	for _, k := range cfgSortedKeys(tab) {
		switch k {
		case "order", "all":
		case "aliases":
		default:
			errs = append(errs, pos.Errorf(at(k), "unknown key %q in [days] (want order, all, aliases)", k))
		}
	}
	days, err := regStringList(tab["order"])
	if err != nil || len(days) == 0 {
		return append(errs, pos.Errorf(at("days"), "days.order must list the event's days in order"))
	}
	c.days = days
	for i, d := range days {
		if strings.ContainsAny(d, ";,/") || strings.TrimSpace(d) != d || d == "" {
			errs = append(errs, pos.Errorf(at("order"), "day %q: a day name holds no ; , / and no surrounding space", d))
		}
		c.dayIdx[regFold(d)] = i
	}
	if v, ok := tab["all"]; ok {
		all, err := regStringList(v)
		if err != nil {
			errs = append(errs, pos.Errorf(at("all"), "days.all %v", err))
		}
		for _, a := range all {
			c.allDays[regFold(a)] = true
		}
	}
	if v, ok := tab["aliases"]; ok {
		al, ok := v.(map[string]any)
		if !ok {
			return append(errs, pos.Errorf(at("aliases"), "days.aliases must be a table: day = [aliases]"))
		}
		for _, d := range cfgSortedKeys(al) {
			i, ok := c.dayIdx[regFold(d)]
			if !ok {
				errs = append(errs, pos.Errorf(at(d), "days.aliases.%s: %q is not in days.order", d, d))
				continue
			}
			l, err := regStringList(al[d])
			if err != nil {
				errs = append(errs, pos.Errorf(at(d), "days.aliases.%s %v", d, err))
			}
			for _, a := range l {
				c.dayIdx[regFold(a)] = i
			}
		}
	}
	return errs
}

func regStringList(v any) ([]string, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("must be an array of strings")
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("must be an array of strings")
		}
		out = append(out, s)
	}
	return out, nil
}

func regContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// fold is the comparison form of an alias: lower case, curly apostrophes
// straight, dots dropped, runs of space collapsed, trimmed.
func regFold(s string) string {
	s = strings.TrimSpace(s)
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c == '.' || (c >= 'A' && c <= 'Z') || (c == ' ' && i > 0 && s[i-1] == ' ') || c == '\t' {
			simple = false
			break
		}
	}
	if simple {
		return s
	}
	s = strings.ToLower(s)
	s = regFoldReplacer.Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

var regFoldReplacer = strings.NewReplacer("\u2019", "'", "\u2018", "'", ".", "")

// didYouMean suggests the closest of names to s.
func regDidYouMean(s string, names []string) string {
	best, bestD := "", 4
	for _, n := range names {
		if d := pos.Distance(strings.ToLower(s), n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
