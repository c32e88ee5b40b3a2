package stages

import (
	"context"
	"strconv"

	"bethel/pkg/pos"
	"bethel/pkg/stage"
)

// summaryAttendance writes out/summary/attendance.csv:
// `bethel,bethel_name,daughters,adults,guests,total`, one row per bethel
// of config/bethels.csv (by number, zero rows included, so the table's
// shape does not depend on who registered), then a TOTAL row.
//
// Inputs: the normalized registrations, config/bethels.csv,
// config/privacy.toml. No params.
type summaryAttendance struct{}

func init() { register(summaryAttendance{}) }

func (summaryAttendance) Name() string    { return "summary.attendance" }
func (summaryAttendance) Version() string { return "1" }

// AttendanceColumns is the header of attendance.csv (internal and public).
var AttendanceColumns = []string{"bethel", "bethel_name", "daughters", "adults", "guests", "total"}

func (summaryAttendance) Run(ctx context.Context, r *stage.Run) error {
	out, err := output(r, "attendance.csv")
	if err != nil {
		return err
	}
	fields := []string{"bethel", "member_type"}
	if err := checkAggregate(r, out, map[string][]string{"bethel": {"bethel"}, "bethel_name": {"bethel"}},
		[]string{"daughters", "adults", "guests", "total"}, fields); err != nil {
		return err
	}
	bethels, err := BethelsOf(r)
	if err != nil {
		return err
	}
	t, input, err := attendanceCounts(ctx, r, bethels, tracking(r, out))
	if err != nil {
		return err
	}
	label := func(k string) []string {
		n, _ := strconv.Atoi(k)
		return []string{k, bethels.ByNumber[n].Name}
	}
	return writeMemberTable(r, out, "bethel", t, label, []string{"bethel_name"}, true, input, fields,
		func(k string) string { return "bethel = " + k })
}

// attendanceCounts counts active registrations by bethel and member type.
func attendanceCounts(ctx context.Context, r *stage.Run, bethels *Bethels, track bool) (*countTable, string, error) {
	rr, rowIdx, err := readRegistrations(ctx, r, "registration_id", "bethel", "member_type")
	if err != nil {
		return nil, "", err
	}
	keys := make([]string, len(bethels.List))
	for i, b := range bethels.List {
		keys[i] = strconv.Itoa(b.Number)
	}
	t := newCountTable(keys, track)
	ids, bs, mts := rr.col("registration_id"), rr.col("bethel"), rr.col("member_type")
	rowsOf, members := rowOf(bs, t), memberOf(mts)
	for i := 0; i < rr.n; i++ {
		ti, ok := rowsOf.at(i)
		if !ok {
			return nil, "", pos.Errorf(pos.Pos{File: rr.file, Line: rr.line(i)}, "%s: bethel %q is not in %s", ids.at(i), bs.at(i), bethels.File)
		}
		m, ok := members.at(i)
		if !ok {
			return nil, "", badMember(rr, i, ids.at(i), mts.at(i))
		}
		t.addAt(ti, m, rowIdx[i])
	}
	return t, rr.file, nil
}
