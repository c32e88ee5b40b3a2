package stages

import (
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
	_ stage.ExportReader = registrationsMap{}
	_ stage.ExportReader = registrationsNormalize{}
)

// MapCell answers for a workbook cell: a sheet copies one CSV input, the
// header and rows in order, so the cell is the same row and column of
// that CSV.
func (xlsxWorkbook) MapCell(r *stage.Run, output, sheet string, row, col int) (stage.CellRef, error) {
	csv, err := WorkbookSheet(r.Inputs, r.Params, sheet)
	if err != nil {
		return stage.CellRef{}, err
	}
	return stage.CellRef{Path: csv, Row: row, Col: col}, nil
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
