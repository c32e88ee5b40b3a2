package stage

// Capabilities: what a stage declares about its node beyond running it,
// so that a command of the CLI asks the stage instead of knowing stage
// names. Each is an optional interface a Stage may implement; the CLI
// looks the node's stage up in the Registry, asserts the interface, and
// hands it the node's Run as a query (graph.QueryRun: declared inputs
// only, no outputs). A new stage gains a CLI feature by implementing one,
// with no CLI change.

// CellMapper is a stage whose output cells copy cells of its CSV inputs
// (a workbook's sheets): bethel why answers for a cell of such an output
// (WORKBOOK.xlsx!SHEET!C3) through the lineage of the input cell it shows.
type CellMapper interface {
	// MapCell returns the input cell that cell (row, col) of sheet in
	// output shows. Rows count as a spreadsheet shows them (the header
	// is row 1), columns from 1. r may also open the node's outputs (a
	// sheet may copy another output of the node: the roster's workbook
	// and its CSV). An error says why there is no such cell (no sheet of
	// that name, a row past the sheet's end).
	MapCell(r *Run, output, sheet string, row, col int) (CellRef, error)
}

// CellRef is a cell of a CSV file: Row as a spreadsheet counts it (the
// header is row 1), Col from 1.
type CellRef struct {
	Path     string
	Row, Col int
}

// ExportReader is a stage that reads exports through the workspace's
// field declaration: bethel status lists the columns of each export that
// no field claims (a build ignores them; a new question on the form needs
// a field to be counted).
type ExportReader interface {
	// ExtraColumns returns, for each export among r's inputs whose
	// header has columns no field claims, those columns in header
	// order. An export it cannot read is left out: the build reports it.
	ExtraColumns(r *Run) ([]ExtraColumns, error)
}

// ExtraColumns are the columns of one export no field claims.
type ExtraColumns struct {
	Export  string
	Columns []string
}
