package stages

import (
	"context"
	"strings"

	"bethel/pkg/pos"
	"bethel/pkg/stage"
)

// summaryDays writes out/summary/days.csv:
// `day,daughters,adults,guests,total`, one row per configured day (the
// [days] order of config/values.toml). A registration counts once on each
// day it attends, so the rows do not sum to the attendance TOTAL; each row
// is at most that total.
//
// Inputs: the normalized registrations, config/values.toml,
// config/privacy.toml.
type summaryDays struct{}

func init() { register(summaryDays{}) }

func (summaryDays) Name() string    { return "summary.days" }
func (summaryDays) Version() string { return "1" }

func (summaryDays) Run(ctx context.Context, r *stage.Run) error {
	out, err := output(r, "days.csv")
	if err != nil {
		return err
	}
	fields := []string{"days_attending", "member_type"}
	if err := checkAggregate(r, out, map[string][]string{"day": {"days_attending"}},
		[]string{"daughters", "adults", "guests", "total"}, fields); err != nil {
		return err
	}
	cfg, err := summaryValues(r)
	if err != nil {
		return err
	}
	rr, rowIdx, err := readRegistrations(ctx, r, "registration_id", "days_attending", "member_type")
	if err != nil {
		return err
	}
	t := newCountTable(cfg.days, tracking(r, out))
	ids, ds, mts := rr.col("registration_id"), rr.col("days_attending"), rr.col("member_type")
	members := memberOf(mts)
	// Per value: the table rows of its days, or ok false naming the
	// first day that is not configured.
	type days struct {
		rows []int
		bad  string
	}
	daysOf := newByValue(ds, func(v string) (days, bool) {
		var x days
		if v == "" {
			return x, true
		}
		for _, d := range strings.Split(v, ";") {
			ti, ok := t.pos[d]
			if !ok {
				return days{bad: d}, false
			}
			x.rows = append(x.rows, ti)
		}
		return x, true
	})
	for i := 0; i < rr.n; i++ {
		m, ok := members.at(i)
		if !ok {
			return badMember(rr, i, ids.at(i), mts.at(i))
		}
		x, ok := daysOf.at(i)
		if !ok {
			return pos.Errorf(pos.Pos{File: rr.file, Line: rr.line(i)}, "%s: day %q is not a configured day (%s)", ids.at(i), x.bad, strings.Join(cfg.days, ", "))
		}
		for _, ti := range x.rows {
			t.addAt(ti, m, rowIdx[i])
		}
	}
	return writeMemberTable(r, out, "day", t, func(k string) []string { return []string{k} }, nil, false, rr.file, fields,
		func(k string) string { return "days_attending containing " + k })
}

// summaryValues loads config/values.toml for the value orders summaries
// list (days, housing), with the registrations stage's own loader so that
// both read the file the same way.
func summaryValues(r *stage.Run) (*regConfig, error) {
	file, err := r.Input(ValuesFile)
	if err != nil {
		return nil, err
	}
	c := &regConfig{}
	if err := regLoadValues(r.FS, file, c); err != nil {
		return nil, err
	}
	return c, nil
}
