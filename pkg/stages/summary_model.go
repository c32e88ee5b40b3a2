package stages

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/pos"
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

// countModelOf builds the model from the node's inputs: config/values.toml
// gives the vocabularies, config/privacy.toml the sensitive fields and
// config/bethels.csv the bethel directory.
func countModelOf(r *stage.Run) (*countModel, error) {
	priv, err := PrivacyOf(r)
	if err != nil {
		return nil, err
	}
	m := &countModel{file: priv.File, key: "registration_id", fields: map[string]*countField{}, memberType: "member_type"}
	for _, f := range RegistrationFields {
		m.fields[f] = &countField{name: f, kind: kindFree, sensitive: priv.IsSensitive(f)}
	}
	for _, mt := range MemberTypes {
		m.groups = append(m.groups, countGroup{name: mt, cats: []string{mt}})
	}
	for f, cats := range regFixedValues {
		if cats != nil {
			m.fields[f].kind, m.fields[f].categories = kindCategory, cats
		}
	}
	// Counting categories of dietary text is what summaries of sensitive
	// free text are for.
	for _, f := range []string{"dietary_needs", "allergies"} {
		m.fields[f].countable = true
	}
	if vf, err := r.Input(ValuesFile); err == nil {
		m.file = vf
		cfg := &regConfig{}
		if err := regLoadValues(r.FS, vf, cfg); err != nil {
			return nil, err
		}
		if hm := cfg.maps["housing"]; hm != nil {
			m.fields["housing"].kind, m.fields["housing"].categories = kindCategory, hm.order
		}
		m.fields["days_attending"].kind, m.fields["days_attending"].categories = kindList, cfg.days
		m.fields["days_attending"].delimiter = ";"
	}
	if bf, err := r.Input(BethelsFile); err == nil {
		m.fields["bethel"].kind = kindReference
		m.fields["bethel"].ref = &countRef{file: bf, key: "number", integer: true}
	}
	return m, nil
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
