package stages

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/schema"
	"bethel/pkg/stage"
)

// The stage capabilities (pkg/stage's CellMapper and ExportReader) the
// built-in stages declare, so that the CLI asks them instead of knowing
// their names.

var (
	_ stage.CellMapper   = xlsxWorkbook{}
	_ stage.CellMapper   = roster{}
	_ stage.ExportReader = registrationsMap{}
	_ stage.ExportReader = registrationsNormalize{}
)

// MapCell answers for a workbook cell: a sheet copies one CSV input, the
// header and rows in order, so the cell is the same row and column of
// that CSV; split by a column, a sheet holds the rows of one value, in
// the CSV's order.
func (xlsxWorkbook) MapCell(r *stage.Run, output, sheet string, row, col int) (stage.CellRef, error) {
	_, splitBy, _, err := xlsxParams(r)
	if err != nil {
		return stage.CellRef{}, err
	}
	if splitBy != "" {
		var csvs []string
		for _, in := range r.Inputs {
			if strings.HasSuffix(in, ".csv") {
				csvs = append(csvs, in)
			}
		}
		if len(csvs) != 1 {
			return stage.CellRef{}, fmt.Errorf("split_by takes one .csv input, have %d", len(csvs))
		}
		return splitSheetCell(r.FS, csvs[0], splitBy, sheet, row, col)
	}
	csv, err := WorkbookSheet(r.Inputs, r.Params, sheet)
	if err != nil {
		return stage.CellRef{}, err
	}
	return stage.CellRef{Path: csv, Row: row, Col: col}, nil
}

// MapCell answers for a cell of the roster's workbook: its sheets are
// those of its CSV split by the bethel column (the first), as
// xlsx.workbook splits a CSV, so the cell is one of the CSV's.
func (roster) MapCell(r *stage.Run, output, sheet string, row, col int) (stage.CellRef, error) {
	csvOut, bookOut, err := rosterOutputs(r)
	if err != nil {
		return stage.CellRef{}, err
	}
	if output != bookOut {
		return stage.CellRef{}, fmt.Errorf("%s is not the roster's workbook", output)
	}
	f, err := r.FS.Open(csvOut)
	if err != nil {
		return stage.CellRef{}, err
	}
	cr, err := csvio.NewReader(f, csvOut)
	f.Close()
	if err != nil {
		return stage.CellRef{}, err
	}
	return splitSheetCell(r.FS, csvOut, cr.Header()[0], sheet, row, col)
}

// splitSheetCell maps cell (row, col) of the sheet named sheet (any
// case), in a workbook of csv split by column splitBy, to the cell of csv
// it shows: the sheets and their rows are read from csv as the workbook
// was written.
func splitSheetCell(fsys fs.FS, csv, splitBy, sheet string, row, col int) (stage.CellRef, error) {
	f, err := fsys.Open(csv)
	if err != nil {
		return stage.CellRef{}, err
	}
	sheets, err := readSheets(f, csv, "", splitBy)
	f.Close()
	if err != nil {
		return stage.CellRef{}, err
	}
	if err := uniqueSheetNames(sheets); err != nil {
		return stage.CellRef{}, err
	}
	var all []string
	for _, s := range sheets {
		if !strings.EqualFold(s.name, sheet) {
			all = append(all, s.name)
			continue
		}
		if row-2 >= len(s.rows) {
			return stage.CellRef{}, fmt.Errorf("sheet %s has %d data rows (rows 2 to %d)", s.name, len(s.rows), len(s.rows)+1)
		}
		return stage.CellRef{Path: csv, Row: int(s.rows[row-2]) + 2, Col: col}, nil
	}
	return stage.CellRef{}, fmt.Errorf("no sheet %q; the sheets are %s", sheet, strings.Join(all, ", "))
}

// ExtraColumns reads the header of the node's export.
func (registrationsMap) ExtraColumns(r *stage.Run) ([]stage.ExtraColumns, error) {
	return exportExtraColumns(r)
}

// ExtraColumns reads the header of the node's export (a one-node
// pipeline maps and patches in one stage).
func (registrationsNormalize) ExtraColumns(r *stage.Run) ([]stage.ExtraColumns, error) {
	return exportExtraColumns(r)
}

// exportExtraColumns returns the columns no field claims of every CSV
// input that is not a directory a field refers to (config/bethels.csv):
// the exports. It reads the header lines only.
func exportExtraColumns(r *stage.Run) ([]stage.ExtraColumns, error) {
	if r.Fields == "" {
		return nil, nil
	}
	sch, err := schema.Load(r.FS, r.Fields)
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, f := range sch.Fields {
		if f.Reference != nil {
			refs = append(refs, f.Reference.Resource)
		}
	}
	var out []stage.ExtraColumns
	for _, in := range r.Inputs {
		if !strings.HasSuffix(in, ".csv") || slices.Contains(refs, in) {
			continue
		}
		if extra := headerExtra(r, in, sch); len(extra) > 0 {
			out = append(out, stage.ExtraColumns{Export: in, Columns: extra})
		}
	}
	return out, nil
}

// headerExtra returns the columns of export's header no field claims;
// nil when it cannot be read.
func headerExtra(r *stage.Run, export string, sch *schema.Schema) []string {
	f, err := r.FS.Open(export)
	if err != nil {
		return nil
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, export)
	if err != nil {
		return nil
	}
	cols, _ := sch.Columns(export, cr.Header())
	if cols == nil {
		return nil
	}
	return cols.Extra
}
