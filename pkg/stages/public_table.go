package stages

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/graphfile"
	"bethel/pkg/lineage"
	"bethel/pkg/pos"
	"bethel/pkg/stage"
	"bethel/pkg/suppress"
)

// publicTable is the public.table stage: the public twin of any summary,
// with small counts suppressed (every count from 1 to min_cell-1 hidden,
// totals included, and further cells hidden so that the range anyone can
// deduce for a hidden count from everything published is at least
// min_cell wide; pkg/suppress). The sample's public attendance is one,
// with labels = 2. Zeros are published.
//
//	[[node]]
//	name       = "public-meals"
//	stage      = "public.table"
//	inputs     = ["out/summary/meals.csv", "graph:"]
//	outputs    = ["out/public/meals.csv"]
//	visibility = "public"
//
// Inputs: one CSV, which must be written by a summary.count node (the
// pipeline's graph, "graph:", says who wrote it: a table of counts whose
// fields the engine checked when it classified that node, never a file of
// records or keys), and the workspace's privacy settings (min_cell).
// Output: the same header and rows, a suppressed count reading
// SuppressedMark. The leading label columns (params.labels, default 1:
// the rows field; attendance has two, bethel and bethel_name) are copied;
// every other column is a count. A last count column named "total" must
// be its row's sum, and a row whose first label is TOTAL, last, the
// column sums; both are checked and published suppressed like the rest.
// A summary of a sensitive field (declared countable) is thereby public
// only suppressed: summary.count itself is never more than internal.
type publicTable struct{}

func init() { register(publicTable{}) }

var _ stage.Declassifier = publicTable{}

// SuppressedMark stands for a suppressed count in public outputs.
const SuppressedMark = "*"

func (publicTable) Name() string    { return "public.table" }
func (publicTable) Version() string { return "1" }

// Declassifies implements stage.Declassifier: counts, suppressed for
// publication. The counted fields are those of the summary.count node it
// reads, which the engine checked (Run refuses any other input).
func (publicTable) Declassifies(map[string]any) (stage.Declassification, error) {
	return stage.Declassification{Suppressed: true}, nil
}

// publicTableLabels is params.labels: how many leading columns are labels.
func publicTableLabels(r *stage.Run) (int, error) {
	for k := range r.Params {
		if k != "labels" {
			return 0, fmt.Errorf("node %s: unknown param %q of public.table (want labels)", r.Node, k)
		}
	}
	v, ok := r.Params["labels"]
	if !ok {
		return 1, nil
	}
	n, ok := v.(int64)
	if !ok || n < 1 {
		return 0, fmt.Errorf("node %s: params.labels must be the number of leading label columns (at least 1), not %v", r.Node, v)
	}
	return int(n), nil
}

func (publicTable) Run(ctx context.Context, r *stage.Run) error {
	labels, err := publicTableLabels(r)
	if err != nil {
		return err
	}
	out, err := output(r, ".csv")
	if err != nil {
		return err
	}
	var in string
	for _, p := range r.Inputs {
		if strings.HasSuffix(p, ".csv") && !strings.HasPrefix(p, "config/") {
			if in != "" {
				return fmt.Errorf("node %s: public.table publishes one summary; it reads %s and %s", r.Node, in, p)
			}
			in = p
		}
	}
	if in == "" {
		return fmt.Errorf("node %s: public.table needs the summary to publish (a summary.count output) among its inputs", r.Node)
	}
	if err := publicTableSource(r, in); err != nil {
		return err
	}
	priv, err := PrivacyOf(r)
	if err != nil {
		return err
	}
	f, err := r.FS.Open(in)
	if err != nil {
		return err
	}
	header, rows, err := csvio.ReadAll(f, in)
	f.Close()
	if err != nil {
		return err
	}
	t, err := parseCountTable(in, header, rows, labels)
	if err != nil {
		return err
	}
	res, err := suppress.SuppressContext(ctx, t.cells, t.m, priv.MinCell)
	if err != nil {
		return fmt.Errorf("node %s: suppressing %s: %w", r.Node, in, err)
	}
	n := len(t.cells)
	// The input's totals, when it has them, are what the suppression
	// publishes; they must be the sums it computed.
	for i := 0; i < n; i++ {
		if t.hasTotal && t.totals[i] != res.Values[i][t.m] {
			return pos.Errorf(pos.Pos{File: in, Line: i + 2}, "column total: %d is not the sum of the row's counts (%d)", t.totals[i], res.Values[i][t.m])
		}
	}
	if t.totalRow != nil {
		for j, v := range t.totalRow {
			if v != res.Values[n][j] {
				return pos.Errorf(pos.Pos{File: in, Line: n + 2}, "TOTAL %s is %d, but the rows sum to %d", header[labels+j], v, res.Values[n][j])
			}
		}
	}
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	rec := lineageOf(r, out)
	cw := csvio.NewWriter(w)
	cw.Write(header)
	last := n - 1
	if t.totalRow != nil {
		last = n
	}
	for i := 0; i <= last; i++ {
		row := append([]string(nil), t.labels[i]...)
		for c := labels; c < len(header); c++ {
			j := c - labels
			if t.hasTotal && c == len(header)-1 {
				j = t.m
			}
			cell := strconv.Itoa(res.Values[i][j])
			how := "copied from " + in
			switch {
			case res.Primary[i][j]:
				cell, how = SuppressedMark, fmt.Sprintf("suppressed: below min_cell %d (%s)", priv.MinCell, priv.File)
			case res.Hidden[i][j]:
				cell, how = SuppressedMark, "suppressed: complementary, so that no small count can be narrowed down from the row and column sums"
			}
			row = append(row, cell)
			if rec != nil {
				rec.AddCell(lineage.Cell{Row: i, Col: header[c], Derivation: how,
					Fields: []string{header[c]}, Refs: []lineage.Ref{{Input: in, Row: i}}})
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// publicTableSource refuses an input that no summary.count node writes:
// what is published must be counts whose fields the engine checked.
func publicTableSource(r *stage.Run, in string) error {
	if !slices.Contains(r.Inputs, stage.GraphInput) {
		return fmt.Errorf("node %s: public.table needs the pipeline's graph, to check who wrote %s: add %q to the node's inputs", r.Node, in, stage.GraphInput)
	}
	data, err := fs.ReadFile(r.FS, stage.GraphInput)
	if err != nil {
		return err
	}
	nodes, err := graphfile.Decode(data)
	if err != nil {
		return fmt.Errorf("node %s: %w", r.Node, err)
	}
	for _, n := range nodes {
		if slices.Contains(n.Outputs, in) {
			if n.Stage != "summary.count" {
				return fmt.Errorf("node %s: public.table publishes only a summary.count output; %s is written by node %s (%s)", r.Node, in, n.Name, n.Stage+n.Command)
			}
			return nil
		}
	}
	return fmt.Errorf("node %s: public.table publishes only a summary.count output; no node writes %s", r.Node, in)
}

// countTable is a summary read for publication: per data row its labels
// and m counts, the total column (when the file has one) and the TOTAL
// row's counts (when it has one, nil otherwise).
type countTable struct {
	labels   [][]string
	cells    [][]int
	m        int
	hasTotal bool
	totals   []int
	totalRow []int // the TOTAL row's counts, total column last when hasTotal
}

func parseCountTable(file string, header []string, rows [][]string, labels int) (*countTable, error) {
	counts := len(header) - labels
	if counts < 1 {
		return nil, pos.Errorf(pos.Pos{File: file, Line: 1}, "no count column after the %d label columns (params.labels)", labels)
	}
	// A label is copied as it is: a count column taken for one (labels
	// set too high) would publish small counts. Past the first (the
	// rows field, which may be a number such as a bethel's), a column of
	// numbers only is a count.
	for c := 1; c < labels; c++ {
		numbers := len(rows) > 0
		for _, row := range rows {
			if _, err := strconv.Atoi(row[c]); err != nil {
				numbers = false
				break
			}
		}
		if numbers || header[c] == "total" || header[c] == "count" {
			return nil, pos.Errorf(pos.Pos{File: file, Line: 1}, "column %s holds counts, which cannot be a label copied as it is (params.labels is %d)", header[c], labels)
		}
	}
	t := &countTable{m: counts}
	if counts > 1 && header[len(header)-1] == "total" {
		t.hasTotal, t.m = true, counts-1
	}
	for ri, row := range rows {
		at := pos.Pos{File: file, Line: ri + 2}
		if t.totalRow != nil {
			return nil, pos.Errorf(at, "a row after the TOTAL row")
		}
		nums := make([]int, counts)
		for k := range nums {
			v := row[labels+k]
			x, err := strconv.Atoi(v)
			if err != nil || x < 0 || strings.TrimSpace(v) != v {
				return nil, pos.Errorf(at, "column %s: %q is not a count (params.labels says %d label columns)", header[labels+k], v, labels)
			}
			nums[k] = x
		}
		if row[0] == "TOTAL" {
			t.totalRow = nums
			t.labels = append(t.labels, row[:labels])
			continue
		}
		t.labels = append(t.labels, row[:labels])
		t.cells = append(t.cells, nums[:t.m])
		if t.hasTotal {
			t.totals = append(t.totals, nums[t.m])
		}
	}
	return t, nil
}
