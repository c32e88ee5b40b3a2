package stages

import (
	"context"
	"strings"

	"bethel/pkg/pos"
	"bethel/pkg/stage"
)

// summaryMeals writes out/summary/meals.csv:
// `meal,daughters,adults,guests,total`, one row per canonical banquet meal
// (BanquetMeals order, zero rows included), no TOTAL row (the meals
// partition the active registrations; the attendance TOTAL is the sum).
//
// Inputs: the normalized registrations, config/privacy.toml.
type summaryMeals struct{}

func init() { register(summaryMeals{}) }

func (summaryMeals) Name() string    { return "summary.meals" }
func (summaryMeals) Version() string { return "1" }

func (summaryMeals) Run(ctx context.Context, r *stage.Run) error {
	return categorySummary(ctx, r, "meals.csv", "meal", "banquet_meal", BanquetMeals)
}

// categorySummary counts a closed-set field by member type.
func categorySummary(ctx context.Context, r *stage.Run, suffix, first, field string, values []string) error {
	out, err := output(r, suffix)
	if err != nil {
		return err
	}
	fields := []string{field, "member_type"}
	if err := checkAggregate(r, out, map[string][]string{first: {field}},
		[]string{"daughters", "adults", "guests", "total"}, fields); err != nil {
		return err
	}
	rr, rowIdx, err := readRegistrations(ctx, r, "registration_id", field, "member_type")
	if err != nil {
		return err
	}
	t := newCountTable(values, tracking(r, out))
	ids, vs, mts := rr.col("registration_id"), rr.col(field), rr.col("member_type")
	rowsOf, members := rowOf(vs, t), memberOf(mts)
	for i := 0; i < rr.n; i++ {
		ti, ok := rowsOf.at(i)
		if !ok {
			return pos.Errorf(pos.Pos{File: rr.file, Line: rr.line(i)}, "%s: %s %q is not one of %s (is the file normalized?)", ids.at(i), field, vs.at(i), strings.Join(values, ", "))
		}
		m, ok := members.at(i)
		if !ok {
			return badMember(rr, i, ids.at(i), mts.at(i))
		}
		t.addAt(ti, m, rowIdx[i])
	}
	return writeMemberTable(r, out, first, t, func(k string) []string { return []string{k} }, nil, false, rr.file, fields,
		func(k string) string { return field + " = " + k })
}
