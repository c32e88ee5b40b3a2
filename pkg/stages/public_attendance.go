package stages

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"bethel/pkg/csvio"
	"bethel/pkg/lineage"
	"bethel/pkg/pos"
	"bethel/pkg/stage"
	"bethel/pkg/suppress"
)

// publicAttendance writes out/public/attendance.csv: the internal
// attendance summary with small counts suppressed, fit to publish.
//
// Every count from 1 to min_cell-1 (config/privacy.toml, default 5) is
// suppressed, totals included, and further cells are suppressed so that
// no hidden count can be worked out from the published ones through the
// row, column, TOTAL row and total column sums (pkg/suppress has the
// algorithm and the proof sketch). A suppressed cell reads SuppressedMark.
// Zeros are published. Bethel numbers and names are public directory data.
//
// Inputs: out/summary/attendance.csv (the internal table, whose TOTAL row
// and total column are recomputed and checked), config/privacy.toml.
// Params: none; the threshold is min_cell so that it is declared once.
// The stage refuses any visibility other than public only in the sense
// that it is meant for public nodes; it reads no private file.
type publicAttendance struct{}

func init() { register(publicAttendance{}) }

func (publicAttendance) Name() string    { return "public.attendance" }
func (publicAttendance) Version() string { return "1" }

// AttendanceColumns is the header of attendance.csv (internal and public).
var AttendanceColumns = []string{"bethel", "bethel_name", "daughters", "adults", "guests", "total"}

// SuppressedMark stands for a suppressed count in public outputs.
const SuppressedMark = "*"

func (publicAttendance) Run(ctx context.Context, r *stage.Run) error {
	out, err := output(r, "attendance.csv")
	if err != nil {
		return err
	}
	var in string
	for _, p := range r.Inputs {
		if p != out && len(p) >= len("attendance.csv") && p[len(p)-len("attendance.csv"):] == "attendance.csv" {
			in = p
		}
	}
	if in == "" {
		return fmt.Errorf("node %s: stage public.attendance needs the internal attendance.csv as an input", r.Node)
	}
	priv, err := PrivacyOf(r)
	if err != nil {
		return err
	}
	f, err := r.FS.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, in)
	if err != nil {
		return err
	}
	idx, err := cr.Require(AttendanceColumns...)
	if err != nil {
		return err
	}
	var labels [][2]string
	var cells [][]int
	var total []int
	totalLine := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		at := pos.Pos{File: in, Line: rec.Line}
		if totalLine > 0 {
			return pos.Errorf(at, "a row after the TOTAL row")
		}
		nums := make([]int, 4)
		for k := 0; k < 4; k++ {
			n, err := strconv.Atoi(rec.Fields[idx[2+k]])
			if err != nil || n < 0 {
				return pos.Errorf(at, "column %s: %q is not a count", AttendanceColumns[2+k], rec.Fields[idx[2+k]])
			}
			nums[k] = n
		}
		if rec.Fields[idx[0]] == "TOTAL" {
			total, totalLine = nums, rec.Line
			continue
		}
		if nums[0]+nums[1]+nums[2] != nums[3] {
			return pos.Errorf(at, "bethel %s: total %d is not the sum of its counts", rec.Fields[idx[0]], nums[3])
		}
		labels = append(labels, [2]string{rec.Fields[idx[0]], rec.Fields[idx[1]]})
		cells = append(cells, nums[:3])
	}
	if totalLine == 0 {
		return pos.Errorf(pos.Pos{File: in}, "no TOTAL row")
	}
	res := suppress.Suppress(cells, 3, priv.MinCell)
	n := len(cells)
	for k := 0; k < 4; k++ {
		if res.Values[n][k] != total[k] {
			return pos.Errorf(pos.Pos{File: in, Line: totalLine}, "TOTAL %s is %d, but the rows sum to %d", AttendanceColumns[2+k], total[k], res.Values[n][k])
		}
	}
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	rec := lineageOf(r, out)
	cw := csvio.NewWriter(w)
	cw.Write(AttendanceColumns)
	for i := 0; i <= n; i++ {
		row := []string{"TOTAL", ""}
		if i < n {
			row = []string{labels[i][0], labels[i][1]}
		}
		for j := 0; j < 4; j++ {
			cell := strconv.Itoa(res.Values[i][j])
			how := "copied from " + in
			switch {
			case res.Primary[i][j]:
				cell, how = SuppressedMark, fmt.Sprintf("suppressed: below min_cell %d (%s)", priv.MinCell, priv.File)
			case res.Hidden[i][j]:
				cell, how = SuppressedMark, "suppressed: complementary, so that no small count can be recovered from the row and column sums"
			}
			row = append(row, cell)
			if rec != nil {
				rec.AddCell(lineage.Cell{Row: i, Col: AttendanceColumns[2+j], Derivation: how,
					Fields: []string{AttendanceColumns[2+j]}, Refs: []lineage.Ref{{Input: in, Row: i}}})
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	return cw.Flush()
}
