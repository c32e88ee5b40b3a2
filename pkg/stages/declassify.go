package stages

import "bethel/pkg/stage"

// The built-in stages that turn private registrations into aggregates
// declare what they read and emit (stage.Declassifier); the engine checks
// each declaration against the workspace's field model before anything
// runs, and only then lets their outputs be internal (public when they
// suppress small counts).

var (
	_ stage.Declassifier = summaryAttendance{}
	_ stage.Declassifier = summaryMeals{}
	_ stage.Declassifier = summaryTShirts{}
	_ stage.Declassifier = summaryDays{}
	_ stage.Declassifier = summaryHousing{}
	_ stage.Declassifier = summaryDietary{}
	_ stage.Declassifier = publicAttendance{}
	_ stage.Declassifier = registrationsDuplicates{}
	_ stage.Declassifier = program{}
	_ stage.Declassifier = patchesReport{}
)

// counts declares a table of counts of fields by member type.
func counts(fields ...string) stage.Declassification {
	return stage.Declassification{Reads: append(fields, "payment_status"), Counts: fields}
}

// Declassifies implements stage.Declassifier: counts by bethel and member type.
func (summaryAttendance) Declassifies(map[string]any) (stage.Declassification, error) {
	d := counts("bethel", "member_type")
	d.Values = []string{"bethel"}
	return d, nil
}

// Declassifies implements stage.Declassifier: counts by meal and member type.
func (summaryMeals) Declassifies(map[string]any) (stage.Declassification, error) {
	return counts("banquet_meal", "member_type"), nil
}

// Declassifies implements stage.Declassifier: counts by size.
func (summaryTShirts) Declassifies(map[string]any) (stage.Declassification, error) {
	return counts("tshirt_size"), nil
}

// Declassifies implements stage.Declassifier: counts by day and member type.
func (summaryDays) Declassifies(map[string]any) (stage.Declassification, error) {
	return counts("days_attending", "member_type"), nil
}

// Declassifies implements stage.Declassifier: counts by housing.
func (summaryHousing) Declassifies(map[string]any) (stage.Declassification, error) {
	return counts("housing"), nil
}

// Declassifies implements stage.Declassifier: counts of the dietary
// categories found in two sensitive fields, which the field model must
// mark countable.
func (summaryDietary) Declassifies(map[string]any) (stage.Declassification, error) {
	return counts("dietary_needs", "allergies"), nil
}

// Declassifies implements stage.Declassifier: attendance counts with small
// cells suppressed, fit for publication.
func (publicAttendance) Declassifies(map[string]any) (stage.Declassification, error) {
	return stage.Declassification{Counts: []string{"bethel", "member_type"}, Values: []string{"bethel"}, Suppressed: true}, nil
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
