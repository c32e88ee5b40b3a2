package stages

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"bethel/pkg/pos"
	"bethel/pkg/schema"
	"bethel/pkg/stage"
	"bethel/pkg/tomlguard"
)

// PrivacyFile is the base name of the workspace's privacy settings file
// (config/privacy.toml; schema.Privacy describes the format). Stages read
// only what the engine names as stage.Run.Privacy; the name is kept for
// tools that lay a workspace out.
const PrivacyFile = "privacy.toml"

// Privacy is the loaded privacy declaration.
type Privacy struct {
	// File is the privacy settings file, for messages.
	File string
	// FieldsFile is where the fields (and their sensitivity) are declared.
	FieldsFile string
	// Sensitive is sorted.
	Sensitive []string
	// MinCell is the smallest count a public output may show.
	MinCell int
	set     map[string]bool
}

// IsSensitive reports whether the canonical field is sensitive.
func (p *Privacy) IsSensitive(field string) bool { return p.set[field] }

// SensitiveSet returns the sensitive fields as a set (shared; do not
// modify), the shape pkg/patch's Table wants.
func (p *Privacy) SensitiveSet() map[string]bool { return p.set }

// PrivacyOf loads the workspace's privacy declaration for a stage: the
// files the engine names (stage.Run.Privacy and stage.Run.Fields), and
// nothing else. A node's own inputs are never a declaration, whatever
// their names: a node that brought its own could declare nothing
// sensitive. A workspace without one of the files gets its defaults
// (min_cell 5; no field sensitive).
func PrivacyOf(r *stage.Run) (*Privacy, error) {
	return LoadPrivacyWith(r.FS, r.Privacy, r.Fields)
}

// fieldsFile is the workspace's field declaration as the engine names it
// (stage.Run.Fields); an error when the workspace has none.
func fieldsFile(r *stage.Run) (string, error) {
	if r.Fields == "" {
		return "", fmt.Errorf("node %s: the workspace declares no field model (%s; pipeline.toml's top-level fields names another)", r.Node, schema.DefaultFile)
	}
	return r.Fields, nil
}

// LoadPrivacyWith reads the privacy settings and the sensitive fields of
// the field declaration.
func LoadPrivacyWith(fsys fs.FS, file, fieldsFile string) (*Privacy, error) {
	p, err := LoadPrivacy(fsys, file)
	if err != nil {
		return nil, err
	}
	sens, err := LoadSensitive(fsys, fieldsFile)
	if err != nil {
		return nil, err
	}
	p.setSensitive(fieldsFile, sens)
	return p, nil
}

// privacyAndSchemaOf is PrivacyOf and SchemaOf with the field declaration
// parsed once: a stage that wants both would parse it twice, a
// millisecond or two of every node's run.
func privacyAndSchemaOf(r *stage.Run) (*Privacy, *schema.Schema, error) {
	p, err := LoadPrivacy(r.FS, r.Privacy)
	if err != nil {
		return nil, nil, err
	}
	sch, err := SchemaOf(r)
	if err != nil {
		return nil, nil, err
	}
	p.setSensitive(r.Fields, sch.SensitiveSet())
	return p, sch, nil
}

// setSensitive records the sensitive fields of the field declaration.
func (p *Privacy) setSensitive(fieldsFile string, sens map[string]bool) {
	p.FieldsFile, p.set = fieldsFile, sens
	for f := range sens {
		p.Sensitive = append(p.Sensitive, f)
	}
	sort.Strings(p.Sensitive)
}

// LoadSensitive returns the sensitive fields of a field declaration.
func LoadSensitive(fsys fs.FS, fieldsFile string) (map[string]bool, error) {
	if fieldsFile == "" {
		return map[string]bool{}, nil
	}
	s, err := schema.Load(fsys, fieldsFile)
	if err != nil {
		return nil, err
	}
	return s.SensitiveSet(), nil
}

// LoadPrivacy reads and checks the privacy settings alone, through the
// one reader of the file (schema.ParsePrivacy, which the engine uses too);
// its Sensitive is empty (LoadPrivacyWith adds the field declaration's).
// An empty file name gives the defaults.
func LoadPrivacy(fsys fs.FS, file string) (*Privacy, error) {
	pr, err := schema.LoadPrivacy(fsys, file)
	if err != nil {
		return nil, err
	}
	return &Privacy{File: file, MinCell: pr.MinCell, set: map[string]bool{}}, nil
}

// Derivation says where one output column's values come from, for the
// privacy check: the input columns (canonical names) it reads, and whether
// it only aggregates them (counts, sums, a category's size) or copies
// their values.
type Derivation struct {
	Column    string
	From      []string
	Aggregate bool
}

// CheckPrivacy refuses an internal or public output that copies a
// sensitive field's values. Summary stages call it before writing an
// output, with one Derivation per output column. declassify is the node's
// stated reason to publish anyway (empty when none); a non-empty reason
// lets value copies through, because it is visible in pipeline.toml and
// reviewed there. Private outputs always pass.
func (p *Privacy) CheckPrivacy(node string, vis stage.Visibility, declassify, output string, cols []Derivation) error {
	if vis == stage.Private || strings.TrimSpace(declassify) != "" {
		return nil
	}
	var errs pos.List
	for _, c := range cols {
		if c.Aggregate {
			continue
		}
		for _, f := range c.From {
			if p.set[f] {
				errs = append(errs, fmt.Errorf("node %s: %s output %s: column %q copies the values of sensitive field %q (declared in %s); make the node private, output counts instead, or declare the node's declassify reason",
					node, vis, output, c.Column, f, p.FieldsFile))
			}
		}
	}
	return errs.Err()
}

// cfgDecode reads a TOML config file into v; a syntax error comes back as
// file:line. It returns the raw bytes (for finding keys' lines) and the
// decoder's metadata (for key order).
func cfgDecode(fsys fs.FS, file string, v any) ([]byte, toml.MetaData, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, toml.MetaData{}, err
	}
	if err := tomlguard.Check(file, data); err != nil {
		return nil, toml.MetaData{}, err
	}
	md, err := toml.Decode(string(data), v)
	if err != nil {
		return nil, md, cfgTOMLError(file, err)
	}
	return data, md, nil
}

// cfgTOMLError turns a TOML decoding error into a file:line error.
func cfgTOMLError(file string, err error) error {
	if pe, ok := err.(toml.ParseError); ok {
		return pos.Errorf(pos.Pos{File: file, Line: pe.Position.Line}, "%s", pe.Message)
	}
	return fmt.Errorf("%s: %v", file, err)
}
