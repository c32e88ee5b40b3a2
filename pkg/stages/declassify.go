package stages

import (
	"fmt"

	"bethel/pkg/stage"
)

// The built-in stages that turn private registrations into aggregates
// declare what they read and emit (stage.Declassifier); the engine checks
// each declaration against the workspace's field model before anything
// runs, and only then lets their outputs be internal (public when they
// suppress small counts).

var (
	_ stage.Declassifier = summaryCount{}
	_ stage.Declassifier = registrationsDuplicates{}
	_ stage.Declassifier = program{}
	_ stage.Declassifier = patchesReport{}
)

// counts declares a table of counts of fields.
func counts(fields ...string) stage.Declassification {
	return stage.Declassification{Reads: append(fields, "payment_status"), Counts: fields}
}

// Declassifies implements stage.Declassifier: counts by the rows field (or
// the keyword categories of several) and the columns field.
func (summaryCount) Declassifies(params map[string]any) (stage.Declassification, error) {
	var fields []string
	switch v := params["rows"].(type) {
	case string:
		fields = append(fields, v)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				fields = append(fields, s)
			}
		}
	}
	if c, ok := params["columns"].(string); ok && c != "" {
		fields = append(fields, c)
	}
	if len(fields) == 0 {
		return stage.Declassification{}, fmt.Errorf("summary.count: params.rows names no field")
	}
	return counts(fields...), nil
}

// Declassifies implements stage.Declassifier: pairs of record keys found
// by comparing names, birth dates and emails, none of which it writes.
func (registrationsDuplicates) Declassifies(map[string]any) (stage.Declassification, error) {
	return stage.Declassification{
		Reads:  []string{"registration_id", "first_name", "last_name", "date_of_birth", "email", "payment_status"},
		Values: []string{"registration_id"},
	}, nil
}

// Declassifies implements stage.Declassifier: the program, with counts of
// attendees by bethel and day.
func (program) Declassifies(map[string]any) (stage.Declassification, error) {
	return counts("bethel", "days_attending"), nil
}

// Declassifies implements stage.Declassifier: every patch with its record
// key and the values of the non-sensitive fields it changed (the stage
// withholds sensitive ones).
func (patchesReport) Declassifies(map[string]any) (stage.Declassification, error) {
	return stage.Declassification{Reads: []string{"registration_id", "submitted_at"}, Values: []string{"registration_id", "submitted_at"}}, nil
}
