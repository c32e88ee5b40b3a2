// Package ics writes iCalendar (RFC 5545) files: the program's .ics
// calendar. It is deliberately small: one VCALENDAR of VEVENTs, with an
// optional VTIMEZONE built from Go's time zone database, so that calendar
// applications show sessions at the right local time without bethel
// shipping zone data of its own.
//
// Output is deterministic: the caller supplies DTSTAMP (never the wall
// clock) and UIDs (derived from stable ids, never from times), lines end in
// CRLF and are folded at 75 octets without splitting a UTF-8 sequence.
package ics

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Calendar is one VCALENDAR.
type Calendar struct {
	// ProdID identifies the producer ("-//bethel//Grand Bethel program//EN").
	ProdID string
	// Name is the calendar's display name (X-WR-CALNAME), optional.
	Name string
	// Location is the zone event times are written in. Nil or UTC writes
	// UTC times ("...Z") and no VTIMEZONE; any other zone writes local
	// times with TZID and a VTIMEZONE covering the events' years.
	Location *time.Location
	Events   []Event
}

// Event is one VEVENT.
type Event struct {
	UID         string
	Stamp       time.Time // DTSTAMP; written in UTC
	Start, End  time.Time
	Summary     string
	Location    string
	Description string
	Categories  []string
	// Cancelled writes STATUS:CANCELLED (kept in the calendar so that
	// subscribers' copies are cancelled rather than silently kept).
	Cancelled bool
	// Sequence is the revision number (SEQUENCE); 0 is left out.
	Sequence int
}

// Write writes c as an iCalendar stream.
func Write(w io.Writer, c *Calendar) error {
	lw := &lineWriter{w: bufio.NewWriter(w)}
	loc := c.Location
	utc := loc == nil || loc == time.UTC || loc.String() == "UTC"
	lw.line("BEGIN:VCALENDAR")
	lw.line("VERSION:2.0")
	lw.line("PRODID:" + c.ProdID)
	lw.line("CALSCALE:GREGORIAN")
	if c.Name != "" {
		lw.line("X-WR-CALNAME:" + Escape(c.Name))
	}
	if !utc {
		lw.line("X-WR-TIMEZONE:" + loc.String())
		if err := writeTimezone(lw, loc, c.Events); err != nil {
			return err
		}
	}
	for _, e := range c.Events {
		lw.line("BEGIN:VEVENT")
		lw.line("UID:" + e.UID)
		lw.line("DTSTAMP:" + e.Stamp.UTC().Format("20060102T150405Z"))
		if utc {
			lw.line("DTSTART:" + e.Start.UTC().Format("20060102T150405Z"))
			lw.line("DTEND:" + e.End.UTC().Format("20060102T150405Z"))
		} else {
			lw.line("DTSTART;TZID=" + loc.String() + ":" + e.Start.In(loc).Format("20060102T150405"))
			lw.line("DTEND;TZID=" + loc.String() + ":" + e.End.In(loc).Format("20060102T150405"))
		}
		lw.line("SUMMARY:" + Escape(e.Summary))
		if e.Location != "" {
			lw.line("LOCATION:" + Escape(e.Location))
		}
		if e.Description != "" {
			lw.line("DESCRIPTION:" + Escape(e.Description))
		}
		if len(e.Categories) > 0 {
			cs := make([]string, len(e.Categories))
			for i, s := range e.Categories {
				cs[i] = Escape(s)
			}
			lw.line("CATEGORIES:" + strings.Join(cs, ","))
		}
		if e.Sequence > 0 {
			lw.line(fmt.Sprintf("SEQUENCE:%d", e.Sequence))
		}
		if e.Cancelled {
			lw.line("STATUS:CANCELLED")
		} else {
			lw.line("STATUS:CONFIRMED")
		}
		lw.line("END:VEVENT")
	}
	lw.line("END:VCALENDAR")
	if lw.err != nil {
		return lw.err
	}
	return lw.w.Flush()
}

// Escape escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon,
// comma and newlines. CR is dropped, so that CRLF in a source cell becomes
// one escaped newline.
func Escape(s string) string {
	if !strings.ContainsAny(s, "\\;,\n\r") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case ';':
			b.WriteString(`\;`)
		case ',':
			b.WriteString(`\,`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Fold splits a content line into physical lines of at most 75 octets
// (RFC 5545 3.1), each continuation starting with one space, never cutting
// a UTF-8 sequence. The result has no trailing CRLF.
func Fold(line string) string {
	const max = 75
	if len(line) <= max {
		return line
	}
	var b strings.Builder
	limit := max // octets allowed on the current physical line
	n := 0
	for i := 0; i < len(line); {
		_, size := utf8.DecodeRuneInString(line[i:])
		if n+size > limit {
			b.WriteString("\r\n ")
			// The leading space counts toward the 75 octets.
			limit = max - 1
			n = 0
		}
		b.WriteString(line[i : i+size])
		n += size
		i += size
	}
	return b.String()
}

type lineWriter struct {
	w   *bufio.Writer
	err error
}

func (lw *lineWriter) line(s string) {
	if lw.err != nil {
		return
	}
	if _, err := lw.w.WriteString(Fold(s)); err != nil {
		lw.err = err
		return
	}
	_, lw.err = lw.w.WriteString("\r\n")
}

// writeTimezone writes a VTIMEZONE for loc with one STANDARD or DAYLIGHT
// component per offset period that overlaps the year before the first
// event to the year after the last. Explicit onsets instead of RRULEs keep
// the writer exact for any zone Go knows, including zones whose rules
// changed, at the cost of a few more lines.
func writeTimezone(lw *lineWriter, loc *time.Location, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	first, last := events[0].Start, events[0].End
	for _, e := range events {
		if e.Start.Before(first) {
			first = e.Start
		}
		if e.End.After(last) {
			last = e.End
		}
	}
	from := time.Date(first.In(loc).Year()-1, 1, 1, 0, 0, 0, 0, loc)
	to := time.Date(last.In(loc).Year()+2, 1, 1, 0, 0, 0, 0, loc)

	lw.line("BEGIN:VTIMEZONE")
	lw.line("TZID:" + loc.String())
	t := from
	for guard := 0; t.Before(to) && guard < 1000; guard++ {
		start, end := t.ZoneBounds()
		name, offset := t.Zone()
		var prevOffset int
		if start.IsZero() {
			// The zone has been in effect since the beginning of time:
			// one component from the window's start.
			start = from
			prevOffset = offset
		} else {
			_, prevOffset = start.Add(-time.Second).Zone()
		}
		kind := "STANDARD"
		if t.IsDST() {
			kind = "DAYLIGHT"
		}
		// DTSTART of a component is the onset in the local time that was
		// in effect before it (RFC 5545 3.6.5).
		onset := start.UTC().Add(time.Duration(prevOffset) * time.Second)
		lw.line("BEGIN:" + kind)
		lw.line("DTSTART:" + onset.Format("20060102T150405"))
		lw.line("TZOFFSETFROM:" + formatOffset(prevOffset))
		lw.line("TZOFFSETTO:" + formatOffset(offset))
		lw.line("TZNAME:" + Escape(name))
		lw.line("END:" + kind)
		if end.IsZero() {
			break
		}
		t = end
	}
	lw.line("END:VTIMEZONE")
	return lw.err
}

func formatOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign = '-'
		sec = -sec
	}
	s := fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}
