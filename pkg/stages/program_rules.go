package stages

import (
	"fmt"
	"sort"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/pos"
	"bethel/pkg/stage"
)

// Issue is one schedule-rule finding.
type Issue struct {
	Rule, Level string
	Session     string
	Other       string // the other session of a pair, or ""
	Detail      string
	At          pos.Pos
}

// checkRules checks the configured schedule rules on the active sessions:
//
//   - room_double_booked: two sessions overlap in time in one room;
//   - bethel_double_booked: two overlapping sessions expect the same bethel
//     ("all" expects every bethel);
//   - over_capacity: expected attendance above the room's capacity;
//   - outside_day: a session starts before its day opens or ends after it
//     closes.
//
// Intervals are half-open: a session ending at 10:00 and one starting at
// 10:00 do not overlap. Rules at level "off" are skipped. Findings are in
// rule order, then by session.
func checkRules(ps *programState) []Issue {
	var out []Issue
	level := ps.sched.Rules
	ss := ps.sessions
	overlap := func(a, b *Session) bool { return a.Start.Before(b.End) && b.Start.Before(a.End) }
	span := func(s *Session) string {
		return fmt.Sprintf("%s %s-%s", s.Day, formatClock(s.StartMin), formatClock(s.EndMin))
	}
	if level["room_double_booked"] != "off" {
		for i, a := range ss {
			for _, b := range ss[i+1:] {
				if a.Room == b.Room && overlap(a, b) {
					out = append(out, Issue{Rule: "room_double_booked", Level: level["room_double_booked"], Session: a.ID, Other: b.ID, At: b.At,
						Detail: fmt.Sprintf("%s (%s) and %s (%s) are both in %s", a.ID, span(a), b.ID, span(b), a.Room)})
				}
			}
		}
	}
	if level["bethel_double_booked"] != "off" {
		for i, a := range ss {
			for _, b := range ss[i+1:] {
				if !overlap(a, b) {
					continue
				}
				if both := commonBethels(a.Bethels, b.Bethels); both != "" {
					out = append(out, Issue{Rule: "bethel_double_booked", Level: level["bethel_double_booked"], Session: a.ID, Other: b.ID, At: b.At,
						Detail: fmt.Sprintf("%s (%s, %s) and %s (%s, %s) both expect bethels %s", a.ID, span(a), a.Room, b.ID, span(b), b.Room, both)})
				}
			}
		}
	}
	if level["over_capacity"] != "off" {
		for _, s := range ss {
			if s.Expected > s.Capacity {
				out = append(out, Issue{Rule: "over_capacity", Level: level["over_capacity"], Session: s.ID, At: s.At,
					Detail: fmt.Sprintf("%s expects %d in %s, which holds %d", s.ID, s.Expected, s.Room, s.Capacity)})
			}
		}
	}
	if level["outside_day"] != "off" {
		for _, s := range ss {
			d, _ := ps.sched.Day(s.Day)
			if s.StartMin < d.Opens || s.EndMin > d.Closes {
				out = append(out, Issue{Rule: "outside_day", Level: level["outside_day"], Session: s.ID, At: s.At,
					Detail: fmt.Sprintf("%s (%s) is outside %s's hours %s-%s", s.ID, span(s), d.Name, formatClock(d.Opens), formatClock(d.Closes))})
			}
		}
	}
	rank := map[string]int{}
	for i, r := range ScheduleRules {
		rank[r] = i
	}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Rule] < rank[out[j].Rule] })
	return out
}

// commonBethels returns the bethels two sessions both expect ("all", or
// numbers joined by ';'), or "".
func commonBethels(a, b string) string {
	switch {
	case a == "all":
		return b
	case b == "all":
		return a
	}
	in := map[string]bool{}
	for _, x := range strings.Split(a, ";") {
		in[x] = true
	}
	var both []string
	for _, x := range strings.Split(b, ";") {
		if in[x] {
			both = append(both, x)
		}
	}
	return strings.Join(both, ";")
}

func writeIssues(r *stage.Run, out string, issues []Issue) error {
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	cw := csvio.NewWriter(w)
	cw.Write(IssueColumns)
	for _, is := range issues {
		if err := cw.Write([]string{is.Rule, is.Level, is.Session, is.Other, is.Detail}); err != nil {
			return err
		}
	}
	return cw.Flush()
}
