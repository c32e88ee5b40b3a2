package stage

// Declassifier is implemented by a stage whose outputs may be less private
// than its inputs because they hold only aggregates: the engine lowers a
// node of it from private to internal (to public when Suppressed) after
// checking the declaration against the workspace's field model. A stage
// that is not a Declassifier produces outputs at least as private as the
// most private thing its node reads.
type Declassifier interface {
	Stage
	// Declassifies says what a node of the stage with these params reads
	// and emits. It is called before anything runs, with the node's
	// decoded params; an error is a load error of the node.
	Declassifies(params map[string]any) (Declassification, error)
}

// Declassification is a stage's declaration of the fields it reads and of
// what its outputs hold. Fields are canonical field names.
type Declassification struct {
	// Reads are the fields the stage reads from its private inputs.
	Reads []string
	// Counts are the fields whose categories the outputs count records
	// by. Each must be non-sensitive, or sensitive and countable.
	Counts []string
	// Values are the fields whose values the outputs copy (a record key,
	// a bethel number). Each must be non-sensitive.
	Values []string
	// Suppressed is set when the outputs suppress small counts, which a
	// public output requires.
	Suppressed bool
}
