package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"bethel/pkg/csvio"
	"bethel/pkg/lazyre"
	"bethel/pkg/schema"
	"bethel/pkg/stage"
	"bethel/pkg/stages"
)

// exportGuess is what `bethel init --from-export` makes of an export: a
// field declaration per column, guessed from its header and values, and
// the roles the built-in stages need. Nothing of a column guessed
// personal is kept but its header: its values are never written to the
// declaration or printed.
type exportGuess struct {
	fields []*guessedField
	// key is the record key field; bethel, memberType, status and days the
	// fields bound to those roles ("" when none looks like one).
	key, bethel, memberType, status, days string
	// groups maps member type categories to daughter, adult or guest.
	groups map[string]string
	// inactive are the status categories that look like cancellations.
	inactive []string
	// bethels are the bethel numbers found, for the directory, cities
	// the city a value names with its number ("Bethel 12 - Springfield")
	// and names the name ("Bethel #12 (Rosewood)").
	bethels []int
	cities  map[int]string
	names   map[int]string
	// order is how the export writes dates: month or day first.
	order schema.DateOrder
	// unnumbered counts bethel values that hold no number; unknown are
	// those of them that name no city or name found beside a number, and
	// unknownPlaces their distinct places.
	unnumbered    int
	unknown       int
	unknownPlaces []string
	rows          int
	// ignored are the headers of columns repeating an earlier header.
	ignored []string
}

// guessedField is one column's declaration.
type guessedField struct {
	name, header string
	col          int // the column's index in the export
	typ, format  string
	categories   []string
	aliases      map[string][]string
	all          []string
	sensitive    bool
	countable    bool
	required     bool
	// why says in words what was guessed, for the report and the comment.
	why string
	// check says what the organizer should check, or "".
	check string
}

// Limits of a vocabulary proposed from the values: a column with more
// distinct values, or longer ones, is free text.
const (
	guessMaxCategories = 40
	guessMaxCategory   = 40
)

// personalWords, found in a header (folded), mark its column personal:
// names, contacts, birth dates, health and free-text notes about a person.
var personalWords = []string{"name", "first", "last", "surname", "given", "nick", "email", "e-mail", "mail", "phone", "mobile", "cell", "birth", "dob",
	"address", "street", "zip", "postal", "postcode", "contact", "emergency", "guardian", "parent", "allerg",
	"diet", "medic", "health", "note", "comment", "school", "gender", "insurance", "doctor", "physician", "signature", "age", "tel",
	"whatsapp", "sms", "pronoun", "shoe", "weight", "height",
	// Open questions, whose answers are free text about a person however
	// few distinct answers a small export shows.
	"anything", "else", "tell", "know", "question", "remark", "additional", "message", "request", "accommodat", "special",
	"explain", "describe", "concern", "condition", "disabilit", "medication", "limitation"}

// healthWords, found in a column's values, mark it personal whatever its
// header: a question that collects health answers.
var healthWords = []string{"allerg", "peanut", "asthma", "epipen", "epi-pen", "inhaler", "diabet", "seizure", "epilep", "medication",
	"adhd", "autis", "pregnan", "anxiety", "depress", "disorder", "wheelchair"}

// personWords name the person a row is about ("Participant", "Child"): a
// column so headed holds names unless the header says it holds a kind
// of thing (subjectKindWords: "Participant Type").
var personWords = []string{"participant", "child", "kid", "camper", "student", "attendee", "youth", "person", "registrant", "who",
	"advisor", "adviser", "chaperone", "sponsor", "mentor", "counselor", "counsellor", "coach", "roommate", "friend", "sibling"}

var subjectKindWords = []string{"type", "role", "group", "category", "kind", "status", "class", "level", "count", "number", "#",
	"size", "meal", "shirt", "day", "fee", "amount", "price"}

// wholeWords are personal words that count only as words of their own:
// "age" is not in "message", "tel" not in "hotel", "who" not in "whole".
var wholeWords = []string{"age", "tel", "sms", "who"}

// personal reports whether a header (folded) names something personal.
func personal(folded string) bool {
	return hasWord(folded, personalWords) || hasWord(folded, personWords) && !hasWord(folded, subjectKindWords)
}

// countableWords mark personal columns whose categories the scaffold
// counts by keywords (dietary needs and allergies).
var countableWords = []string{"allerg", "diet"}

var (
	emailRE   = lazyre.New(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	phoneRE   = lazyre.New(`^[+(]?[0-9][0-9 ().+\-/]{6,}[0-9]$`)
	integerRE = lazyre.New(`^[0-9]+$`)
	numberRE  = lazyre.New(`[0-9]+`)
	// A place after a bethel's number: after a dash ("Bethel 12 -
	// Springfield") platforms write the city, in parentheses ("Bethel
	// #12 (Rosewood)") the bethel's name. Either way the build accepts
	// both against config/bethels.csv; the guess only fills the columns.
	cityRE     = lazyre.New(`^[^0-9]*[0-9]+\s*[-\x{2013}\x{2014}:/]\s*([^0-9,"()]+)$`)
	bethNameRE = lazyre.New(`^[^0-9]*[0-9]+\s*\(([^0-9,"()]+)\)$`)
	nameRE     = lazyre.New(`[^a-z0-9]+`)
	dayNames   = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
)

// fieldName turns a header into a canonical field name: lower case words
// joined by _ ("T-Shirt Size" -> t_shirt_size).
func fieldName(header string, taken map[string]bool) string {
	n := strings.Trim(nameRE().ReplaceAllString(strings.ToLower(header), "_"), "_")
	if n == "" || n[0] < 'a' || n[0] > 'z' {
		n = "field_" + n
	}
	n = strings.TrimRight(n, "_")
	base := n
	for i := 2; taken[n]; i++ {
		n = base + "_" + strconv.Itoa(i)
	}
	taken[n] = true
	return n
}

func hasWord(folded string, words []string) bool {
	for _, w := range words {
		if slices.Contains(wholeWords, w) {
			if slices.Contains(strings.Fields(nameRE().ReplaceAllString(folded, " ")), w) {
				return true
			}
			continue
		}
		if strings.Contains(folded, w) {
			return true
		}
	}
	return false
}

// guessExport guesses the declaration of every column of an export.
func guessExport(header []string, rows [][]string) *exportGuess {
	g := &exportGuess{groups: map[string]string{}, rows: len(rows), cities: map[int]string{}, names: map[int]string{}}
	taken := map[string]bool{}
	bethelFree := true
	headers := map[string]bool{}
	type column struct {
		c    int
		h    string
		vals []string
	}
	var cols []column
	for c, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			// A column without a header (a separator at the end of
			// every line) cannot be declared; the build ignores it.
			continue
		}
		// A header repeated (in other case or spacing) names the column
		// of its first occurrence; the later ones are not declared and the
		// build ignores them as extra columns.
		if k := schema.Fold(h); headers[k] {
			g.ignored = append(g.ignored, h)
			continue
		} else {
			headers[k] = true
		}
		var vals []string
		for _, r := range rows {
			if c < len(r) {
				if v := schema.Clean(r[c]); v != "" {
					vals = append(vals, v)
				}
			}
		}
		cols = append(cols, column{c, h, vals})
	}
	// The day and month order is the workspace's: day first when some
	// column of dates reads only that way (25/12/2010) and none only
	// month first.
	g.order = schema.MDY
	dmy, mdy := false, false
	for _, col := range cols {
		okM, okD := datesIn(col.vals, schema.MDY), datesIn(col.vals, schema.DMY)
		dmy = dmy || okD && !okM
		mdy = mdy || okM && !okD
	}
	if dmy && !mdy {
		g.order = schema.DMY
	}
	for _, col := range cols {
		f := &guessedField{name: fieldName(col.h, taken), header: col.h, col: col.c, typ: schema.String}
		guessColumn(f, strings.ToLower(col.h), col.vals, len(rows), bethelFree, g.order)
		bethelFree = bethelFree && f.why != "the bethel"
		g.fields = append(g.fields, f)
	}
	g.roles(rows)
	return g
}

// datesIn reports whether vals are all dates, or all dates with times,
// read in order.
func datesIn(vals []string, order schema.DateOrder) bool {
	if len(vals) == 0 {
		return false
	}
	dates, times := true, true
	for _, v := range vals {
		if dates {
			_, err := schema.ParseDate(v, order)
			dates = err == nil
		}
		if times {
			_, err := schema.ParseDateTime(v, order)
			times = err == nil
		}
		if !dates && !times {
			return false
		}
	}
	return true
}

// guessColumn guesses one column's type and sensitivity. bethelFree says
// no earlier column was taken for the bethel: only the first column that
// looks like it is ("Bethel" before "Bethel City"). dates is how dates
// read.
func guessColumn(f *guessedField, folded string, vals []string, nrows int, bethelFree bool, dates schema.DateOrder) {
	distinct := map[string]int{}
	var order []string
	for _, v := range vals {
		if distinct[v] == 0 {
			order = append(order, v)
		}
		distinct[v]++
	}
	all := func(ok func(string) bool) bool {
		if len(vals) == 0 {
			return false
		}
		for _, v := range vals {
			if !ok(v) {
				return false
			}
		}
		return true
	}
	f.required = len(vals) == nrows && nrows > 0
	switch {
	case len(vals) == 0:
		f.why = "empty in the export"
		f.check = "no values to guess from: set its type"
	case all(func(v string) bool { return emailRE().MatchString(v) }):
		f.format, f.sensitive, f.why = schema.Email, true, "email addresses"
	case bethelFree && isBethelHeader(folded) && !personal(folded):
		f.why = "the bethel"
	case hasWord(folded, []string{"phone", "mobile", "cell", "tel", "whatsapp", "sms"}):
		f.format, f.sensitive, f.why = schema.Phone, true, "phone numbers"
	case all(func(v string) bool { _, err := schema.ParseDateTime(v, dates); return err == nil }) &&
		slices.ContainsFunc(vals, func(v string) bool { return strings.Contains(v, ":") }):
		f.typ, f.why = schema.DateTime, "dates with times"
	case all(func(v string) bool { _, err := schema.ParseDate(v, dates); return err == nil }):
		f.typ, f.why = schema.Date, "dates (month first; set dateOrder if the platform writes day first)"
		if dates == schema.DMY {
			f.why = "dates (day first, as some dates show: dateOrder = \"DMY\")"
		}
		if !hasWord(folded, []string{"submit", "created", "updated", "registered", "paid", "timestamp"}) {
			f.sensitive, f.why = true, "dates, possibly of birth"
		}
	case all(func(v string) bool { return phoneRE().MatchString(v) && len(numberRE().FindAllString(v, -1)) > 1 }):
		f.format, f.sensitive, f.why = schema.Phone, true, "phone numbers"
	case personal(folded):
		f.sensitive, f.why = true, "personal by its header"
		if hasWord(folded, countableWords) {
			f.countable = true
			f.why = "personal (health) by its header; counted only into keyword categories"
		}
	case len(distinct) == len(vals) && len(vals) == nrows && all(func(v string) bool { return !strings.ContainsAny(v, " \t") && len(v) <= 24 }) &&
		(nrows >= 20 || hasWord(folded, []string{"id", "number", "code", "#"})):
		f.why = "unique codes: a record key"
	case all(func(v string) bool { return integerRE().MatchString(v) }) && !strings.Contains(folded, "bethel"):
		f.typ, f.why = schema.Integer, "whole numbers"
	case all(func(v string) bool { _, ok := schema.ParseMoney(v); return ok }) && hasWord(folded, []string{"amount", "paid", "fee", "price", "cost", "total", "balance", "deposit", "payment", "due", "owed", "refund", "donation"}):
		f.typ, f.format, f.why = schema.Number, schema.Money, "amounts of money"
	case slices.ContainsFunc(vals, func(v string) bool { return hasWord(strings.ToLower(v), healthWords) }):
		f.sensitive, f.why = true, "personal (health) by its values"
		f.check = "its answers mention health: kept private; if it is not personal, remove sensitive = true"
	default:
		cats := foldedCategories(vals)
		long := false
		for _, v := range cats {
			long = long || len(v) > guessMaxCategory
		}
		parts, isList := listParts(cats)
		switch {
		case isList:
			f.typ, f.categories = schema.List, parts
			f.why = fmt.Sprintf("a set of %d choices", len(parts))
			f.check = "check the choices and their order; list other spellings under [fields.aliases]"
		case len(cats) <= guessMaxCategories && !long && 2*len(cats) <= len(vals):
			f.categories = cats
			f.why = fmt.Sprintf("%d distinct values", len(cats))
			f.check = "the vocabulary is the values as written (the commonest spelling of each): merge spellings with [fields.aliases], order the categories as summaries should list them"
		default:
			// Free text nobody declared: treated as personal until an
			// organizer says otherwise.
			f.sensitive, f.why = true, "free text"
			f.check = "free text is kept private; if it is not personal, remove sensitive = true"
		}
	}
}

// foldedCategories are the distinct values, spellings that differ only in
// case, spacing or dots counted as one (the commonest spelling, first
// seen on a tie), in order of first appearance.
func foldedCategories(vals []string) []string {
	type cat struct {
		first    int
		spelling map[string]int
		best     string
	}
	byFold := map[string]*cat{}
	var order []string
	for _, v := range vals {
		k := schema.Fold(v)
		c := byFold[k]
		if c == nil {
			c = &cat{first: len(order), spelling: map[string]int{}, best: v}
			byFold[k] = c
			order = append(order, k)
		}
		c.spelling[v]++
		if c.spelling[v] > c.spelling[c.best] {
			c.best = v
		}
	}
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = byFold[k].best
	}
	return out
}

// isBethelHeader: the column naming the registrant's bethel (not an
// office held or a name).
func isBethelHeader(folded string) bool {
	return (strings.Contains(folded, "bethel") || strings.Contains(folded, "chapter")) && !strings.Contains(folded, "office") && !strings.Contains(folded, "name")
}

// listParts reports whether the values are sets of a few choices joined
// by ; , or / (days attending), and the choices in order of appearance.
func listParts(vals []string) ([]string, bool) {
	joined := 0
	seen := map[string]bool{}
	var parts []string
	for _, v := range vals {
		ps := strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == '/' || r == '&' || r == '+' || r == '|' })
		if len(ps) > 1 {
			joined++
		}
		for _, p := range ps {
			p = strings.TrimSpace(p)
			if k := schema.Fold(p); p != "" && !seen[k] {
				seen[k] = true
				parts = append(parts, p)
			}
		}
	}
	// A list when a third of the distinct values join several choices
	// (member types such as parent/guardian join now and then).
	// Fewer distinct sets than choices is a list only when the choices
	// are days ("Fri;Sat", "Sat", "Fri;Sat;Sun").
	if joined == 0 || 3*joined < len(vals) || len(parts) > guessMaxCategories || len(parts) >= len(vals) && slices.ContainsFunc(parts, func(p string) bool { return !isDayName(p) }) {
		return nil, false
	}
	for _, p := range parts {
		if len(p) > guessMaxCategory {
			return nil, false
		}
	}
	return parts, true
}

// memberTypeWords, found in a vocabulary's values, say that the column
// answers "who are you": a form may ask it as "I am a..." or "Attending as".
var memberTypeWords = []string{"daughter", "jd", "adult", "guest", "guardian", "parent", "family", "member", "majority", "council", "visitor", "volunteer", "chaperone"}

// memberTypeByValues finds the member type by its answers when no header
// names it: the non-personal vocabulary of at most 12 values of which
// most, and at least two, hold a member type word.
func (g *exportGuess) memberTypeByValues() *guessedField {
	var best *guessedField
	bestN := 0
	for _, f := range g.fields {
		if f.sensitive || f.typ != schema.String || len(f.categories) < 2 || len(f.categories) > 12 || f.name == g.key || f.name == g.bethel {
			continue
		}
		n := 0
		for _, c := range f.categories {
			words := strings.FieldsFunc(strings.ToLower(c), func(r rune) bool { return !unicode.IsLetter(r) })
			if slices.ContainsFunc(words, func(w string) bool {
				return slices.Contains(memberTypeWords, w) || slices.Contains(memberTypeWords, strings.TrimSuffix(w, "s"))
			}) {
				n++
			}
		}
		if n >= 2 && 2*n > len(f.categories) && n > bestN {
			best, bestN = f, n
		}
	}
	return best
}

// unplaced counts the bethel values without a number (places) that the
// build will not resolve with the cities and names guessed: it looks them
// up by stages.BethelPlaces.
func (g *exportGuess) unplaced(places []string) {
	known := map[string]bool{}
	for _, m := range []map[int]string{g.cities, g.names} {
		for _, p := range m {
			known[schema.Fold(p)] = true
		}
	}
	seen := map[string]bool{}
	for _, p := range places {
		place, whole := stages.BethelPlaces(p)
		if known[place] || known[whole] {
			continue
		}
		g.unknown++
		if !seen[schema.Fold(p)] {
			seen[schema.Fold(p)] = true
			g.unknownPlaces = append(g.unknownPlaces, tomlComment(p))
		}
	}
	sort.Strings(g.unknownPlaces)
}

// roles binds the roles by header, and guesses the member type groups,
// the inactive statuses and the bethel numbers.
func (g *exportGuess) roles(rows [][]string) {
	find := func(ok func(f *guessedField, h string) bool) *guessedField {
		for _, f := range g.fields {
			if ok(f, strings.ToLower(f.header)) {
				return f
			}
		}
		return nil
	}
	if f := find(func(f *guessedField, h string) bool { return f.why == "unique codes: a record key" }); f != nil {
		g.key = f.name
	}
	if f := find(func(f *guessedField, h string) bool { return f.why == "the bethel" }); f != nil {
		g.bethel = f.name
		f.typ, f.categories, f.format = schema.Integer, nil, ""
		f.why = "the bethel: a number from config/bethels.csv"
		f.check = "config/bethels.csv lists the numbers found; fill in names, cities and districts"
		c := f.col
		nums := map[int]bool{}
		var places []string
		for _, r := range rows {
			if c >= len(r) || schema.Clean(r[c]) == "" {
				continue
			}
			m := numberRE().FindString(r[c])
			n, err := strconv.Atoi(m)
			if err != nil || n <= 0 {
				g.unnumbered++
				places = append(places, schema.Clean(r[c]))
				continue
			}
			nums[n] = true
			v := schema.Clean(r[c])
			if m := cityRE().FindStringSubmatch(v); m != nil && g.cities[n] == "" {
				g.cities[n] = strings.TrimSpace(m[1])
			}
			if m := bethNameRE().FindStringSubmatch(v); m != nil && g.names[n] == "" {
				g.names[n] = strings.TrimSpace(m[1])
			}
		}
		g.unplaced(places)
		for n := range nums {
			g.bethels = append(g.bethels, n)
		}
		sort.Ints(g.bethels)
	}
	f := find(func(f *guessedField, h string) bool {
		return len(f.categories) > 0 && f.typ == schema.String && (strings.Contains(h, "member") || strings.Contains(h, "type") || strings.Contains(h, "role"))
	})
	if f == nil {
		f = g.memberTypeByValues()
	}
	if f != nil {
		g.memberType = f.name
		for _, c := range f.categories {
			k := strings.ToLower(c)
			switch {
			case strings.Contains(k, "daughter") || k == "jd" || strings.Contains(k, "member") && !strings.Contains(k, "majority"):
				g.groups[c] = "daughter"
			case strings.Contains(k, "guest") || strings.Contains(k, "parent") || strings.Contains(k, "family") || strings.Contains(k, "visitor"):
				g.groups[c] = "guest"
			default:
				g.groups[c] = "adult"
			}
		}
		f.why = "the member type, grouped into daughters, adults and guests"
		f.check = "check [roles.groups]: which member type counts as daughter, adult or guest"
	}
	if f := find(func(f *guessedField, h string) bool {
		return len(f.categories) > 0 && f.typ == schema.String && strings.Contains(h, "status")
	}); f != nil {
		g.status = f.name
		for _, c := range f.categories {
			k := strings.ToLower(c)
			if strings.Contains(k, "cancel") || strings.Contains(k, "refund") || strings.Contains(k, "withdr") {
				g.inactive = append(g.inactive, c)
			}
		}
		f.why = "the registration status"
		f.check = "check [roles.inactive]: the statuses that count nowhere"
	}
	if f := find(func(f *guessedField, h string) bool { return f.typ == schema.List && dayList(f) }); f != nil {
		g.days = f.name
		f.why = "the days attending"
		f.check = "check the days, and the phrases meaning all of them (all = [...])"
	}
	if g.key == "" && len(g.fields) > 0 {
		g.key = g.fields[0].name
		g.fields[0].check = "no column has a unique value per row; primaryKey names this one: set it to the registration id"
	}
}

// isDayName reports whether p names a day of the week (Fri, Friday).
func isDayName(p string) bool {
	k := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(p)), ".")
	for _, d := range weekDays {
		if len(k) >= 3 && strings.HasPrefix(strings.ToLower(d), k) {
			return true
		}
	}
	return false
}

// weekDays are the day names a days list is made of, in week order.
var weekDays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

// dayList turns a list field whose choices are day names (Fri, Friday)
// or phrases for every day (All days, Whole weekend) into the days
// field: the full day names in week order, the rest as aliases and all.
func dayList(f *guessedField) bool {
	aliases := map[string][]string{}
	var all []string
	for _, p := range f.categories {
		k := strings.ToLower(p)
		if strings.Contains(k, "all") || strings.Contains(k, "whole") || strings.Contains(k, "weekend") || strings.Contains(k, "every") {
			all = append(all, p)
			continue
		}
		day := ""
		for _, d := range weekDays {
			if len(k) >= 3 && strings.HasPrefix(strings.ToLower(d), strings.TrimSuffix(k, ".")) {
				day = d
			}
		}
		if day == "" {
			return false
		}
		if schema.Fold(p) != schema.Fold(day) {
			aliases[day] = append(aliases[day], p)
		} else if aliases[day] == nil {
			aliases[day] = []string{}
		}
	}
	if len(aliases) == 0 {
		return false
	}
	f.categories, f.aliases, f.all = nil, map[string][]string{}, all
	for _, d := range weekDays {
		if a, ok := aliases[d]; ok {
			f.categories = append(f.categories, d)
			if len(a) > 0 {
				f.aliases[d] = a
			}
		}
	}
	return true
}

// summaryFields are the fields the scaffold gets a summary of: every
// non-personal field with a vocabulary but the member type and status.
func (g *exportGuess) summaryFields() []*guessedField {
	var out []*guessedField
	for _, f := range g.fields {
		if f.sensitive || len(f.categories) == 0 || f.name == g.memberType || f.name == g.status {
			continue
		}
		out = append(out, f)
	}
	return out
}

// countableFields are the personal fields counted by keywords.
func (g *exportGuess) countableFields() []string {
	var out []string
	for _, f := range g.fields {
		if f.countable {
			out = append(out, f.name)
		}
	}
	return out
}

// tomlList writes a TOML array of strings (tomlString: patchcmd.go).
func tomlList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = tomlString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// writeFields writes config/fields.toml.
func (g *exportGuess) writeFields(w io.Writer, export string) {
	fmt.Fprintf(w, "# The registration form, as data: one [[fields]] per column of the export,\n")
	fmt.Fprintf(w, "# guessed by bethel init --from-export from %s (docs/your-form.md).\n", tomlComment(export))
	fmt.Fprintf(w, "# Check every field marked CHECK; personal columns are sensitive = true.\n\n")
	fmt.Fprintf(w, "primaryKey    = %s\n", tomlString(g.key))
	fmt.Fprintf(w, "missingValues = [\"\"]\n")
	fmt.Fprintf(w, "dateOrder     = %q\n\n[roles]\n", string(g.order))
	for _, r := range [][2]string{{"bethel", g.bethel}, {"member_type", g.memberType}, {"status", g.status}, {"days", g.days}} {
		if r[1] != "" {
			fmt.Fprintf(w, "%-11s = %s\n", r[0], tomlString(r[1]))
		}
	}
	if g.memberType != "" {
		fmt.Fprintf(w, "\n# CHECK: which member types count as daughters, adults and guests.\n[roles.groups]\n")
		var mt *guessedField
		for _, f := range g.fields {
			if f.name == g.memberType {
				mt = f
			}
		}
		for _, grp := range []string{"daughter", "adult", "guest"} {
			var cats []string
			for _, c := range mt.categories {
				if g.groups[c] == grp {
					cats = append(cats, c)
				}
			}
			fmt.Fprintf(w, "%-8s = %s\n", grp, tomlList(cats))
		}
	}
	if g.status != "" {
		fmt.Fprintf(w, "\n# CHECK: the statuses that count nowhere.\n[roles.inactive]\nvalues = %s\n", tomlList(g.inactive))
	}
	for _, f := range g.fields {
		fmt.Fprintf(w, "\n# %s: %s", tomlComment(f.header), f.why)
		if f.check != "" {
			fmt.Fprintf(w, "\n# CHECK: %s", f.check)
		}
		fmt.Fprintf(w, "\n[[fields]]\nname    = %s\nheaders = %s\n", tomlString(f.name), tomlList([]string{f.header}))
		if f.typ != schema.String {
			fmt.Fprintf(w, "type    = %s\n", tomlString(f.typ))
		}
		if f.format != "" {
			fmt.Fprintf(w, "format  = %s\n", tomlString(f.format))
		}
		if f.name == g.bethel {
			fmt.Fprintf(w, "reference = { resource = \"config/bethels.csv\", field = \"number\" }\n")
		}
		if len(f.categories) > 0 {
			fmt.Fprintf(w, "categories = %s\n", tomlList(f.categories))
		}
		if len(f.all) > 0 {
			fmt.Fprintf(w, "all        = %s\n", tomlList(f.all))
		}
		if f.sensitive {
			fmt.Fprintf(w, "sensitive = true\n")
		}
		if f.countable {
			fmt.Fprintf(w, "countable = true\n")
		}
		if f.name == g.key || (f.required && (f.name == g.bethel || f.name == g.memberType || f.name == g.status)) {
			fmt.Fprintf(w, "constraints = { required = true }\n")
		}
		if len(f.aliases) > 0 {
			fmt.Fprintf(w, "[fields.aliases]\n")
			for _, c := range f.categories {
				if a := f.aliases[c]; len(a) > 0 {
					fmt.Fprintf(w, "%s = %s\n", tomlString(c), tomlList(a))
				}
			}
		}
	}
}

// tomlComment keeps a header on one comment line, without the control
// characters a TOML file may not hold.
func tomlComment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// report says what was guessed and what to check. It names columns by
// header and never prints a value of a personal column.
func (g *exportGuess) report(w io.Writer) {
	fmt.Fprintf(w, "guessed %d fields from %d rows:\n", len(g.fields), g.rows)
	for _, f := range g.fields {
		kind := f.typ
		if f.format != "" {
			kind += " (" + f.format + ")"
		}
		mark := ""
		if f.sensitive {
			mark = ", sensitive"
		}
		fmt.Fprintf(w, "  %-24s %-18s %s%s\n", f.name, kind, f.why, mark)
	}
	roles := []string{}
	for _, r := range [][2]string{{"record key", g.key}, {"bethel", g.bethel}, {"member type", g.memberType}, {"status", g.status}, {"days", g.days}} {
		if r[1] != "" {
			roles = append(roles, r[0]+" = "+r[1])
		}
	}
	fmt.Fprintf(w, "roles: %s\n", strings.Join(roles, ", "))
	for _, h := range g.ignored {
		fmt.Fprintf(w, "column %q repeats an earlier header: not declared, the build reads the first one\n", tomlComment(h))
	}
	fmt.Fprintf(w, "check in config/fields.toml every line marked CHECK, and that every personal column says sensitive = true\n")
	if g.unknown > 0 {
		shown := g.unknownPlaces
		more := ""
		if len(shown) > 8 {
			shown, more = shown[:8], fmt.Sprintf(" and %d more", len(g.unknownPlaces)-8)
		}
		fmt.Fprintf(w, "%d of %d bethel values without a number name a place seen nowhere beside a number (%s%s): add each to config/bethels.csv as the city or name of its bethel, or the build stops at those records\n",
			g.unknown, g.unnumbered, strings.Join(shown, ", "), more)
	}
}

// exportScaffold is the files of a workspace made from an export: the
// template's, with the export, its field declarations, a bethel directory
// of the numbers found and summary nodes for its fields.
type exportScaffold struct {
	guess  *exportGuess
	export []byte
}

// scaffoldFromExport reads and guesses the export at path (named as the
// user wrote it in messages).
func scaffoldFromExport(path, name string) (*exportScaffold, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bethel init: %w", err)
	}
	header, rows, err := csvio.ReadAll(bytes.NewReader(data), name)
	if err != nil {
		return nil, fmt.Errorf("bethel init: %w", err)
	}
	g := guessExport(header, rows)
	var missing []string
	if g.bethel == "" {
		missing = append(missing, "the bethel (a header with Bethel or Chapter)")
	}
	if g.memberType == "" {
		missing = append(missing, "the member type (a header with Member, Type or Role, and a few distinct values)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("bethel init: %s: no column looks like %s, which the built-in summaries count by; rename the header or start with bethel init DIR and declare the fields by hand (docs/your-form.md)", name, strings.Join(missing, " or "))
	}
	return &exportScaffold{guess: g, export: data}, nil
}

// file returns the scaffold's content of template file p.
func (s *exportScaffold) file(p string, data []byte) ([]byte, error) {
	var b bytes.Buffer
	switch p {
	case "inputs/registrations.csv":
		return s.export, nil
	case "config/fields.toml":
		s.guess.writeFields(&b, "inputs/registrations.csv")
		return b.Bytes(), nil
	case "config/bethels.csv":
		b.WriteString("number,name,city,district\n")
		for _, n := range s.guess.bethels {
			b.Write(csvio.AppendRow(nil, []string{strconv.Itoa(n), s.guess.names[n], s.guess.cities[n], ""}))
		}
		return b.Bytes(), nil
	case "pipeline.toml":
		return s.pipeline(data)
	}
	return data, nil
}

// The template's summaries section, between these two marks, is replaced
// by the export's; the summary.json and site nodes list their outputs.
const (
	summariesStart = "# Every summary is a node of the one counting stage"
	summariesEnd   = "[[node]]\nname       = \"summary\""
)

// templateSummaries are the template's summary outputs besides
// attendance (which every scaffold has), which the generated ones replace
// wherever a node reads them (summary.json, the site, the workbook).
var templateSummaries = []string{"out/summary/meals.csv", "out/summary/tshirts.csv",
	"out/summary/days.csv", "out/summary/housing.csv", "out/summary/dietary.csv"}

// pipeline rewrites the template's pipeline.toml for the export.
func (s *exportScaffold) pipeline(tmpl []byte) ([]byte, error) {
	text := string(tmpl)
	a, b := strings.Index(text, summariesStart), strings.Index(text, summariesEnd)
	if a < 0 || b < a {
		return nil, fmt.Errorf("bethel init: the built-in template's pipeline.toml has no summaries section")
	}
	g := s.guess
	var nodes strings.Builder
	var outs []string
	members := fmt.Sprintf("  columns       = %s\n  column_labels = { daughter = \"daughters\", adult = \"adults\", guest = \"guests\" }\n", tomlString(g.memberType))
	node := func(name, out string, params string) {
		fmt.Fprintf(&nodes, "[[node]]\nname       = %s\nstage      = \"summary.count\"\n", tomlString(name))
		in := `["out/private/registrations.csv", "config/fields.toml", "config/privacy.toml"]`
		if name == "attendance" {
			in = `["out/private/registrations.csv", "config/fields.toml", "config/bethels.csv",` + "\n              " + `"config/privacy.toml"]`
		}
		fmt.Fprintf(&nodes, "inputs     = %s\noutputs    = [%s]\nvisibility = \"internal\"\n  [node.params]\n%s\n", in, tomlString(out), params)
		outs = append(outs, out)
	}
	nodes.WriteString("# Every summary is a node of the one counting stage, summary.count\n" +
		"# (docs/stages.md): one per field of the export with a vocabulary, by\n" +
		"# member type. A new question on the form gets its table here.\n\n")
	// attendance.csv's header is the same for every event (the public
	// table and the site read it): bethel,bethel_name,daughters,...
	node("attendance", "out/summary/attendance.csv", fmt.Sprintf("  rows          = %s\n  label         = \"bethel\"\n  labels        = { bethel_name = \"name\" }\n%s  total_row     = true\n", tomlString(g.bethel), members))
	taken := map[string]bool{"attendance": true, "duplicates": true, "schedule": true, "issues": true, "bethels": true, "patches": true, "summary": true}
	for _, f := range g.summaryFields() {
		if f.name == g.bethel {
			continue
		}
		name := f.name
		if taken[name] || strings.HasPrefix(name, "registrations") || strings.HasPrefix(name, "public") {
			name = "count_" + name
		}
		taken[name] = true
		node(strings.ReplaceAll(name, "_", "-"), "out/summary/"+name+".csv", fmt.Sprintf("  rows          = %s\n%s", tomlString(f.name), members))
	}
	if cf := g.countableFields(); len(cf) > 0 {
		node("dietary", "out/summary/dietary.csv", fmt.Sprintf("  rows          = %s\n%s", tomlList(cf), members)+
			"  # CHECK: category = keywords found (case-insensitively) in the text\n  [node.params.keywords]\n"+
			"  \"gluten free\"    = [\"gluten\", \"celiac\", \"coeliac\"]\n  \"lactose intolerant\" = [\"lactose\", \"dairy\"]\n"+
			"  \"nut allergy\"    = [\"peanut\", \"tree nut\", \"nut\"]\n  \"shellfish allergy\" = [\"shellfish\"]\n"+
			"  \"vegetarian\"     = [\"vegetarian\", \"vegan\"]\n")
	}
	rest := text[b:]
	var err error
	if rest, err = replaceSummaryInputs(rest, outs[1:]); err != nil {
		return nil, err
	}
	head, err := s.rosterParams(text[:a])
	if err != nil {
		return nil, err
	}
	// The roster's first column is the bethel field, by its name.
	rest = strings.ReplaceAll(rest, "split_by = \"bethel\"", "split_by = "+tomlString(g.bethel))
	if g.days == "" {
		// The program's expected attendance counts by the days role: a
		// form that asks no days gets the program without it.
		const regs = `"out/private/registrations.csv", "out/private/registrations.table",`
		if !strings.Contains(rest, regs) {
			return nil, fmt.Errorf("bethel init: the built-in template's program node does not read the registrations")
		}
		rest = strings.Replace(rest, regs, "", 1)
		rest = strings.Replace(rest, "name       = \"program\"\n", "name       = \"program\"\n"+
			"# No column looks like the days attending, so the program counts no\n"+
			"# expected attendance: to have it, bind [roles] days in config/fields.toml\n"+
			"# and add out/private/registrations.csv and its .table to the inputs.\n", 1)
	}
	return []byte(head + nodes.String() + rest), nil
}

// rosterParams rewrites the roster node's params for the export's fields:
// every field but the bethel (which the roster puts first), sorted by the
// name fields when there are any, else by the record key.
func (s *exportScaffold) rosterParams(text string) (string, error) {
	i := strings.Index(text, "name       = \"roster\"\n")
	j := strings.Index(text[max(i, 0):], "  [node.params]\n")
	if i < 0 || j < 0 {
		return text, nil
	}
	start := i + j
	end := start + strings.Index(text[start:], "\n\n")
	if end < start {
		return "", fmt.Errorf("bethel init: the built-in template's roster node does not end in a blank line")
	}
	// The comment above the params goes with them.
	if k := strings.LastIndex(text[:start], "\n  #"); k > i {
		start = k + 1
	}
	g := s.guess
	var cols, sort []string
	for _, f := range g.fields {
		if f.name != g.bethel {
			cols = append(cols, f.name)
		}
	}
	for _, w := range []string{"last", "surname", "first", "given"} {
		for _, f := range g.fields {
			if strings.Contains(strings.ToLower(f.header), w) && f.sensitive && !slices.Contains(sort, f.name) {
				sort = append(sort, f.name)
			}
		}
	}
	if len(sort) == 0 {
		sort = []string{g.key}
	}
	params := "  # after bethel and bethel_name; CHECK the columns and the sort order\n  [node.params]\n" +
		"  columns = " + tomlList(cols) + "\n  sort    = " + tomlList(sort)
	return text[:start] + params + text[end:], nil
}

// replaceSummaryInputs swaps the template's summary outputs among the
// inputs of every node in text for outs, in their place.
func replaceSummaryInputs(text string, outs []string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(text, "inputs")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		m := inputsRE().FindStringIndex(text[i:])
		if m == nil || m[0] != 0 {
			b.WriteString(text[:i+len("inputs")])
			text = text[i+len("inputs"):]
			continue
		}
		start := i + m[1]
		end := start + strings.IndexByte(text[start:], ']')
		if end < start {
			return "", fmt.Errorf("bethel init: the built-in template's pipeline.toml has an unterminated inputs list")
		}
		b.WriteString(text[:start])
		b.WriteString(rewriteInputs(text[start:end], outs, m[1]))
		text = text[end:]
	}
}

var inputsRE = lazyre.New(`^inputs\s*=\s*\[`)

// rewriteInputs rewrites one inputs list's body; indent is the column
// its first entry starts at.
func rewriteInputs(body string, outs []string, indent int) string {
	var list []string
	added, addedLineage, changed := false, false, false
	for _, m := range regexp.MustCompile(`"[^"]*"`).FindAllString(body, -1) {
		p := strings.Trim(m, `"`)
		if slices.Contains(templateSummaries, p) {
			changed = true
			if !added {
				list = append(list, outs...)
				added = true
			}
			continue
		}
		// The site's lineage of the summaries follows them.
		if o, ok := strings.CutPrefix(p, stage.LineagePrefix); ok && slices.Contains(templateSummaries, o) {
			changed = true
			if !addedLineage {
				for _, o := range outs {
					list = append(list, stage.LineagePrefix+o)
				}
				addedLineage = true
			}
			continue
		}
		list = append(list, p)
	}
	if !changed {
		return body
	}
	var b strings.Builder
	width := indent
	for k, p := range list {
		q := tomlString(p)
		if k > 0 {
			b.WriteString(",")
			width++
			if width+len(q)+2 > 100 {
				b.WriteString("\n" + strings.Repeat(" ", indent))
				width = indent
			} else {
				b.WriteString(" ")
				width++
			}
		}
		b.WriteString(q)
		width += len(q)
	}
	return b.String()
}
