package graph

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"bethel/pkg/pipeline"
	"bethel/pkg/pos"
	"bethel/pkg/scrub"
	"bethel/pkg/stage"
)

// The leak gate. After every build that ran or restored anything, before
// success is reported, the internal and public outputs written are
// scanned (pkg/scrub) for the sensitive values the privacy declaration's
// private sets list (`sensitive_values`, written by a node from the
// exports and patches). A known value found fails the build naming the
// node, the output and the line, never the value; the output is removed,
// so that it is neither published nor taken for up to date (its node runs
// again, and is checked again, next time). When a set itself was rebuilt,
// every internal and public output is scanned: newly known values may be
// in old outputs too. A workbook (.xlsx) is scanned member by member.
//
// A single word that is also a known value (a first name that names a
// bethel too) is not proof of a leak and passes; several words of one
// value, a phone number or a birth date is. So are the categories of a
// countable field (an allergy written "gluten free" on the form is also
// the dietary summary's category): the outputs of a declassifier that
// counts a countable field hold category labels by its checked contract,
// and what the sets find there may appear elsewhere (the site shows that
// table).

// LeakError is a build stopped by the leak gate.
type LeakError struct {
	Hits pos.List
}

func (e *LeakError) Error() string {
	return "leak gate: sensitive values of the inputs in outputs that are not private; they were removed:\n" + e.Hits.Error()
}

// leakGate scans what the build wrote; res says which nodes ran or were
// restored.
func (e *engine) leakGate(nodes []*pipeline.Node, res *Result) error {
	if e.decl == nil || len(e.decl.SensitiveValues) == 0 || len(res.Ran)+len(res.Restored) == 0 {
		return nil
	}
	wrote := make(map[string]bool, len(res.Ran)+len(res.Restored))
	for _, l := range [][]string{res.Ran, res.Restored} {
		for _, n := range l {
			wrote[n] = true
		}
	}
	public := false // a node that is not private wrote something
	for _, n := range e.p.Nodes {
		public = public || wrote[n.Name] && n.Visibility != stage.Private
	}
	if !public {
		return nil // a new set alone: the next build that writes checks
	}
	var sets []*scrub.Set
	all := false
	for _, f := range e.decl.SensitiveValues {
		if w := e.p.Producer[f]; w != nil && wrote[w.Name] {
			all = true
		}
		s, err := readSet(e.abs(f))
		if errors.Is(err, fs.ErrNotExist) {
			continue // not built (yet): nothing known to look for
		}
		if err != nil {
			return fmt.Errorf("leak gate: %s: %w", f, err)
		}
		sets = append(sets, s)
	}
	if len(sets) == 0 {
		return nil
	}
	labels := map[string]bool{} // countable categories, normalized
	counts := map[*pipeline.Node]bool{}
	for _, n := range e.p.Nodes {
		if dc := e.declass[n]; dc != nil && e.countsCountable(dc) {
			counts[n] = true
			for _, o := range n.Outputs {
				b, err := os.ReadFile(e.abs(o))
				if err != nil {
					continue
				}
				for _, s := range sets {
					for _, h := range s.Find(b) {
						labels[normLabel(b[h.Offset:h.Offset+h.Length])] = true
					}
				}
			}
		}
	}
	var hits pos.List
	for _, n := range nodes {
		if n.Visibility == stage.Private || counts[n] || !all && !wrote[n.Name] {
			continue
		}
		for _, o := range n.Outputs {
			b, err := os.ReadFile(e.abs(o))
			if err != nil {
				continue
			}
			lines := map[int]bool{}
			where := o
			for _, part := range parts(o, b) {
				for _, s := range sets {
					for _, h := range s.Find(part.b) {
						if h.Kind == scrub.Known && !embedded(part.b, h) && !labels[normLabel(part.b[h.Offset:h.Offset+h.Length])] {
							if len(lines) == 0 && part.name != "" {
								where = o + " (" + part.name + ")"
							}
							lines[h.Line] = true
						}
					}
				}
				if len(lines) > 0 {
					break
				}
			}
			if len(lines) == 0 {
				continue
			}
			first, count := 0, len(lines)
			for l := range lines {
				if first == 0 || l < first {
					first = l
				}
			}
			more := ""
			if count > 1 {
				more = fmt.Sprintf(" (and %d more lines)", count-1)
			}
			hits = append(hits, pos.Errorf(pos.Pos{File: where, Line: first},
				"node %q wrote a sensitive value of the inputs into this %s output%s", n.Name, n.Visibility, more))
			if err := os.Remove(e.abs(o)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	if len(hits) == 0 {
		return nil
	}
	return &LeakError{Hits: hits}
}

// part is one text of an output: the whole file, or one member of a
// workbook (an .xlsx is a zip of XML parts, its cells in sharedStrings.xml
// and the sheets).
type part struct {
	name string
	b    []byte
}

// maxPart bounds what one workbook member may expand to.
const maxPart = 256 << 20

// parts splits an output into the texts to scan.
func parts(path string, b []byte) []part {
	if !strings.HasSuffix(path, ".xlsx") {
		return []part{{b: b}}
	}
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return []part{{b: b}}
	}
	var out []part
	for _, f := range z.File {
		if !strings.HasSuffix(f.Name, ".xml") || f.UncompressedSize64 > maxPart {
			continue
		}
		r, err := f.Open()
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(r, maxPart))
		r.Close()
		if err == nil {
			out = append(out, part{f.Name, data})
		}
	}
	return out
}

// countsCountable reports whether a declassification counts a sensitive,
// countable field.
func (e *engine) countsCountable(dc *stage.Declassification) bool {
	for _, f := range dc.Counts {
		if e.decl.Sensitive(f) && e.decl.Countable(f) {
			return true
		}
	}
	return false
}

// embedded reports whether a hit is part of a longer run of letters,
// digits and '/', '+', '=' (base64, a path): "1/1/72" inside an encoded
// lineage blob is no birth date.
func embedded(b []byte, h scrub.Hit) bool {
	in := func(i int) bool {
		if i < 0 || i >= len(b) {
			return false
		}
		c := b[i]
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '+' || c == '='
	}
	return in(h.Offset-1) || in(h.Offset+h.Length)
}

// normLabel is a found text lower-cased with its spacing collapsed.
func normLabel(b []byte) string {
	return strings.ToLower(strings.Join(strings.Fields(string(b)), " "))
}

func readSet(path string) (*scrub.Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return scrub.ReadSet(bufio.NewReaderSize(f, 1<<16))
}
