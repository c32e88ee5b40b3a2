// Package schema is the event model as data: config/fields.toml declares
// every field of a registration (its export headers, type, vocabulary,
// sensitivity, what a blank cell means) and binds the few roles the
// built-in stages know (bethel, member type, status, days) to fields by
// name. Every event's form differs; only this file changes with it.
//
// The file format uses the Frictionless Table Schema names where one
// exists (fields, name, title, type, format, constraints.required,
// categories, missingValues, trueValues/falseValues, primaryKey) and
// bethel's own additions beside them:
//
//	primaryKey    = "registration_id"
//	missingValues = [""]            # cell texts that mean blank, for every field
//	dateOrder     = "MDY"           # how 7/2/2011 reads: MDY or DMY
//
//	[roles]                         # roles bound by field name
//	bethel      = "bethel"
//	member_type = "member_type"
//	status      = "payment_status"
//	days        = "days_attending"
//	[roles.groups]                  # member_type categories per summary group
//	daughter = ["daughter"]
//	adult    = ["adult"]
//	guest    = ["guest"]
//	[roles.inactive]                # status categories that count nowhere
//	values = ["cancelled", "refunded"]
//
//	[[fields]]                      # one per field, in output column order
//	name        = "banquet_meal"
//	headers     = ["Banquet Meal"]  # export headers it may come from; first found wins
//	type        = "string"          # string|integer|number|date|datetime|boolean|list
//	format      = ""                # string: email, phone, money
//	categories  = ["chicken", "none"]   # a vocabulary, in summary order
//	blank       = "none"            # what a blank export cell becomes (default: blank)
//	constraints = { required = true }   # column required, value never blank
//	sensitive   = true              # never in an internal/public output, error or log
//	countable   = true              # a sensitive field whose categories may be counted
//	missingValues = ["N/A"]         # extra texts meaning blank for this field
//	[fields.aliases]                # export text -> category, case/space/dot-insensitive
//	chicken = ["Roast Chicken"]
//
// A list field (type = "list") is a set of categories written
// delimiter-joined in category order; `all` lists phrases meaning every
// category. A reference field (`reference = { resource = "config/bethels.csv",
// field = "number" }`) takes its values from a directory file; the stage
// that reads the directory binds it with (*Field).Bind.
//
// The package is a leaf: it imports pos, the TOML decoder and the standard
// library only, so that stages, patches and commands can share it.
package schema

import (
	"fmt"
	"strings"
)

// Types are the field types, named as in the Frictionless Table Schema.
const (
	String   = "string"
	Integer  = "integer"
	Number   = "number"
	Date     = "date"
	DateTime = "datetime"
	Boolean  = "boolean"
	List     = "list"
)

// Formats are the string formats bethel knows.
const (
	Email = "email"
	Phone = "phone"
	Money = "money"
)

var types = []string{String, Integer, Number, Date, DateTime, Boolean, List}

// formatsOf lists the formats type allows (besides none). A switch, not
// a map literal: that would be built in the package's init, which every
// bethel command runs.
func formatsOf(typ string) []string {
	switch typ {
	case String:
		return stringFormats
	case Number:
		return numberFormats
	}
	return nil
}

var (
	stringFormats = []string{Email, Phone, Money}
	numberFormats = []string{Money}
)

// Schema is a loaded config/fields.toml.
type Schema struct {
	// File is the workspace-relative path it was loaded from, for messages.
	File string
	// PrimaryKey is the name of the record key field.
	PrimaryKey string
	// Fields in output column order.
	Fields []*Field
	// Roles binds the roles the built-in stages know to fields.
	Roles Roles
	// DateOrder says how an ambiguous numeric date (7/2/2011) reads.
	DateOrder DateOrder
	// MissingValues are cell texts meaning blank for every field (folded).
	MissingValues []string

	byName  map[string]*Field
	missing map[string]bool
}

// Roles binds the roles the built-in stages know to field names. An empty
// name means the event has no such field.
type Roles struct {
	Bethel     string
	MemberType string
	Status     string
	Days       string
	// Groups maps each member_type category to its summary group
	// (daughter, adult or guest); a category in no group counts in none.
	Groups map[string]string
	// GroupOrder is the groups in summary column order.
	GroupOrder []string
	// Inactive lists the status categories that count nowhere.
	Inactive []string
	// Line is where [roles] is written, for messages.
	Line int
}

// Field is one declared field.
type Field struct {
	Name        string
	Title       string
	Description string
	// Headers are the export headers the field may come from, first found wins.
	Headers []string
	Type    string
	Format  string
	// Categories is the vocabulary in summary order; empty for free values.
	Categories []string
	// Aliases maps a category to the export texts that mean it.
	Aliases map[string][]string
	// Blank is what a blank export cell becomes ("" leaves it blank).
	Blank string
	// Required: the export must have the column and no value may be blank.
	Required bool
	// Sensitive values never reach an internal or public output, an error or a log.
	Sensitive bool
	// Countable: a sensitive field whose categories may be counted.
	Countable bool
	// Delimiter joins a list field's values (default ";").
	Delimiter string
	// All are phrases meaning every category of a list field.
	All []string
	// TrueValues and FalseValues are a boolean's texts; the first of each is canonical.
	TrueValues  []string
	FalseValues []string
	// MissingValues are this field's extra texts meaning blank.
	MissingValues []string
	// Reference, when set, says the values are keys of a directory file.
	Reference *Reference
	// Line is where the field's [[fields]] header is written.
	Line int

	schema   *Schema
	alias    map[string]string // folded text -> category
	all      map[string]bool
	missing  map[string]bool
	catIndex map[string]int
	maxMiss  int
	resolver Resolver
}

// Reference points a field's values at a directory file.
type Reference struct {
	// Resource is the workspace-relative directory file (CSV).
	Resource string
	// Field is the directory's key column.
	Field string
}

// Resolver maps a reference field's export text to a directory key and
// checks canonical keys; the stage that reads the directory provides it.
type Resolver interface {
	Resolve(raw string) (string, error)
	Check(canonical string) error
}

// Field returns the named field, or nil.
func (s *Schema) Field(name string) *Field { return s.byName[name] }

// Names returns the field names in column order.
func (s *Schema) Names() []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name
	}
	return out
}

// Index returns the column index of the named field, or -1.
func (s *Schema) Index(name string) int {
	for i, f := range s.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Sensitive returns the names of the sensitive fields, in column order.
func (s *Schema) Sensitive() []string {
	var out []string
	for _, f := range s.Fields {
		if f.Sensitive {
			out = append(out, f.Name)
		}
	}
	return out
}

// SensitiveSet returns the sensitive field names as a set.
func (s *Schema) SensitiveSet() map[string]bool {
	m := map[string]bool{}
	for _, f := range s.Fields {
		if f.Sensitive {
			m[f.Name] = true
		}
	}
	return m
}

// IsInactive reports whether a canonical status value counts nowhere.
func (s *Schema) IsInactive(status string) bool {
	for _, v := range s.Roles.Inactive {
		if v == status {
			return true
		}
	}
	return false
}

// Bind gives a reference field the resolver of its directory.
func (f *Field) Bind(r Resolver) { f.resolver = r }

// IsList reports whether the field is a set of categories.
func (f *Field) IsList() bool { return f.Type == List }

// CategoryIndex returns the position of a category in the vocabulary, or -1.
func (f *Field) CategoryIndex(v string) int {
	if i, ok := f.catIndex[v]; ok {
		return i
	}
	return -1
}

// String names the field for messages.
func (f *Field) String() string { return f.Name }

// ValueError says why a value is not valid for a field. It never holds
// the value itself: the caller decides whether the value may be shown
// (it is withheld for sensitive fields).
type ValueError struct {
	// Field is the field's name.
	Field string
	// What is the short reason: "unknown value", "not a date", ...
	What string
	// Want describes what is accepted ("chicken, vegetarian or none").
	Want string
	// Hint is a suggestion such as `did you mean "vegan"?`, or a remedy.
	Hint string
}

func (e *ValueError) Error() string {
	var parts []string
	if e.Want != "" {
		parts = append(parts, "want "+e.Want)
	}
	if e.Hint != "" {
		parts = append(parts, e.Hint)
	}
	if len(parts) == 0 {
		return e.What
	}
	return e.What + " (" + strings.Join(parts, "; ") + ")"
}

func (f *Field) bad(what, want, hint string) error {
	return &ValueError{Field: f.Name, What: what, Want: want, Hint: hint}
}

// OrList joins values as "a, b or c" for messages.
func OrList(l []string) string {
	switch len(l) {
	case 0:
		return ""
	case 1:
		return l[0]
	}
	return strings.Join(l[:len(l)-1], ", ") + " or " + l[len(l)-1]
}

// didYouMean returns the closest of names to s as a hint, or "".
func didYouMean(s string, names []string) string {
	if c := Closest(s, names); c != "" {
		return fmt.Sprintf("did you mean %q?", c)
	}
	return ""
}
