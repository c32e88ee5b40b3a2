package stages

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"time"

	// Zone data compiled in, so that a machine without a zone database
	// still builds the program (the system's data is used when present).
	_ "time/tzdata"

	"bethel/pkg/lazyre"
	"bethel/pkg/pos"
)

// ScheduleFile is the program's configuration: the event, its days with
// dates and a time zone, its rooms with capacities, and which rule checks
// fail the build.
//
// Format (config/schedule.toml):
//
//	[event]
//	id        = "gb2026"                 # stable: part of every calendar UID
//	name      = "Grand Bethel 2026"
//	time_zone = "America/Chicago"        # IANA zone; "UTC" writes UTC times
//	stamp     = 2026-05-01T00:00:00Z     # DTSTAMP of the calendar (never the clock)
//	uid_domain = "grandbethel.example.org" # optional; default "bethel.invalid"
//
//	[[day]]
//	name   = "Friday"                    # as registrations' days_attending names it
//	date   = 2026-06-12
//	opens  = "08:00"                     # sessions must lie within opens..closes
//	closes = "22:00"
//
//	[[room]]
//	name     = "Grand Ballroom"
//	capacity = 900
//
//	[rules]                              # each: "error", "warning" (default) or "off"
//	room_double_booked   = "error"
//	bethel_double_booked = "warning"
//	over_capacity        = "warning"
//	outside_day          = "error"
//
// Unknown keys, wrong types, duplicate days or rooms, an unknown zone and
// a day that closes before it opens are errors naming file:line.
const ScheduleFile = "schedule.toml"

// Schedule is the loaded schedule configuration.
type Schedule struct {
	File      string
	ID        string
	Name      string
	Location  *time.Location
	Stamp     time.Time
	UIDDomain string
	Days      []ScheduleDay
	Rooms     []ScheduleRoom
	// Rules maps a rule name to its level: "error", "warning" or "off".
	Rules map[string]string

	dayIdx  map[string]int
	roomIdx map[string]int
}

// ScheduleDay is one [[day]].
type ScheduleDay struct {
	Name          string
	Date          time.Time // midnight local time
	Opens, Closes int       // minutes after midnight
}

// ScheduleRoom is one [[room]].
type ScheduleRoom struct {
	Name     string
	Capacity int
}

// Rule names, in the order issues.csv lists them.
var ScheduleRules = []string{"room_double_booked", "bethel_double_booked", "over_capacity", "outside_day"}

// Day returns the configured day called name.
func (s *Schedule) Day(name string) (*ScheduleDay, bool) {
	i, ok := s.dayIdx[name]
	if !ok {
		return nil, false
	}
	return &s.Days[i], true
}

// Room returns the configured room called name.
func (s *Schedule) Room(name string) (*ScheduleRoom, bool) {
	i, ok := s.roomIdx[name]
	if !ok {
		return nil, false
	}
	return &s.Rooms[i], true
}

// DayNames lists the days in order.
func (s *Schedule) DayNames() []string {
	out := make([]string, len(s.Days))
	for i, d := range s.Days {
		out[i] = d.Name
	}
	return out
}

// RoomNames lists the rooms in file order.
func (s *Schedule) RoomNames() []string {
	out := make([]string, len(s.Rooms))
	for i, r := range s.Rooms {
		out[i] = r.Name
	}
	return out
}

// At returns the absolute time of minute-of-day m on day d.
func (s *Schedule) At(d *ScheduleDay, m int) time.Time {
	y, mo, da := d.Date.Date()
	return time.Date(y, mo, da, m/60, m%60, 0, 0, s.Location)
}

type scheduleDoc struct {
	Event struct {
		ID        string    `toml:"id"`
		Name      string    `toml:"name"`
		TimeZone  string    `toml:"time_zone"`
		Stamp     time.Time `toml:"stamp"`
		UIDDomain string    `toml:"uid_domain"`
	} `toml:"event"`
	Day []struct {
		Name   string    `toml:"name"`
		Date   time.Time `toml:"date"`
		Opens  string    `toml:"opens"`
		Closes string    `toml:"closes"`
	} `toml:"day"`
	Room []struct {
		Name     string `toml:"name"`
		Capacity int    `toml:"capacity"`
	} `toml:"room"`
	Rules map[string]string `toml:"rules"`
}

var eventIDRE = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// LoadSchedule reads and checks a schedule configuration.
func LoadSchedule(fsys fs.FS, file string) (*Schedule, error) {
	var doc scheduleDoc
	data, md, err := cfgDecode(fsys, file, &doc)
	if err != nil {
		return nil, err
	}
	var errs pos.List
	at := func(key string, nth int) pos.Pos {
		return pos.Pos{File: file, Line: scheduleKeyLine(data, key, nth)}
	}
	for _, k := range md.Undecoded() {
		errs = append(errs, pos.Errorf(at(k[len(k)-1], 0), "unknown key %q (see the format in docs/stages.md)", k.String()))
	}
	for _, k := range md.Keys() {
		last := k[len(k)-1]
		if last != strings.ToLower(last) && !(len(k) == 2 && k[0] == "rules") {
			errs = append(errs, pos.Errorf(at(last, 0), "key %q must be lower case", k.String()))
		}
	}
	s := &Schedule{File: file, ID: doc.Event.ID, Name: doc.Event.Name, Stamp: doc.Event.Stamp.UTC(),
		UIDDomain: doc.Event.UIDDomain, dayIdx: map[string]int{}, roomIdx: map[string]int{}, Rules: map[string]string{}}
	if !eventIDRE().MatchString(s.ID) {
		errs = append(errs, pos.Errorf(at("id", 0), "event.id %q: want letters, digits, '.', '_' or '-' (it is part of every calendar UID; never change it once published)", s.ID))
	}
	if s.Name == "" {
		errs = append(errs, pos.Errorf(at("event", 0), "event.name is missing"))
	}
	if s.UIDDomain == "" {
		s.UIDDomain = "bethel.invalid"
	}
	if !md.IsDefined("event", "stamp") {
		errs = append(errs, pos.Errorf(at("event", 0), "event.stamp is missing: the calendar's DTSTAMP, e.g. stamp = 2026-05-01T00:00:00Z (a fixed time keeps the .ics byte-identical across rebuilds)"))
	}
	if doc.Event.TimeZone == "" {
		errs = append(errs, pos.Errorf(at("event", 0), "event.time_zone is missing (an IANA name such as America/Chicago, or UTC)"))
	} else if loc, err := time.LoadLocation(doc.Event.TimeZone); err != nil {
		errs = append(errs, pos.Errorf(at("time_zone", 0), "unknown time zone %q", doc.Event.TimeZone))
	} else {
		s.Location = loc
	}
	if len(doc.Day) == 0 {
		errs = append(errs, pos.Errorf(pos.Pos{File: file, Line: 1}, "no [[day]]: list the event's days"))
	}
	for i, d := range doc.Day {
		p := at("[[day]]", i)
		if d.Name == "" || strings.ContainsAny(d.Name, ";,/") {
			errs = append(errs, pos.Errorf(p, "day name %q: want a name without ; , or /", d.Name))
		}
		if _, dup := s.dayIdx[d.Name]; dup {
			errs = append(errs, pos.Errorf(p, "day %q is listed twice", d.Name))
		}
		opens, err1 := parseClock(d.Opens)
		closes, err2 := parseClock(d.Closes)
		if err1 != nil || err2 != nil {
			errs = append(errs, pos.Errorf(p, "day %q: opens and closes must be times such as \"08:00\" and \"22:00\"", d.Name))
		} else if closes <= opens {
			errs = append(errs, pos.Errorf(p, "day %q closes (%s) before it opens (%s)", d.Name, d.Closes, d.Opens))
		}
		if d.Date.IsZero() {
			errs = append(errs, pos.Errorf(p, "day %q: date is missing (date = 2026-06-12)", d.Name))
		}
		y, m, dd := d.Date.Date()
		loc := s.Location
		if loc == nil {
			loc = time.UTC
		}
		s.dayIdx[d.Name] = len(s.Days)
		s.Days = append(s.Days, ScheduleDay{Name: d.Name, Date: time.Date(y, m, dd, 0, 0, 0, 0, loc), Opens: opens, Closes: closes})
	}
	for i, r := range doc.Room {
		p := at("[[room]]", i)
		if strings.TrimSpace(r.Name) == "" {
			errs = append(errs, pos.Errorf(p, "room name is missing"))
		}
		if _, dup := s.roomIdx[r.Name]; dup {
			errs = append(errs, pos.Errorf(p, "room %q is listed twice", r.Name))
		}
		if r.Capacity < 1 {
			errs = append(errs, pos.Errorf(p, "room %q: capacity must be a positive integer", r.Name))
		}
		s.roomIdx[r.Name] = len(s.Rooms)
		s.Rooms = append(s.Rooms, ScheduleRoom{Name: r.Name, Capacity: r.Capacity})
	}
	for _, name := range ScheduleRules {
		s.Rules[name] = "warning"
	}
	for _, k := range sortedKeys(doc.Rules) {
		if _, ok := s.Rules[k]; !ok {
			errs = append(errs, pos.Errorf(at(k, 0), "unknown rule %q (want %s)", k, strings.Join(ScheduleRules, ", ")))
			continue
		}
		switch v := doc.Rules[k]; v {
		case "error", "warning", "off":
			s.Rules[k] = v
		default:
			errs = append(errs, pos.Errorf(at(k, 0), "rule %s = %q: want \"error\", \"warning\" or \"off\"", k, v))
		}
	}
	return s, errs.Err()
}

// parseClock parses "HH:MM" (or "H:MM") into minutes after midnight;
// "24:00" is allowed as the end of a day.
func parseClock(s string) (int, error) {
	var h, m int
	if len(s) < 4 || len(s) > 5 || s[len(s)-3] != ':' {
		return 0, fmt.Errorf("%q is not a time (want HH:MM)", s)
	}
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time (want HH:MM)", s)
	}
	return h*60 + m, nil
}

func formatClock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// scheduleKeyLine finds the line of the nth (0-based) occurrence of a key
// (`key =`) or of a table header written as given ("[[day]]"); the TOML
// decoder keeps no positions. It returns 1 when it cannot tell.
func scheduleKeyLine(data []byte, key string, nth int) int {
	for i, l := range bytes.Split(data, []byte("\n")) {
		t := strings.TrimSpace(string(l))
		var hit bool
		if strings.HasPrefix(key, "[") {
			hit = strings.ReplaceAll(t, " ", "") == key || strings.HasPrefix(strings.ReplaceAll(t, " ", ""), key+"#")
		} else {
			rest, ok := strings.CutPrefix(strings.Trim(t, `"`), key)
			if !ok {
				rest, ok = strings.CutPrefix(t, `"`+key+`"`)
			}
			hit = ok && (strings.HasPrefix(strings.TrimSpace(rest), "=") || strings.HasPrefix(strings.TrimSpace(rest), "]") || key == t)
			if !ok && t == "["+key+"]" {
				hit = true
			}
		}
		if hit {
			if nth == 0 {
				return i + 1
			}
			nth--
		}
	}
	return 1
}
