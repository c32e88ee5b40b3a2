package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"bethel/pkg/stage"
)

const progSchedule = `[event]
id = "t2026"
name = "Test Event"
time_zone = "America/Chicago"
stamp = 2026-05-01T00:00:00Z

[[day]]
name = "Friday"
date = 2026-06-12
opens = "08:00"
closes = "20:00"

[[day]]
name = "Saturday"
date = 2026-06-13
opens = "08:00"
closes = "20:00"

[[room]]
name = "Hall"
capacity = 100

[[room]]
name = "Salon"
capacity = 3

[rules]
room_double_booked = "warning"
`

const progCSV = "id,title,day,start,end,room,kind,bethels\r\n" +
	"S-1,Opening,Friday,09:00,10:00,Hall,ceremony,all\r\n" +
	"S-2,Workshop A,Friday,10:00,11:00,Salon,workshop,12;21\r\n" +
	"S-3,Workshop B,friday,10:00,11:00,hall,workshop,#7\r\n" +
	"S-4,Lunch,Saturday,12:00,13:00,Hall,meal,ALL\r\n"

const progRegs = "registration_id,bethel,member_type,days_attending,payment_status\n" +
	"R-1,12,daughter,Friday;Saturday,paid\n" +
	"R-2,12,adult,Friday,paid\n" +
	"R-3,21,daughter,Friday,pending\n" +
	"R-4,21,guest,Friday,paid\n" +
	"R-5,7,daughter,Saturday,paid\n"

// progFixture writes a small program workspace; files override or add.
func progFixture(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	base := map[string]string{
		"config/schedule.toml":          progSchedule,
		"inputs/program.csv":            progCSV,
		"config/bethels.csv":            "number,name,city,district\n7,Seven,A,D1\n12,Twelve,B,D1\n21,TwentyOne,C,D2\n",
		"config/privacy.toml":           "min_cell = 5\n",
		"config/fields.toml":            testFieldsTOML(),
		"config/program.lock.json":      string(UnlockedProgram()),
		"out/private/registrations.csv": progRegs,
	}
	for k, v := range files {
		base[k] = v
	}
	for k, v := range base {
		if v == "" {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(k))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var progOutputs = []string{"out/program/schedule.csv", "out/program/schedule.json", "out/program/schedule.ics", "out/program/issues.csv"}

type progResult struct {
	out      map[string]string
	warnings []string
}

// progRun is the stage.Run the sample pipeline gives the program node,
// over dir; Create and Warnf are filled by the caller.
func progRun(dir string) (*stage.Run, *progResult) {
	var patches []string
	ents, _ := os.ReadDir(filepath.Join(dir, "patches", "program"))
	for _, e := range ents {
		patches = append(patches, "patches/program/"+e.Name())
	}
	sort.Strings(patches)
	inputs := []string{"inputs/program.csv", "config/schedule.toml", "config/bethels.csv", "config/program.lock.json",
		"out/private/registrations.csv", "config/fields.toml", "config/privacy.toml"}
	r := engineDecl(&stage.Run{Node: "program", Inputs: inputs, Patches: patches, Outputs: progOutputs, Visibility: stage.Internal,
		FS: os.DirFS(dir), Warnf: func(string, ...any) {}})
	return r, &progResult{out: map[string]string{}}
}

// runProgramIn runs the program stage over dir.
func runProgramIn(t *testing.T, dir string) (*progResult, error) {
	t.Helper()
	r, res := progRun(dir)
	bufs := map[string]*bytes.Buffer{}
	r.Create = func(p string) (io.Writer, error) {
		bufs[p] = &bytes.Buffer{}
		return bufs[p], nil
	}
	r.Warnf = func(f string, a ...any) { res.warnings = append(res.warnings, fmt.Sprintf(f, a...)) }
	err := program{}.Run(context.Background(), r)
	if err != nil {
		return res, err
	}
	for p, b := range bufs {
		res.out[p] = b.String()
	}
	return res, nil
}

func writePatch(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, "patches", "program", name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestProgramBasic(t *testing.T) {
	dir := progFixture(t, nil)
	res, err := runProgramIn(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "\uFEFFid,title,kind,day,date,start_time,end_time,start,end,time_zone,room,capacity,bethels,expected\n" +
		"S-1,Opening,ceremony,Friday,2026-06-12,09:00,10:00,2026-06-12T09:00:00-05:00,2026-06-12T10:00:00-05:00,America/Chicago,Hall,100,all,4\n" +
		"S-3,Workshop B,workshop,Friday,2026-06-12,10:00,11:00,2026-06-12T10:00:00-05:00,2026-06-12T11:00:00-05:00,America/Chicago,Hall,100,7,0\n" +
		"S-2,Workshop A,workshop,Friday,2026-06-12,10:00,11:00,2026-06-12T10:00:00-05:00,2026-06-12T11:00:00-05:00,America/Chicago,Salon,3,12;21,4\n" +
		"S-4,Lunch,meal,Saturday,2026-06-13,12:00,13:00,2026-06-13T12:00:00-05:00,2026-06-13T13:00:00-05:00,America/Chicago,Hall,100,all,2\n"
	if got := res.out["out/program/schedule.csv"]; got != want {
		t.Errorf("schedule.csv:\n%s\nwant:\n%s", got, want)
	}
	issues := res.out["out/program/issues.csv"]
	if !strings.Contains(issues, `over_capacity,warning,S-2,,"S-2 expects 4 in Salon, which holds 3"`) {
		t.Errorf("issues.csv lacks the over-capacity finding:\n%s", issues)
	}
	if len(res.warnings) != 1 {
		t.Errorf("warnings %q, want the one finding", res.warnings)
	}
}

func TestProgramRules(t *testing.T) {
	for _, tc := range []struct {
		name, csv, rules string
		want             []string // issue rows (rule,level,session,other) or an error substring
		fail             string
	}{
		{name: "room", csv: "S-1,A,Friday,09:00,10:00,Hall,x,7\r\nS-2,B,Friday,09:30,10:30,Hall,x,12\r\n",
			want: []string{"room_double_booked,warning,S-1,S-2"}},
		{name: "touching intervals do not overlap", csv: "S-1,A,Friday,09:00,10:00,Hall,x,all\r\nS-2,B,Friday,10:00,10:30,Hall,x,all\r\n"},
		{name: "bethel in two places", csv: "S-1,A,Friday,09:00,10:00,Hall,x,7;12\r\nS-2,B,Friday,09:30,10:30,Salon,x,12;21\r\n",
			want: []string{"bethel_double_booked,warning,S-1,S-2"}},
		{name: "all meets a bethel", csv: "S-1,A,Friday,09:00,10:00,Hall,x,all\r\nS-2,B,Friday,09:59,10:30,Salon,x,21\r\n",
			want: []string{"bethel_double_booked,warning,S-1,S-2"}},
		{name: "other day", csv: "S-1,A,Friday,09:00,10:00,Hall,x,all\r\nS-2,B,Saturday,09:00,10:00,Hall,x,all\r\n"},
		{name: "outside day", csv: "S-1,A,Friday,07:30,09:00,Hall,x,all\r\n",
			want: []string{"outside_day,warning,S-1,"}},
		{name: "error level fails", csv: "S-1,A,Friday,07:30,09:00,Hall,x,all\r\n", rules: "outside_day = \"error\"\n",
			fail: "inputs/program.csv:2: outside_day: S-1 (Friday 07:30-09:00) is outside Friday's hours 08:00-20:00"},
		{name: "off", csv: "S-1,A,Friday,09:00,10:00,Hall,x,7\r\nS-2,B,Friday,09:30,10:30,Hall,x,7\r\n",
			rules: "room_double_booked = \"off\"\nbethel_double_booked = \"off\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sched := strings.Replace(progSchedule, "room_double_booked = \"warning\"\n", tc.rules, 1)
			dir := progFixture(t, map[string]string{"inputs/program.csv": "id,title,day,start,end,room,kind,bethels\r\n" + tc.csv,
				"config/schedule.toml": sched, "out/private/registrations.csv": "registration_id,bethel,member_type,days_attending,payment_status\n"})
			res, err := runProgramIn(t, dir)
			if tc.fail != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fail) {
					t.Fatalf("error %v, want %q", err, tc.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(res.out["out/program/issues.csv"]), "\n")[1:] {
				f := strings.SplitN(l, ",", 5)
				got = append(got, strings.Join(f[:4], ","))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("issues %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProgramBadCells(t *testing.T) {
	for _, tc := range []struct{ row, want string }{
		{"S-1,A,Monday,09:00,10:00,Hall,x,all", `inputs/program.csv:2: session S-1: column day: day "Monday" is not a day of config/schedule.toml (Friday, Saturday)`},
		{"S-1,A,Friday,9h,10:00,Hall,x,all", `inputs/program.csv:2: session S-1: column start: "9h" is not a time (want HH:MM)`},
		{"S-1,A,Friday,09:00,10:00,Attic,x,all", `inputs/program.csv:2: session S-1: column room: room "Attic" is not a room of config/schedule.toml (Hall, Salon)`},
		{"S-1,A,Friday,09:00,10:00,Hall,x,99", `inputs/program.csv:2: session S-1: column bethels: bethel 99 is not in config/bethels.csv`},
		{"S-1,A,Friday,09:00,10:00,Hall,x,", `inputs/program.csv:2: session S-1: column bethels: bethels is empty`},
		{"S-1,A,Friday,10:00,09:00,Hall,x,all", `inputs/program.csv:2: session S-1 ends (09:00) before it starts (10:00)`},
		{"S 1,A,Friday,09:00,10:00,Hall,x,all", `column id: session id "S 1": no spaces`},
		{"S-1,A,Friday,09:00,10:00,Hall,x,all\r\nS-1,B,Friday,11:00,12:00,Hall,x,all", `inputs/program.csv:3: session id S-1 is used twice (first on line 2)`},
	} {
		dir := progFixture(t, map[string]string{"inputs/program.csv": "id,title,day,start,end,room,kind,bethels\r\n" + tc.row + "\r\n"})
		_, err := runProgramIn(t, dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("row %q: error %v, want %q", tc.row, err, tc.want)
		}
	}
}

func TestScheduleConfigErrors(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{`time_zone = "America/Chicago"`, `time_zone = "Mars/Olympus"`, `config/schedule.toml:4: unknown time zone "Mars/Olympus"`},
		{`capacity = 3`, `capacity = 0`, `config/schedule.toml:23: room "Salon": capacity must be a positive integer`},
		{`closes = "20:00"`, `closes = "07:00"`, `config/schedule.toml:7: day "Friday" closes (07:00) before it opens (08:00)`},
		{`name = "Saturday"`, `name = "Friday"`, `config/schedule.toml:13: day "Friday" is listed twice`},
		{`room_double_booked = "warning"`, `room_double_booked = "fatal"`, `config/schedule.toml:28: rule room_double_booked = "fatal": want "error", "warning" or "off"`},
		{`room_double_booked = "warning"`, `double_booking = "error"`, `config/schedule.toml:28: unknown rule "double_booking"`},
		{`stamp = 2026-05-01T00:00:00Z`, `stamp = 2026-05-01T00:00:00Z
colour = "blue"`, `config/schedule.toml:6: unknown key "event.colour"`},
		{`stamp = 2026-05-01T00:00:00Z`, ``, `event.stamp is missing`},
		{`id = "t2026"`, `id = "t 2026"`, `config/schedule.toml:2: event.id "t 2026"`},
		{`capacity = 100`, `Capacity = 100`, `key "room.Capacity" must be lower case`},
	} {
		src := strings.Replace(progSchedule, tc.from, tc.to, 1)
		if src == progSchedule {
			t.Fatalf("%q not in the schedule", tc.from)
		}
		dir := progFixture(t, map[string]string{"config/schedule.toml": src})
		_, err := LoadSchedule(os.DirFS(dir), "config/schedule.toml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s -> %s: error %v, want %q", tc.from, tc.to, err, tc.want)
		}
	}
}

const movePatch = `[[patch]]
id = "move-s2"
target = "program"
match = { id = "S-2" }
set = { start = "14:00", end = "15:00", room = "Hall" }
reason = "room too small"
`

const dropAddPatch = `[[patch]]
id = "drop-s3"
target = "program"
match = { id = "S-3" }
drop = true
reason = "cancelled"

[[patch]]
id = "add-s9"
target = "program"
add = { id = "S-9", title = "Walk-in; choir, extra", day = "Saturday", start = "15:00", end = "16:00", room = "Salon", kind = "music", bethels = ["21", "12"] }
reason = "added"
`

func TestProgramPatches(t *testing.T) {
	dir := progFixture(t, nil)
	before, err := runProgramIn(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	writePatch(t, dir, "10-move.toml", movePatch)
	writePatch(t, dir, "20-dropadd.toml", dropAddPatch)
	res, err := runProgramIn(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	csv := res.out["out/program/schedule.csv"]
	for _, want := range []string{
		"S-2,Workshop A,workshop,Friday,2026-06-12,14:00,15:00,2026-06-12T14:00:00-05:00,2026-06-12T15:00:00-05:00,America/Chicago,Hall,100,12;21,4\n",
		`S-9,"Walk-in; choir, extra",music,Saturday,2026-06-13,15:00,16:00,2026-06-13T15:00:00-05:00,2026-06-13T16:00:00-05:00,America/Chicago,Salon,3,12;21,1` + "\n",
	} {
		if !strings.Contains(csv, want) {
			t.Errorf("schedule.csv lacks %q:\n%s", want, csv)
		}
	}
	if strings.Contains(csv, "S-3,") {
		t.Error("the dropped session is still scheduled")
	}
	ics := res.out["out/program/schedule.ics"]
	// UIDs come from ids: the moved session keeps its UID; its SEQUENCE
	// rises so that calendar clients take the new time.
	uid := "UID:S-2.t2026@bethel.invalid\r\n"
	if !strings.Contains(before.out["out/program/schedule.ics"], uid) || !strings.Contains(ics, uid) {
		t.Errorf("UID %q not stable across the move", uid)
	}
	ev := icsEvent(ics, "S-2")
	if !strings.Contains(ev, "SEQUENCE:1\r\n") || !strings.Contains(ev, "DTSTART;TZID=America/Chicago:20260612T140000\r\n") {
		t.Errorf("moved event:\n%s", ev)
	}
	if ev := icsEvent(ics, "S-3"); !strings.Contains(ev, "STATUS:CANCELLED\r\n") {
		t.Errorf("dropped session not cancelled in the calendar:\n%s", ev)
	}
	if ev := icsEvent(ics, "S-9"); !strings.Contains(ev, `SUMMARY:Walk-in\; choir\, extra`) {
		t.Errorf("added session:\n%s", ev)
	}
	js := res.out["out/program/schedule.json"]
	if !strings.Contains(js, `"cancelled": [`) || !strings.Contains(js, `"patches": [
        "move-s2"
      ]`) {
		t.Errorf("schedule.json:\n%s", js)
	}
}

func icsEvent(ics, id string) string {
	i := strings.Index(ics, "UID:"+id+".")
	if i < 0 {
		return ""
	}
	j := strings.Index(ics[i:], "END:VEVENT")
	return ics[i : i+j]
}

func TestProgramLock(t *testing.T) {
	lockNow := func(t *testing.T, dir string) {
		t.Helper()
		r, _ := progRun(dir)
		l, err := LockProgram(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config", ProgramLockFile), MarshalLock(l), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("locked and unchanged builds", func(t *testing.T) {
		dir := progFixture(t, nil)
		lockNow(t, dir)
		if _, err := runProgramIn(t, dir); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a patch without after_lock fails", func(t *testing.T) {
		dir := progFixture(t, nil)
		lockNow(t, dir)
		writePatch(t, dir, "10-move.toml", movePatch)
		_, err := runProgramIn(t, dir)
		want := `config/program.lock.json: the program is locked and 1 session differs from the lock without an after_lock patch:
	S-2: start "2026-06-12T10:00:00-05:00" -> "2026-06-12T14:00:00-05:00", end "2026-06-12T11:00:00-05:00" -> "2026-06-12T15:00:00-05:00", room "Salon" -> "Hall" (patches without after_lock: move-s2)`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v\nwant %s", err, want)
		}
	})
	t.Run("after_lock patches build", func(t *testing.T) {
		dir := progFixture(t, nil)
		lockNow(t, dir)
		writePatch(t, dir, "10-move.toml", strings.Replace(movePatch, "reason", "after_lock = true\nreason", 1))
		writePatch(t, dir, "20-dropadd.toml", strings.ReplaceAll(dropAddPatch, "reason", "after_lock = true\nreason"))
		res, err := runProgramIn(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.out["out/program/schedule.csv"], "S-9,") {
			t.Error("the after_lock addition is missing")
		}
	})
	t.Run("drop and add without after_lock fail", func(t *testing.T) {
		dir := progFixture(t, nil)
		lockNow(t, dir)
		writePatch(t, dir, "20-dropadd.toml", dropAddPatch)
		_, err := runProgramIn(t, dir)
		if err == nil || !strings.Contains(err.Error(), "2 sessions differ") ||
			!strings.Contains(err.Error(), "S-3: removed (locked: Friday 2026-06-12T10:00:00-05:00, Workshop B) (patches without after_lock: drop-s3)") ||
			!strings.Contains(err.Error(), "S-9: added (Saturday 2026-06-13T15:00:00-05:00, Walk-in; choir, extra) (patches without after_lock: add-s9)") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("an edited export fails", func(t *testing.T) {
		dir := progFixture(t, nil)
		lockNow(t, dir)
		os.WriteFile(filepath.Join(dir, "inputs", "program.csv"), []byte(strings.Replace(progCSV, "Opening", "Grand Opening", 1)), 0o644)
		_, err := runProgramIn(t, dir)
		if err == nil || !strings.Contains(err.Error(), `S-1: title "Opening" -> "Grand Opening" (no patch: inputs/program.csv or config/schedule.toml changed)`) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("a changed day date fails", func(t *testing.T) {
		dir := progFixture(t, nil)
		lockNow(t, dir)
		os.WriteFile(filepath.Join(dir, "config", "schedule.toml"), []byte(strings.Replace(progSchedule, "2026-06-13", "2026-06-14", 1)), 0o644)
		_, err := runProgramIn(t, dir)
		if err == nil || !strings.Contains(err.Error(), `S-4: start`) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("after_lock patches included at lock time stay fine", func(t *testing.T) {
		dir := progFixture(t, nil)
		writePatch(t, dir, "10-move.toml", strings.Replace(movePatch, "reason", "after_lock = true\nreason", 1))
		lockNow(t, dir)
		if _, err := runProgramIn(t, dir); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unlocked builds anything", func(t *testing.T) {
		dir := progFixture(t, nil)
		lockNow(t, dir)
		os.WriteFile(filepath.Join(dir, "config", ProgramLockFile), UnlockedProgram(), 0o644)
		writePatch(t, dir, "10-move.toml", movePatch)
		if _, err := runProgramIn(t, dir); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a broken lock file is an error", func(t *testing.T) {
		dir := progFixture(t, map[string]string{"config/program.lock.json": `{"locked": true, "colour": 1}`})
		_, err := runProgramIn(t, dir)
		if err == nil || !strings.Contains(err.Error(), "config/program.lock.json:1: not a program lock file") {
			t.Fatalf("error %v", err)
		}
	})
}

// TestSampleICS checks the sample calendar's wire format and that every
// session of schedule.csv has exactly one event.
func TestSampleICS(t *testing.T) {
	b := buildWorkspace(t, repoRoot(t))
	ics := string(b.outputs["out/program/schedule.ics"])
	for i, l := range strings.Split(strings.TrimSuffix(ics, "\r\n"), "\r\n") {
		if len(l) > 75 || strings.ContainsAny(l, "\r\n") {
			t.Fatalf("line %d: %q", i+1, l)
		}
	}
	sched := parseCSV(t, "schedule", b.outputs["out/program/schedule.csv"])
	for _, r := range sched.rows {
		if n := strings.Count(ics, "UID:"+r[0]+".gb2026@"); n != 1 {
			t.Errorf("session %s has %d events", r[0], n)
		}
	}
	if !strings.Contains(ics, "BEGIN:VTIMEZONE\r\nTZID:America/Chicago\r\n") {
		t.Error("no VTIMEZONE")
	}
}

// TestProgramTitleKeepsApostrophe: a title that really starts with an
// apostrophe and a formula character (written ”=... in the file, the
// guard doubled) comes out as the organizer typed it: the reader undoes
// the guard once, and nothing undoes it again.
func TestProgramTitleKeepsApostrophe(t *testing.T) {
	dir := progFixture(t, map[string]string{"inputs/program.csv": strings.Replace(progCSV, "Opening", "''=Opening", 1)})
	res, err := runProgramIn(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Sessions []struct {
			ID, Title string
		}
	}
	if err := json.Unmarshal([]byte(res.out["out/program/schedule.json"]), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Sessions) == 0 || doc.Sessions[0].Title != "'=Opening" {
		t.Errorf("sessions %+v, want S-1 titled '=Opening", doc.Sessions)
	}
}

// TestProgramNoDaysRole: a form that asks no days, with the registrations
// among the program's inputs, fails saying which role to bind or which
// input to drop, not that a column "days_attending" is missing.
func TestProgramNoDaysRole(t *testing.T) {
	dir := progFixture(t, map[string]string{
		"out/private/registrations.csv": "registration_id,bethel,member_type\nR-1,12,daughter\n",
		"config/fields.toml": "primaryKey = \"registration_id\"\n[roles]\nbethel = \"bethel\"\n" +
			"[[fields]]\nname = \"registration_id\"\n[[fields]]\nname = \"bethel\"\ntype = \"integer\"\n[[fields]]\nname = \"member_type\"\n",
	})
	_, err := runProgramIn(t, dir)
	if err == nil || !strings.Contains(err.Error(), "config/fields.toml binds to no field: bind [roles] days") {
		t.Fatalf("err = %v", err)
	}
}
