package schema

import (
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/lazyre"
)

// Clean trims a text and collapses inner runs of white space to one
// space: exports pad and wrap cells, and the padding means nothing.
func Clean(raw string) string {
	s := strings.TrimSpace(raw)
	for i := 0; i < len(s); i++ {
		if b := s[i]; b == '\t' || b == '\n' || b == '\r' || b == ' ' && s[i-1] == ' ' {
			return strings.Join(strings.Fields(s), " ")
		}
	}
	return s
}

// IsBlank reports whether an export text means blank for this field: a
// missing value of the schema or of the field (compared folded).
func (f *Field) IsBlank(raw string) bool {
	s := strings.TrimSpace(raw)
	if s == "" {
		return true
	}
	if len(f.missing) > 0 && len(s) <= f.maxMiss && f.missing[Fold(s)] {
		return true
	}
	return f.schema != nil && len(f.schema.missing) > 1 && f.schema.missing[Fold(s)]
}

// Canonical maps an export or patch text to the field's canonical value.
// A blank text becomes Blank (blank when unset); it is an error for a
// required field. The error is a *ValueError, which lists the allowed
// values and a "did you mean" where one is close, and never holds the
// text itself.
func (f *Field) Canonical(raw string) (string, error) {
	if f.IsBlank(raw) {
		if f.Blank != "" {
			return f.Blank, nil
		}
		if f.Required {
			return "", f.bad("blank", f.want(), "the field is required")
		}
		return "", nil
	}
	s := Clean(raw)
	if f.Reference != nil && f.resolver != nil {
		v, err := f.resolver.Resolve(s)
		if ve, ok := err.(*ValueError); ok && ve.Field == "" {
			ve.Field = f.Name
		}
		return v, err
	}
	switch f.Type {
	case Integer:
		return f.integer(s)
	case Number:
		if f.Format == Money {
			return f.money(s)
		}
		return f.number(s)
	case Date:
		v, err := ParseDate(s, f.order())
		return v, f.named(err)
	case DateTime:
		v, err := ParseDateTime(s, f.order())
		return v, f.named(err)
	case Boolean:
		if v, ok := f.alias[Fold(s)]; ok {
			return v, nil
		}
		return "", f.bad("not a yes/no value", OrList([]string{f.TrueValues[0], f.FalseValues[0]}), "or add the text to trueValues or falseValues")
	case List:
		return f.list(s)
	}
	switch f.Format {
	case Email:
		return f.email(s)
	case Money:
		return f.money(s)
	}
	if len(f.Categories) > 0 {
		return f.category(s)
	}
	return s, nil
}

// Check reports whether v is already canonical: a patch's `expect`, a
// value in a generated table. Blank passes unless the field is required.
func (f *Field) Check(v string) error {
	if v == "" {
		if f.Required {
			return f.bad("blank", f.want(), "the field is required")
		}
		return nil
	}
	if f.Reference != nil && f.resolver != nil {
		err := f.resolver.Check(v)
		if ve, ok := err.(*ValueError); ok && ve.Field == "" {
			ve.Field = f.Name
		}
		return err
	}
	if f.Type == String && f.Format == "" && len(f.Categories) == 0 {
		if Clean(v) != v {
			return f.bad("not canonical", "a text without surrounding or repeated space", "")
		}
		return nil
	}
	if f.Type == Boolean {
		if v == f.TrueValues[0] || v == f.FalseValues[0] {
			return nil
		}
		return f.bad("not canonical", OrList([]string{f.TrueValues[0], f.FalseValues[0]}), "")
	}
	if len(f.Categories) > 0 && f.Type == String {
		if _, ok := f.catIndex[v]; ok {
			return nil
		}
		return f.bad("unknown value", OrList(f.Categories), didYouMean(v, f.Categories))
	}
	c, err := f.Canonical(v)
	if err != nil {
		return err
	}
	if c != v {
		return f.bad("not canonical", f.want(), "write it as the build does")
	}
	return nil
}

// want describes the accepted values for messages.
func (f *Field) want() string {
	switch {
	case len(f.Categories) > 0 && f.Type == List:
		return "one or more of " + OrList(f.Categories)
	case len(f.Categories) > 0:
		return OrList(f.Categories)
	case f.Type == Date:
		return dateWant
	case f.Type == DateTime:
		return dateTimeWant
	case f.Type == Boolean:
		return OrList([]string{f.TrueValues[0], f.FalseValues[0]})
	case f.Type == Integer:
		return "a whole number"
	case f.Type == Number || f.Format == Money:
		return "a number"
	case f.Format == Email:
		return "an email address"
	}
	return "a value"
}

func (f *Field) order() DateOrder {
	if f.schema != nil {
		return f.schema.DateOrder
	}
	return MDY
}

func (f *Field) named(err error) error {
	if ve, ok := err.(*ValueError); ok {
		ve.Field = f.Name
	}
	return err
}

func (f *Field) category(s string) (string, error) {
	if v, ok := f.alias[Fold(s)]; ok {
		return v, nil
	}
	return "", f.bad("unknown value", OrList(f.Categories), f.aliasHint(s))
}

// aliasHint is a "did you mean" when a category is close, else where to
// add an alias. The suggestion is a category, never the text.
func (f *Field) aliasHint(s string) string {
	if h := didYouMean(s, f.Categories); h != "" {
		return h
	}
	file := DefaultFile
	if f.schema != nil && f.schema.File != "" {
		file = f.schema.File
	}
	return "or add an alias under [fields.aliases] of field " + f.Name + " in " + file
}

var listSepRE = lazyre.New(`\s*(?:[;,/&+|]|\band\b)\s*`)

// list maps a set of categories written with ; , / & + | or "and" between
// them (or an `all` phrase) to the categories in vocabulary order, joined
// by the delimiter.
func (f *Field) list(s string) (string, error) {
	k := Fold(s)
	if f.all[k] {
		return strings.Join(f.Categories, f.Delimiter), nil
	}
	seen := make([]bool, len(f.Categories))
	var toks []string
	if f.Delimiter != "" && !strings.ContainsAny(f.Delimiter, ";,/&+|") {
		toks = strings.Split(k, Fold(f.Delimiter))
	} else {
		toks = listSepRE().Split(k, -1)
	}
	n := 0
	for _, tok := range toks {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		v, ok := f.alias[tok]
		if !ok {
			return "", f.bad("unknown value", "one or more of "+OrList(f.Categories)+" separated by ; , or /", f.aliasHint(tok))
		}
		if i := f.catIndex[v]; !seen[i] {
			seen[i] = true
			n++
		}
	}
	if n == 0 {
		return "", f.bad("unknown value", "one or more of "+OrList(f.Categories), "")
	}
	out := make([]string, 0, n)
	for i, c := range f.Categories {
		if seen[i] {
			out = append(out, c)
		}
	}
	return strings.Join(out, f.Delimiter), nil
}

// Split returns the values of a canonical list value (nil for blank).
func (f *Field) Split(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, f.Delimiter)
}

func (f *Field) integer(s string) (string, error) {
	t := strings.TrimPrefix(s, "+")
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(t, "-")
	if _, ok := digits(t, 1, 18); !ok {
		return "", f.bad("not a whole number", "a whole number such as 12", "")
	}
	t = strings.TrimLeft(t, "0")
	if t == "" {
		return "0", nil
	}
	if neg {
		t = "-" + t
	}
	return t, nil
}

func (f *Field) number(s string) (string, error) {
	x, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	if err != nil || x != x || x > 1e300 || x < -1e300 {
		return "", f.bad("not a number", "a number such as 3 or 2.5", "")
	}
	return strconv.FormatFloat(x, 'f', -1, 64), nil
}

// money maps "$45", "45.5", "USD 1,045.00" to a decimal with two places;
// "-$12", "$-12" and the accountants' "(12.00)" to a negative one.
func (f *Field) money(raw string) (string, error) {
	v, ok := ParseMoney(raw)
	if !ok {
		return "", f.bad("not an amount", "a number such as 45, 45.50, $45.00 or 45,50 €", "")
	}
	return v, nil
}

// email lower-cases an address; one without @ or with several is an error.
func (f *Field) email(s string) (string, error) {
	s = strings.ToLower(s)
	if i := strings.IndexByte(s, '@'); i <= 0 || i == len(s)-1 || strings.ContainsAny(s, " ,;") {
		return "", f.bad("not an email address", "one address such as name@example.org", "")
	}
	return s, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (f *Field) hasCategory(c string) bool {
	_, ok := f.catIndex[c]
	return ok
}
