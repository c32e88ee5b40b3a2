package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"bethel/pkg/lazyre"
	"bethel/pkg/pos"
	"bethel/pkg/tomlguard"
)

// DefaultPrivacyFile is where a workspace keeps its privacy settings unless
// pipeline.toml's top-level `privacy` names another file.
const DefaultPrivacyFile = "config/privacy.toml"

// Privacy is the workspace's privacy settings file as written: the one
// reader of it, for the engine (source levels, the leak gate's sets, the
// sandbox opt-out) and the stages (min_cell) alike, so that a key means the
// same to both. Format:
//
//	min_cell = 5                      # public outputs suppress counts below this (default 5)
//	sensitive_values = ["out/private/registrations.sensitive"]  # sets the leak gate looks for
//	unsandboxed = "reason"            # let command nodes read private files without a sandbox
//	[sources]                         # source levels (pkg/pipeline says how they combine)
//	private  = ["inputs/**", "patches/**"]
//	internal = ["inputs/program.csv"]
//	public   = []
//
// Which fields are sensitive, and which of those countable, is declared
// with the fields (`sensitive = true`, `countable = true` in the field
// model): a `sensitive` or `countable` key here is an error that says so.
// Unknown keys, wrong types and a min_cell below 1 are errors naming
// file:line. Paths are kept as written; the engine checks them.
type Privacy struct {
	// File is the file read, for messages.
	File string
	// MinCell is the smallest count a public output may show.
	MinCell int
	// SensitiveValues are the paths of sensitive_values, in order.
	SensitiveValues []string
	// SensitiveValuesLine is the line of sensitive_values (0 when absent).
	SensitiveValuesLine int
	// Unsandboxed is the stated reason to run command nodes on private
	// files without a sandbox; empty when the workspace did not opt out.
	Unsandboxed string
	// Sources are the [sources] patterns, by level in the order private,
	// internal, public, each list as written.
	Sources []SourceRule
}

// SourceRule is one pattern of [sources].
type SourceRule struct {
	Pattern string
	// Level is "private", "internal" or "public".
	Level string
	// Line is where the level's list is written.
	Line int
}

// PrivacyLevels are the levels [sources] may list, most private first.
var PrivacyLevels = []string{"private", "internal", "public"}

// LoadPrivacy reads the privacy settings file. An empty file name gives
// the defaults: min_cell 5 and nothing else.
func LoadPrivacy(fsys fs.FS, file string) (*Privacy, error) {
	if file == "" {
		return &Privacy{MinCell: 5}, nil
	}
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	return ParsePrivacy(file, data)
}

var privacyKeyRE = lazyre.New(`^\s*\[?\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))`)

// privacyKeyLine finds the line a key or table header is written on (the
// decoder keeps no positions): the first line, from start, whose key is
// key; 1 when none is.
func privacyKeyLine(data []byte, key string, start int) int {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if i+1 < start {
			continue
		}
		if m := privacyKeyRE().FindSubmatch(l); m != nil && string(m[1])+string(m[2])+string(m[3]) == key {
			return i + 1
		}
	}
	return 1
}

// ParsePrivacy reads privacy settings from their bytes; file names them in
// errors.
func ParsePrivacy(file string, data []byte) (*Privacy, error) {
	if err := tomlguard.Check(file, data); err != nil {
		return nil, err
	}
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, pos.Errorf(pos.Pos{File: file, Line: pe.Position.Line}, "TOML syntax: %s", pe.Message)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p := &Privacy{File: file, MinCell: 5}
	var errs pos.List
	at := func(k string) pos.Pos { return pos.Pos{File: file, Line: privacyKeyLine(data, k, 1)} }
	strList := func(k string, v any, where pos.Pos) []string {
		a, ok := v.([]any)
		if !ok {
			errs = append(errs, pos.Errorf(where, "%s must be an array of strings", k))
			return nil
		}
		out := make([]string, 0, len(a))
		for _, x := range a {
			s, ok := x.(string)
			if !ok || strings.TrimSpace(s) == "" {
				errs = append(errs, pos.Errorf(where, "%s must hold non-empty strings", k))
				continue
			}
			out = append(out, s)
		}
		return out
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := doc[k]
		switch k {
		case "sensitive", "countable":
			errs = append(errs, pos.Errorf(at(k), "which fields are %s is declared with the fields: mark each field %s = true in the field model (%s), and remove this key", k, k, DefaultFile))
		case "min_cell":
			n, ok := v.(int64)
			if !ok || n < 1 {
				errs = append(errs, pos.Errorf(at(k), "min_cell must be an integer of at least 1"))
				continue
			}
			p.MinCell = int(n)
		case "sensitive_values":
			p.SensitiveValuesLine = at(k).Line
			p.SensitiveValues = strList(k, v, at(k))
		case "unsandboxed":
			s, ok := v.(string)
			if !ok || strings.TrimSpace(s) == "" {
				errs = append(errs, pos.Errorf(at(k), `unsandboxed needs a reason, e.g. unsandboxed = "this machine has no Landlock; commands are reviewed"`))
				continue
			}
			p.Unsandboxed = s
		case "sources":
			t, ok := v.(map[string]any)
			if !ok {
				errs = append(errs, pos.Errorf(at(k), "sources must be a table of private, internal and public path lists"))
				continue
			}
			start := at(k).Line
			for l := range t {
				if !isPrivacyLevel(l) {
					errs = append(errs, pos.Errorf(pos.Pos{File: file, Line: privacyKeyLine(data, l, start)}, "sources: unknown level %q (want private, internal or public)", l))
				}
			}
			for _, l := range PrivacyLevels {
				list, ok := t[l]
				if !ok {
					continue
				}
				where := pos.Pos{File: file, Line: privacyKeyLine(data, l, start)}
				for _, g := range strList("sources."+l, list, where) {
					p.Sources = append(p.Sources, SourceRule{Pattern: g, Level: l, Line: where.Line})
				}
			}
		default:
			errs = append(errs, pos.Errorf(at(k), "unknown key %q (want min_cell, sensitive_values, unsandboxed, sources)", k))
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

func isPrivacyLevel(l string) bool {
	for _, x := range PrivacyLevels {
		if x == l {
			return true
		}
	}
	return false
}
