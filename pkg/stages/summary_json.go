package stages

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/lineage"
	"bethel/pkg/stage"
)

// summaryJSON writes out/summary/summary.json: every summary CSV of its
// inputs in one document, for tools that prefer JSON.
//
// Format: an object whose keys are the inputs' base names without ".csv"
// (sorted), each an array of row objects whose keys follow the CSV header
// order; cells that are decimal integers become JSON numbers, every other
// cell a string. Indented with two spaces, "\n" line ends, a final newline.
//
//	{
//	  "attendance": [
//	    {"bethel": 2, "bethel_name": "Twin Oaks", "daughters": 31, ...},
//
// It reads only summary outputs (internal files), never private data, so
// it makes no privacy decision of its own. Its one param, summaries =
// "all", is the loader's: it adds every summary.count output to the
// inputs (docs/pipeline.md).
type summaryJSON struct{}

func init() { register(summaryJSON{}) }

func (summaryJSON) Name() string    { return "summary.json" }
func (summaryJSON) Version() string { return "2" }

func (summaryJSON) Run(ctx context.Context, r *stage.Run) error {
	out, err := output(r, ".json")
	if err != nil {
		return err
	}
	type table struct {
		name, file string
		header     []string
		rows       [][]string
	}
	var tables []table
	for _, in := range r.Inputs {
		if !strings.HasSuffix(in, ".csv") {
			continue
		}
		f, err := r.FS.Open(in)
		if err != nil {
			return err
		}
		t := table{name: strings.TrimSuffix(path.Base(in), ".csv"), file: in}
		t.header, t.rows, err = csvio.ReadAll(f, in)
		f.Close()
		if err != nil {
			return err
		}
		tables = append(tables, t)
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].name < tables[j].name })
	for i := 1; i < len(tables); i++ {
		if tables[i].name == tables[i-1].name {
			return fmt.Errorf("node %s: two inputs are named %s.csv (%s, %s)", r.Node, tables[i].name, tables[i-1].file, tables[i].file)
		}
	}
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	rec := lineageOf(r, out)
	bw := bufio.NewWriter(w)
	bw.WriteString("{")
	for ti, t := range tables {
		if ti > 0 {
			bw.WriteString(",")
		}
		fmt.Fprintf(bw, "\n  %s: [", jsonString(t.name))
		for ri, row := range t.rows {
			if ri > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    {")
			for ci, h := range t.header {
				if ci > 0 {
					bw.WriteString(", ")
				}
				bw.WriteString(jsonString(h))
				bw.WriteString(": ")
				bw.WriteString(jsonScalar(row[ci]))
				if rec != nil {
					rec.AddCell(lineage.Cell{Row: -1, Col: fmt.Sprintf("/%s/%d/%s", jsonPointerEscape(t.name), ri, jsonPointerEscape(h)),
						Derivation: fmt.Sprintf("copied from %s row %d column %s", t.file, ri+2, h), // rows as a spreadsheet shows them: the header is row 1
						Fields:     []string{h}, Refs: []lineage.Ref{{Input: t.file, Row: ri}}})
				}
			}
			bw.WriteString("}")
		}
		if len(t.rows) > 0 {
			bw.WriteString("\n  ")
		}
		bw.WriteString("]")
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// jsonScalar writes non-negative decimal integers (no leading zeros, which would change
// a bethel "012" into 12 silently) as numbers and everything else as
// strings.
func jsonScalar(s string) string {
	if s != "" && (s == "0" || s[0] != '0') && len(s) < 16 && strings.Trim(s, "0123456789") == "" {
		return s
	}
	return jsonString(s)
}

func jsonPointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
