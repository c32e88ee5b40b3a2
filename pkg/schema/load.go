package schema

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"bethel/pkg/lazyre"
	"bethel/pkg/pos"
	"bethel/pkg/tomlguard"
)

// DefaultFile is where a workspace declares its fields unless
// pipeline.toml says otherwise.
const DefaultFile = "config/fields.toml"

type rawFile struct {
	Title         string     `toml:"title"`
	Description   string     `toml:"description"`
	PrimaryKey    string     `toml:"primaryKey"`
	MissingValues []string   `toml:"missingValues"`
	DateOrder     string     `toml:"dateOrder"`
	Roles         rawRoles   `toml:"roles"`
	Fields        []rawField `toml:"fields"`
}

type rawRoles struct {
	Bethel     string              `toml:"bethel"`
	MemberType string              `toml:"member_type"`
	Status     string              `toml:"status"`
	Days       string              `toml:"days"`
	Groups     map[string][]string `toml:"groups"`
	Inactive   struct {
		Values []string `toml:"values"`
	} `toml:"inactive"`
}

type rawField struct {
	Name        string              `toml:"name"`
	Title       string              `toml:"title"`
	Description string              `toml:"description"`
	Headers     []string            `toml:"headers"`
	Type        string              `toml:"type"`
	Format      string              `toml:"format"`
	Categories  []string            `toml:"categories"`
	Aliases     map[string][]string `toml:"aliases"`
	Blank       string              `toml:"blank"`
	Constraints struct {
		Required bool `toml:"required"`
	} `toml:"constraints"`
	Sensitive     bool     `toml:"sensitive"`
	Countable     bool     `toml:"countable"`
	Delimiter     string   `toml:"delimiter"`
	All           []string `toml:"all"`
	TrueValues    []string `toml:"trueValues"`
	FalseValues   []string `toml:"falseValues"`
	MissingValues []string `toml:"missingValues"`
	Reference     *struct {
		Resource string `toml:"resource"`
		Field    string `toml:"field"`
	} `toml:"reference"`
}

// tableKeys lists the keys of each table; "*" allows any key (a map
// whose keys are the organizer's, such as aliases' categories). It is a
// list rather than a map because a map literal is built by code in the
// package's init, which every bethel command runs; this list is data.
var tableKeys = []struct {
	table string
	keys  []string
}{
	{"", []string{"title", "description", "primaryKey", "missingValues", "dateOrder", "roles", "fields"}},
	{"roles", []string{"bethel", "member_type", "status", "days", "groups", "inactive"}},
	{"roles.groups", []string{"*"}},
	{"roles.inactive", []string{"values"}},
	{"fields", []string{"name", "title", "description", "headers", "type", "format", "categories", "aliases", "blank", "constraints", "sensitive", "countable", "delimiter", "all", "trueValues", "falseValues", "missingValues", "reference"}},
	{"fields.aliases", []string{"*"}},
	{"fields.constraints", []string{"required"}},
	{"fields.reference", []string{"resource", "field"}},
}

// allowedKeys returns the keys table may have, and false for a table
// not in tableKeys.
func allowedKeys(table string) ([]string, bool) {
	for _, t := range tableKeys {
		if t.table == table {
			return t.keys, true
		}
	}
	return nil, false
}

// maxFileSize bounds what Load reads: a field declaration is a few
// kilobytes, and a hostile file must not make the decoder allocate without
// bound.
const maxFileSize = 4 << 20

var nameRE = lazyre.New(`^[a-z][a-z0-9_]*$`)

// Load reads and checks a field declaration. Every problem found is
// reported, each as file:line with the allowed values and a "did you mean"
// where one is close.
func Load(fsys fs.FS, file string) (*Schema, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err // names the file
	}
	return Parse(file, data)
}

var tomlLineRE = lazyre.New(`^toml: line (\d+)(?: \(last key "([^"]*)"\))?: (.*)$`)

// Parse checks a field declaration held in memory; file names it in errors.
func Parse(file string, data []byte) (*Schema, error) {
	at := func(line int) pos.Pos { return pos.Pos{File: file, Line: line} }
	if len(data) > maxFileSize {
		return nil, pos.Errorf(at(0), "%d bytes: a field declaration is at most %d", len(data), maxFileSize)
	}
	if err := tomlguard.Check(file, data); err != nil {
		return nil, err
	}
	var raw rawFile
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, pos.Errorf(at(pe.Position.Line), "%s", pe.Message)
		}
		if m := tomlLineRE().FindStringSubmatch(err.Error()); m != nil {
			n, _ := strconv.Atoi(m[1])
			msg := m[3]
			if m[2] != "" {
				msg = m[2] + ": " + msg
				// The decoder reports the line it stopped at, not the
				// key's: find the first writing of the key whose value
				// has the type the message names.
				if l := locateTypeError(data, m[2], m[3]); l > 0 {
					n = l
				}
			}
			return nil, pos.Errorf(at(n), "%s", msg)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	ln := scanLines(data)
	p := &parser{file: file, ln: ln}
	p.checkKeys(md)
	s := &Schema{File: file, PrimaryKey: raw.PrimaryKey, byName: map[string]*Field{}, missing: map[string]bool{}}
	// Order of [roles.groups] as written: the summary's column order.
	var groupOrder []string
	for _, k := range md.Keys() {
		if len(k) == 3 && k[0] == "roles" && k[1] == "groups" {
			groupOrder = append(groupOrder, k[2])
		}
	}
	switch o := DateOrder(raw.DateOrder); o {
	case "":
		s.DateOrder = MDY
	case MDY, DMY:
		s.DateOrder = o
	default:
		p.errf(ln.line("dateOrder"), "dateOrder %q is not MDY (month first, 7/2/2011 is July 2) or DMY (day first)", raw.DateOrder)
	}
	s.MissingValues = raw.MissingValues
	if md.IsDefined("missingValues") {
		for _, v := range raw.MissingValues {
			s.missing[Fold(v)] = true
		}
	} else {
		s.MissingValues = []string{""}
	}
	s.missing[""] = true
	if len(raw.Fields) == 0 {
		p.errf(1, "no [[fields]]: declare one per column of the registrations")
	}
	headers := map[string]string{}
	for i := range raw.Fields {
		f := p.field(s, i, &raw.Fields[i])
		if f == nil {
			continue
		}
		for _, h := range f.Headers {
			k := Fold(h)
			if prev, dup := headers[k]; dup {
				p.errf(ln.field(i, "headers"), "field %q: header %q is already the header of field %q", f.Name, h, prev)
				continue
			}
			headers[k] = f.Name
		}
		s.Fields = append(s.Fields, f)
		s.byName[f.Name] = f
	}
	p.primaryKey(s)
	p.roles(s, &raw.Roles, groupOrder)
	if err := p.errs.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

type parser struct {
	file string
	ln   *lines
	errs pos.List
}

func (p *parser) errf(line int, format string, args ...any) {
	p.errs = append(p.errs, pos.Errorf(pos.Pos{File: p.file, Line: line}, format, args...))
}

// errHint adds an error with a "did you mean" hint when hint is not empty.
func (p *parser) errHint(line int, hint, format string, args ...any) {
	p.errs = append(p.errs, &pos.Error{Pos: pos.Pos{File: p.file, Line: line}, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// checkKeys rejects unknown keys and keys that differ from a known one
// only in case (the decoder would silently take `Type` for `type`).
func (p *parser) checkKeys(md toml.MetaData) {
	idx := -1
	for _, k := range md.Keys() {
		if len(k) == 1 && k[0] == "fields" {
			idx++
		}
		table := strings.Join(k[:len(k)-1], ".")
		allowed, ok := allowedKeys(table)
		if !ok {
			// Under a "*" table: any deeper key is a mistake the decoder
			// reports as a type error already.
			continue
		}
		name := k[len(k)-1]
		if len(allowed) == 1 && allowed[0] == "*" {
			continue
		}
		path := p.keyPath(k, idx)
		found := false
		for _, a := range allowed {
			if a == name {
				found = true
				break
			}
		}
		if found {
			continue
		}
		for _, a := range allowed {
			if strings.EqualFold(a, name) {
				p.errf(p.ln.line(path), "key %q: keys are case-sensitive; write %q", name, a)
				found = true
				break
			}
		}
		if found {
			continue
		}
		where := "at the top level"
		if table != "" {
			where = "in [" + table + "]"
		}
		p.errHint(p.ln.line(path), didYouMean(name, allowed), "unknown key %q %s (want %s)", name, where, OrList(allowed))
	}
}

// keyPath is k as the line scanner spells it (with the field index).
func (p *parser) keyPath(k toml.Key, idx int) string {
	if len(k) > 1 && k[0] == "fields" && idx >= 0 {
		return "fields." + strconv.Itoa(idx) + "." + strings.Join(k[1:], ".")
	}
	return strings.Join(k, ".")
}

func (p *parser) field(s *Schema, i int, r *rawField) *Field {
	line := func(k string) int { return p.ln.field(i, k) }
	name := strings.TrimSpace(r.Name)
	switch {
	case name == "":
		p.errf(line(""), "field %d has no name", i+1)
		return nil
	case !nameRE().MatchString(name):
		p.errf(line("name"), "field name %q: use lower case letters, digits and _ (as in banquet_meal)", name)
		return nil
	case s.byName[name] != nil:
		p.errf(line("name"), "field %q is declared twice (first at line %d)", name, s.byName[name].Line)
		return nil
	}
	f := &Field{
		Name: name, Title: r.Title, Description: r.Description, Headers: r.Headers, Type: r.Type,
		Format: r.Format, Categories: r.Categories, Aliases: r.Aliases, Blank: r.Blank,
		Required: r.Constraints.Required, Sensitive: r.Sensitive, Countable: r.Countable,
		Delimiter: r.Delimiter, All: r.All, TrueValues: r.TrueValues, FalseValues: r.FalseValues,
		MissingValues: r.MissingValues, Line: line(""), schema: s,
		alias: map[string]string{}, all: map[string]bool{}, missing: map[string]bool{}, catIndex: map[string]int{},
	}
	if r.Reference != nil {
		f.Reference = &Reference{Resource: r.Reference.Resource, Field: r.Reference.Field}
	}
	if f.Type == "" {
		f.Type = String
	}
	known := false
	for _, t := range types {
		known = known || t == f.Type
	}
	if !known {
		p.errHint(line("type"), didYouMean(f.Type, types), "field %q: unknown type %q (want %s)", name, f.Type, OrList(types))
		return f
	}
	if f.Format != "" {
		formats := formatsOf(f.Type)
		ok := false
		for _, x := range formats {
			ok = ok || x == f.Format
		}
		if !ok {
			if len(formats) == 0 {
				p.errf(line("format"), "field %q: a %s field takes no format", name, f.Type)
			} else {
				p.errHint(line("format"), didYouMean(f.Format, formats), "field %q: unknown %s format %q (want %s)", name, f.Type, f.Format, OrList(formats))
			}
		}
	}
	if len(f.Headers) == 0 {
		f.Headers = []string{name}
	}
	for _, h := range f.Headers {
		if strings.TrimSpace(h) == "" {
			p.errf(line("headers"), "field %q: an empty header", name)
		}
	}
	for _, m := range f.MissingValues {
		f.missing[Fold(m)] = true
		f.maxMiss = max(f.maxMiss, len(m)+8)
	}
	// Which keys make sense for which type.
	only := func(set bool, key string, ok bool, want string) {
		if set && !ok {
			p.errf(line(key), "field %q: %s is only for %s fields, not %s", name, key, want, f.Type)
		}
	}
	isCat := f.Type == String || f.Type == List
	only(len(f.Categories) > 0, "categories", isCat && f.Format == "", "string (without format) or list")
	only(len(f.Aliases) > 0, "aliases", isCat, "string or list")
	only(f.Delimiter != "", "delimiter", f.Type == List, "list")
	only(len(f.All) > 0, "all", f.Type == List, "list")
	only(len(f.TrueValues) > 0, "trueValues", f.Type == Boolean, "boolean")
	only(len(f.FalseValues) > 0, "falseValues", f.Type == Boolean, "boolean")
	only(f.Reference != nil, "reference", f.Type == Integer || f.Type == String && f.Format == "", "integer or string")
	if f.Countable && !f.Sensitive {
		p.errf(line("countable"), "field %q: countable only matters on a sensitive field (the others may be counted anyway)", name)
	}
	if f.Type == List {
		if f.Delimiter == "" {
			f.Delimiter = ";"
		}
		if len(f.Categories) == 0 {
			p.errf(line(""), "field %q: a list field needs its categories (the values it is a set of)", name)
		}
	}
	if f.Reference != nil && (f.Reference.Resource == "" || f.Reference.Field == "") {
		p.errf(line("reference"), "field %q: reference needs resource (the directory file) and field (its key column)", name)
	}
	for j, c := range f.Categories {
		switch {
		case c == "" || strings.TrimSpace(c) != c:
			p.errf(line("categories"), "field %q: category %q: a category is not blank and has no surrounding space", name, c)
		case f.Type == List && strings.Contains(c, f.Delimiter):
			p.errf(line("categories"), "field %q: category %q holds the delimiter %q", name, c, f.Delimiter)
		case f.hasCategory(c):
			p.errf(line("categories"), "field %q: category %q is listed twice", name, c)
		default:
			f.catIndex[c] = j
		}
	}
	// A category is its own alias; aliases are checked against categories.
	for _, c := range f.Categories {
		f.alias[Fold(c)] = c
	}
	for _, c := range sortedKeys(f.Aliases) {
		at := p.ln.line("fields." + strconv.Itoa(i) + ".aliases." + c)
		if _, ok := f.catIndex[c]; !ok {
			p.errHint(at, didYouMean(c, f.Categories), "field %q: aliases of %q, which is not a category (want %s)", name, c, OrList(f.Categories))
			continue
		}
		for _, a := range f.Aliases[c] {
			k := Fold(a)
			if k == "" {
				p.errf(at, "field %q: an empty alias of %q (a blank cell is what blank = says)", name, c)
				continue
			}
			if prev, dup := f.alias[k]; dup && prev != c {
				p.errf(at, "field %q: alias %q means both %q and %q", name, a, prev, c)
				continue
			}
			f.alias[k] = c
		}
	}
	for _, a := range f.All {
		f.all[Fold(a)] = true
	}
	if f.Type == Boolean {
		if len(f.TrueValues) == 0 {
			f.TrueValues = []string{"true", "True", "TRUE", "1"}
		}
		if len(f.FalseValues) == 0 {
			f.FalseValues = []string{"false", "False", "FALSE", "0"}
		}
		for _, v := range f.TrueValues {
			f.alias[Fold(v)] = f.TrueValues[0]
		}
		for _, v := range f.FalseValues {
			if f.alias[Fold(v)] == f.TrueValues[0] {
				p.errf(line("falseValues"), "field %q: %q is both a true and a false value", name, v)
			}
			f.alias[Fold(v)] = f.FalseValues[0]
		}
	}
	if f.Blank != "" && f.Reference == nil {
		if err := f.Check(f.Blank); err != nil {
			p.errf(line("blank"), "field %q: blank = %q: %v", name, f.Blank, err)
		}
	}
	return f
}

func (p *parser) primaryKey(s *Schema) {
	if s.PrimaryKey == "" {
		p.errf(1, "primaryKey is missing: name the field that identifies a registration (e.g. registration_id)")
		return
	}
	f := s.Field(s.PrimaryKey)
	if f == nil {
		p.errHint(p.ln.line("primaryKey"), didYouMean(s.PrimaryKey, s.Names()), "primaryKey %q is not a declared field", s.PrimaryKey)
		return
	}
	f.Required = true
}

// role checks that a role is bound to a declared field and returns it.
func (p *parser) role(s *Schema, key, name string) *Field {
	if name == "" {
		return nil
	}
	f := s.Field(name)
	if f == nil {
		p.errHint(p.ln.line("roles."+key), didYouMean(name, s.Names()), "roles.%s = %q is not a declared field", key, name)
	}
	return f
}

func (p *parser) roles(s *Schema, r *rawRoles, groupOrder []string) {
	s.Roles = Roles{Bethel: r.Bethel, MemberType: r.MemberType, Status: r.Status, Days: r.Days,
		Groups: map[string]string{}, Inactive: r.Inactive.Values, Line: p.ln.line("roles")}
	p.role(s, "bethel", r.Bethel)
	if f := p.role(s, "days", r.Days); f != nil && f.Type != List {
		p.errf(p.ln.line("roles.days"), "roles.days = %q: the days field must be a list (type = \"list\"), not %s", r.Days, f.Type)
	}
	mt := p.role(s, "member_type", r.MemberType)
	if len(r.Groups) > 0 && r.MemberType == "" {
		p.errf(p.ln.line("roles.groups"), "[roles.groups] needs roles.member_type, the field whose categories it groups")
	}
	for _, g := range groupOrder {
		s.Roles.GroupOrder = append(s.Roles.GroupOrder, g)
		for _, c := range r.Groups[g] {
			at := p.ln.line("roles.groups." + g)
			if mt != nil {
				if _, ok := mt.catIndex[c]; !ok {
					p.errHint(at, didYouMean(c, mt.Categories), "roles.groups.%s: %q is not a category of %s (want %s)", g, c, mt.Name, OrList(mt.Categories))
					continue
				}
			}
			if prev, dup := s.Roles.Groups[c]; dup {
				p.errf(at, "roles.groups: %q is in both %s and %s", c, prev, g)
				continue
			}
			s.Roles.Groups[c] = g
		}
	}
	st := p.role(s, "status", r.Status)
	if len(r.Inactive.Values) > 0 && r.Status == "" {
		p.errf(p.ln.line("roles.inactive"), "[roles.inactive] needs roles.status, the field whose values it lists")
	}
	if st != nil {
		for _, v := range r.Inactive.Values {
			if _, ok := st.catIndex[v]; !ok {
				p.errHint(p.ln.line("roles.inactive.values"), didYouMean(v, st.Categories), "roles.inactive: %q is not a category of %s (want %s)", v, st.Name, OrList(st.Categories))
			}
		}
	}
}

var tomlTypeRE = lazyre.New(`TOML value has type (\w+)`)

// locateTypeError finds the line of the first value at dotted key path
// whose TOML type is the one msg names, or 0.
func locateTypeError(data []byte, key, msg string) int {
	m := tomlTypeRE().FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return 0
	}
	ln := scanLines(data)
	var walk func(v any, path []string, at string) int
	walk = func(v any, path []string, at string) int {
		if len(path) == 0 {
			if tomlTypeName(v) == m[1] {
				return ln.line(at)
			}
			return 0
		}
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[path[0]]
			if !ok {
				return 0
			}
			sub := path[0]
			if at != "" {
				sub = at + "." + path[0]
			}
			return walk(next, path[1:], sub)
		case []map[string]any:
			for i, e := range x {
				if l := walk(e, path, at+"."+strconv.Itoa(i)); l > 0 {
					return l
				}
			}
		case []any:
			for i, e := range x {
				if l := walk(e, path, at+"."+strconv.Itoa(i)); l > 0 {
					return l
				}
			}
		}
		return 0
	}
	return walk(doc, strings.Split(key, "."), "")
}

// tomlTypeName names a decoded value's type as the decoder's messages do.
func tomlTypeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	}
	return fmt.Sprintf("%T", v)
}
