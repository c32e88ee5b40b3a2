package stages

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/pos"
	"bethel/pkg/schema"
	"bethel/pkg/stage"
)

// countModel is what the summary.count stage knows of the event's fields:
// for each field, the rows it can be counted into. It is built from the
// workspace's field declarations; the stage never names a field itself.
type countModel struct {
	// file is where the fields are declared, for messages.
	file string
	// key is the record key field, named in errors.
	key    string
	fields map[string]*countField
	// memberType is the field bound to the member type role, and groups
	// its summary groups in column order; empty when the event has none.
	memberType string
	groups     []countGroup
	// status is the field bound to the status role, and inactive its
	// values that count nowhere; empty when the event has none.
	status   string
	inactive []string
}

// countGroup is one member-type group: the categories counted in it.
type countGroup struct {
	name string
	cats []string
}

// countField is one field as the count stage sees it.
type countField struct {
	name string
	kind countKind
	// categories is the vocabulary in summary order (categories and
	// lists), or nil for a free value or a reference.
	categories []string
	// delimiter joins a list field's categories.
	delimiter string
	sensitive bool
	countable bool
	// ref names a reference field's directory.
	ref *countRef
}

// countRef is a reference field's directory: a CSV file whose key column
// holds the field's values.
type countRef struct {
	file, key string
	// integer keys are compared as numbers (a directory's "012" is the
	// value "12") and listed in numeric order; other keys in file order.
	integer bool
}

type countKind int

const (
	kindFree      countKind = iota // any value: rows are the distinct values, sorted
	kindCategory                   // one category of a vocabulary
	kindList                       // a set of categories, delimiter-joined
	kindReference                  // a key of a directory file
)

func (m *countModel) field(name string) *countField { return m.fields[name] }

// FieldsFile is the input name of the field declarations
// (config/fields.toml, pkg/schema describes the format).
const FieldsFile = "fields.toml"

// countModelFrom is the count stage's view of a schema.
func countModelFrom(sc *schema.Schema) *countModel {
	m := &countModel{file: sc.File, key: sc.PrimaryKey, fields: map[string]*countField{}, memberType: sc.Roles.MemberType,
		status: sc.Roles.Status, inactive: sc.Roles.Inactive}
	for _, f := range sc.Fields {
		cf := &countField{name: f.Name, kind: kindFree, sensitive: f.Sensitive, countable: f.Countable}
		switch {
		case f.Reference != nil:
			cf.kind = kindReference
			cf.ref = &countRef{file: f.Reference.Resource, key: f.Reference.Field, integer: f.Type == schema.Integer}
		case f.Type == schema.List:
			cf.kind, cf.categories, cf.delimiter = kindList, f.Categories, f.Delimiter
			if cf.delimiter == "" {
				cf.delimiter = ";"
			}
		case f.Type == schema.Boolean && len(f.TrueValues) > 0 && len(f.FalseValues) > 0:
			cf.kind, cf.categories = kindCategory, []string{f.TrueValues[0], f.FalseValues[0]}
		case len(f.Categories) > 0:
			cf.kind, cf.categories = kindCategory, f.Categories
		}
		m.fields[f.Name] = cf
	}
	if mt := m.fields[m.memberType]; mt != nil && len(sc.Roles.GroupOrder) > 0 {
		for _, g := range sc.Roles.GroupOrder {
			cg := countGroup{name: g}
			// The group's categories in the member type's order.
			for _, c := range mt.categories {
				if sc.Roles.Groups[c] == g {
					cg.cats = append(cg.cats, c)
				}
			}
			m.groups = append(m.groups, cg)
		}
	}
	return m
}

// countDirectory is a reference field's directory as read for a summary:
// its keys in order and every row's columns by header.
type countDirectory struct {
	file   string
	header []string
	keys   []string
	rows   map[string][]string
}

// readDirectory reads a reference field's directory file. Keys must be
// unique; integer keys must be integers.
func readDirectory(r *stage.Run, ref *countRef) (*countDirectory, error) {
	if !slices.Contains(r.Inputs, ref.file) {
		return nil, fmt.Errorf("node %s: a summary by a reference field reads its directory %s; add it to the node's inputs", r.Node, ref.file)
	}
	f, err := r.FS.Open(ref.file)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w (a summary by a reference field needs its directory among the inputs)", r.Node, err)
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, ref.file)
	if err != nil {
		return nil, err
	}
	idx, err := cr.Require(ref.key)
	if err != nil {
		return nil, err
	}
	d := &countDirectory{file: ref.file, header: cr.Header(), rows: map[string][]string{}}
	num := map[string]int{}
	line := map[string]int{}
	var errs pos.List
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		at := pos.Pos{File: ref.file, Line: rec.Line}
		k := strings.TrimSpace(rec.Fields[idx[0]])
		if ref.integer {
			n, err := strconv.Atoi(strings.TrimLeft(k, "0"))
			if err != nil || n <= 0 {
				errs = append(errs, pos.Errorf(at, "%s %q is not a positive integer", ref.key, k))
				continue
			}
			k = strconv.Itoa(n)
			num[k] = n
		}
		if l, dup := line[k]; dup {
			errs = append(errs, pos.Errorf(at, "%s %s is listed twice (first at line %d)", ref.key, k, l))
			continue
		}
		line[k] = rec.Line
		row := make([]string, len(rec.Fields))
		for i, v := range rec.Fields {
			row[i] = strings.TrimSpace(v)
		}
		d.keys = append(d.keys, k)
		d.rows[k] = row
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if ref.integer {
		sort.Slice(d.keys, func(i, j int) bool { return num[d.keys[i]] < num[d.keys[j]] })
	}
	return d, nil
}

// col returns the value of column name in key's row.
func (d *countDirectory) col(key, name string) string {
	for i, h := range d.header {
		if h == name {
			return d.rows[key][i]
		}
	}
	return ""
}
