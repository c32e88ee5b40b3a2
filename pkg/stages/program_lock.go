package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	"bethel/pkg/patch"
	"bethel/pkg/pos"
	"bethel/pkg/stage"
)

// ProgramLockFile is the program lock: config/program.lock.json, written
// by `bethel lock program` and committed by organizers once the program
// goes to print. It is an input of the program node.
//
// Format (JSON, two-space indent, sessions sorted by id):
//
//	{
//	  "locked": true,
//	  "event": "gb2026",
//	  "sessions": [
//	    {"id": "S-001", "title": "...", "kind": "ceremony", "day": "Friday",
//	     "start": "2026-06-12T09:00:00-05:00", "end": "...", "room": "...", "bethels": "all"}
//	  ]
//	}
//
// The unlocked state is {"locked": false, "sessions": []}: the file always
// exists, because it is a declared input and the engine refuses a missing
// source file. `bethel unlock program` writes the unlocked state rather
// than deleting the file; a node that does not declare the file is never
// locked.
//
// While locked, a build whose enriched schedule differs from the lock
// fails and lists every changed session, unless every difference comes
// from a program patch marked after_lock = true (with its reason) that
// the lock does not already include. after_lock_patches lists the ones it
// includes, so that marking a patch after_lock before locking is harmless. Expected attendance and room capacity are not locked: they
// change with every export and are not printed in the program.
const ProgramLockFile = "program.lock.json"

// ProgramLock is the lock file's content.
type ProgramLock struct {
	Locked bool   `json:"locked"`
	Event  string `json:"event,omitempty"`
	// AfterLockPatches are the after_lock patches the locked program
	// already includes (marked before locking); they are part of the
	// baseline rather than changes since the lock.
	AfterLockPatches []string      `json:"after_lock_patches,omitempty"`
	Sessions         []LockSession `json:"sessions"`
}

// LockSession is one locked session.
type LockSession struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Kind    string `json:"kind"`
	Day     string `json:"day"`
	Start   string `json:"start"`
	End     string `json:"end"`
	Room    string `json:"room"`
	Bethels string `json:"bethels"`
}

// lockFields are the locked fields, in the order differences list them.
var lockFields = []struct {
	name string
	get  func(*LockSession) string
}{
	{"title", func(s *LockSession) string { return s.Title }},
	{"kind", func(s *LockSession) string { return s.Kind }},
	{"day", func(s *LockSession) string { return s.Day }},
	{"start", func(s *LockSession) string { return s.Start }},
	{"end", func(s *LockSession) string { return s.End }},
	{"room", func(s *LockSession) string { return s.Room }},
	{"bethels", func(s *LockSession) string { return s.Bethels }},
}

func lockSession(s *Session) LockSession {
	return LockSession{ID: s.ID, Title: s.Title, Kind: s.Kind, Day: s.Day, Start: s.Start.Format(time.RFC3339),
		End: s.End.Format(time.RFC3339), Room: s.Room, Bethels: s.Bethels}
}

// MarshalLock returns the lock file bytes for a lock.
func MarshalLock(l *ProgramLock) []byte {
	if l.Sessions == nil {
		l.Sessions = []LockSession{}
	}
	sort.Slice(l.Sessions, func(i, j int) bool { return l.Sessions[i].ID < l.Sessions[j].ID })
	b, _ := json.MarshalIndent(l, "", "  ")
	return append(b, '\n')
}

// UnlockedProgram is the content of an unlocked lock file.
func UnlockedProgram() []byte { return MarshalLock(&ProgramLock{}) }

// LoadLock reads a lock file. Both "locked" and "sessions" must be there:
// a file of {} or null is damaged, not unlocked (taking it for unlocked
// would let a printed program change silently).
func LoadLock(fsys fs.FS, file string) (*ProgramLock, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	bad := func(line int, format string, args ...any) error {
		return pos.Errorf(pos.Pos{File: file, Line: line}, "not a program lock file: "+format+" (rewrite it with `bethel lock program` or `bethel unlock program`)", args...)
	}
	body := bytes.TrimLeft(data, " \t\r\n")
	start := 1 + bytes.Count(data[:len(data)-len(body)], []byte("\n"))
	if !bytes.HasPrefix(body, []byte("{")) {
		return nil, bad(start, "want a JSON object")
	}
	var raw struct {
		Locked           *bool          `json:"locked"`
		Event            string         `json:"event"`
		AfterLockPatches []string       `json:"after_lock_patches"`
		Sessions         *[]LockSession `json:"sessions"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		line := start
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line = 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		case errors.As(err, &te):
			line = 1 + bytes.Count(data[:min(int(te.Offset), len(data))], []byte("\n"))
		}
		return nil, bad(line, "%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad(start, "more than one JSON value")
	}
	switch {
	case raw.Locked == nil:
		return nil, bad(start, `no "locked" key`)
	case raw.Sessions == nil:
		return nil, bad(start, `no "sessions" list`)
	}
	return &ProgramLock{Locked: *raw.Locked, Event: raw.Event, AfterLockPatches: raw.AfterLockPatches, Sessions: *raw.Sessions}, nil
}

// LockProgram computes the lock of the program node's current schedule:
// the program with its patches, enriched with the schedule config. It
// ignores the current lock and reads no registrations. `bethel lock
// program` writes the result to the node's lock input.
func LockProgram(ctx context.Context, r *stage.Run) (*ProgramLock, error) {
	ps, err := loadProgram(ctx, r, patch.Options{})
	if err != nil {
		return nil, err
	}
	l := &ProgramLock{Locked: true, Event: ps.sched.ID}
	for _, p := range ps.patches {
		if p.AfterLock {
			l.AfterLockPatches = append(l.AfterLockPatches, p.ID)
		}
	}
	sort.Strings(l.AfterLockPatches)
	for _, s := range ps.sessions {
		l.Sessions = append(l.Sessions, lockSession(s))
	}
	return l, nil
}

// checkProgramLock fails the build when the program differs from a lock
// in a way no after_lock patch explains.
func checkProgramLock(r *stage.Run, ps *programState) error {
	file, err := r.Input(ProgramLockFile)
	if err != nil {
		return nil // the node declares no lock: never locked
	}
	l, err := LoadLock(r.FS, file)
	if err != nil || !l.Locked {
		return err
	}
	diffs := lockDiff(ps, l)
	if len(diffs) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the program is locked and %d %s from the lock without an after_lock patch:", len(diffs), plural(len(diffs), "session differs", "sessions differ"))
	for _, d := range diffs {
		b.WriteString("\n\t" + d)
	}
	b.WriteString("\n\t(a change after the lock needs a program patch with after_lock = true and its reason; or run `bethel lock program` to accept the new program, or `bethel unlock program`)")
	return pos.Errorf(pos.Pos{File: file}, "%s", b.String())
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// lockDiff lists the sessions whose locked fields differ from the lock
// for reasons other than after_lock patches, one line each, in session id
// order. It rebuilds the program from the unpatched records with every
// patch except the after_lock ones added since the lock (those the lock
// already includes stay): if that baseline equals the lock, every
// difference of the real schedule comes from after_lock patches.
func lockDiff(ps *programState, l *ProgramLock) []string {
	known := map[string]bool{}
	for _, id := range l.AfterLockPatches {
		known[id] = true
	}
	var base []*patch.Patch
	for _, p := range ps.patches {
		if !p.AfterLock || known[p.ID] {
			base = append(base, p)
		}
	}
	bt := *ps.table
	bt.Records = append([]patch.Record(nil), ps.raw...)
	bs := &programState{sched: ps.sched, file: ps.file, table: &bt, patches: base, bethels: ps.bethels}
	// Errors of the baseline (a later patch that needed an after_lock
	// one) do not matter here: the real application already passed.
	bs.report, _, _ = patch.Apply(&bt, base, patch.Options{})
	_ = buildSessions(bs)

	touched := map[string][]string{}
	for i, e := range bs.report.Patches {
		for _, c := range e.Changes {
			if n := len(touched[c.Key]); n == 0 || touched[c.Key][n-1] != base[i].ID {
				touched[c.Key] = append(touched[c.Key], base[i].ID)
			}
		}
	}
	why := func(id string) string {
		if ids := touched[id]; len(ids) > 0 {
			return fmt.Sprintf(" (patches without after_lock: %s)", strings.Join(ids, ", "))
		}
		return fmt.Sprintf(" (no patch: %s or %s changed)", ps.file, ps.sched.File)
	}
	now := map[string]LockSession{}
	for _, s := range bs.sessions {
		now[s.ID] = lockSession(s)
	}
	locked := map[string]LockSession{}
	for _, s := range l.Sessions {
		locked[s.ID] = s
	}
	ids := map[string]bool{}
	for id := range now {
		ids[id] = true
	}
	for id := range locked {
		ids[id] = true
	}
	var out []string
	for _, id := range sortedKeys(ids) {
		n, inNow := now[id]
		o, inLock := locked[id]
		switch {
		case inNow && !inLock:
			out = append(out, fmt.Sprintf("%s: added (%s %s, %s)%s", id, n.Day, n.Start, n.Title, why(id)))
		case !inNow && inLock:
			out = append(out, fmt.Sprintf("%s: removed (locked: %s %s, %s)%s", id, o.Day, o.Start, o.Title, why(id)))
		default:
			var diff []string
			for _, f := range lockFields {
				if was, is := f.get(&o), f.get(&n); was != is {
					diff = append(diff, fmt.Sprintf("%s %q -> %q", f.name, was, is))
				}
			}
			if len(diff) > 0 {
				out = append(out, id+": "+strings.Join(diff, ", ")+why(id))
			}
		}
	}
	return out
}
