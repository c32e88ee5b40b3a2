package ics

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sampleCalendar(loc *time.Location) *Calendar {
	stamp := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	at := func(d, h, m int) time.Time { return time.Date(2026, 6, d, h, m, 0, 0, loc) }
	return &Calendar{
		ProdID:   "-//bethel//test//EN",
		Name:     "Grand Bethel, 2026",
		Location: loc,
		Events: []Event{
			{UID: "opening@test", Stamp: stamp, Start: at(12, 9, 0), End: at(12, 10, 30),
				Summary: "Opening; ceremony, with \\ backslash", Location: "Main Ballroom",
				Description: "Line one\nLine two", Categories: []string{"ceremony", "all, bethels"}},
			{UID: "long@test", Stamp: stamp, Start: at(13, 14, 0), End: at(13, 15, 0),
				Summary:  strings.Repeat("Très long titre de séance — ", 6),
				Location: "Salle 2", Cancelled: true, Sequence: 2},
		},
	}
}

func TestGolden(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skip("no zone database:", err)
	}
	for _, tc := range []struct {
		name string
		loc  *time.Location
	}{{"utc", time.UTC}, {"chicago", chicago}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, sampleCalendar(tc.loc)); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".ics.golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("output differs from %s; run with -update after checking:\n%s", golden, buf.String())
			}
			checkPhysical(t, buf.Bytes())
		})
	}
}

// checkPhysical asserts the wire rules: CRLF only, lines of at most 75
// octets, valid UTF-8 on every physical line.
func checkPhysical(t *testing.T, b []byte) {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatal("stream does not end in CRLF")
	}
	for i, l := range bytes.Split(bytes.TrimSuffix(b, []byte("\r\n")), []byte("\r\n")) {
		if bytes.ContainsAny(l, "\r\n") {
			t.Errorf("line %d: bare CR or LF", i+1)
		}
		if len(l) > 75 {
			t.Errorf("line %d: %d octets > 75", i+1, len(l))
		}
		if !utf8.Valid(l) {
			t.Errorf("line %d: a UTF-8 sequence was split", i+1)
		}
	}
}

// prop is one parsed content line.
type prop struct {
	name, params, value string
}

// parse is an independent reader for the round trip: unfold, split each
// content line at the first unquoted ':', keep params raw.
func parse(t *testing.T, b []byte) []prop {
	t.Helper()
	s := strings.ReplaceAll(string(b), "\r\n ", "")
	s = strings.ReplaceAll(s, "\r\n\t", "")
	var out []prop
	for _, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		i := strings.IndexByte(l, ':')
		if i < 0 {
			t.Fatalf("content line without ':': %q", l)
		}
		name, params := l[:i], ""
		if j := strings.IndexByte(name, ';'); j >= 0 {
			name, params = name[:j], name[j+1:]
		}
		out = append(out, prop{name, params, l[i+1:]})
	}
	return out
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// splitText splits a multi-valued TEXT property at unescaped commas.
func splitText(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == ',' {
			out = append(out, unescape(s[start:i]))
			start = i + 1
		}
	}
	return append(out, unescape(s[start:]))
}

func TestRoundTrip(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skip("no zone database:", err)
	}
	rng := rand.New(rand.NewSource(1))
	alphabet := []rune("ab ,;\\\n:é漢😀\"xyz")
	randText := func() string {
		n := rng.Intn(200)
		r := make([]rune, n)
		for i := range r {
			r[i] = alphabet[rng.Intn(len(alphabet))]
		}
		return string(r)
	}
	for _, loc := range []*time.Location{time.UTC, chicago} {
		for iter := 0; iter < 200; iter++ {
			start := time.Date(2026, time.Month(1+rng.Intn(12)), 1+rng.Intn(28), rng.Intn(24), rng.Intn(4)*15, 0, 0, loc)
			e := Event{UID: fmt.Sprintf("s%d@test", iter), Stamp: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
				Start: start, End: start.Add(time.Duration(15+rng.Intn(300)) * time.Minute),
				Summary: randText(), Location: randText(), Description: randText(),
				Categories: []string{randText(), randText()}}
			var buf bytes.Buffer
			if err := Write(&buf, &Calendar{ProdID: "-//t//t//EN", Location: loc, Events: []Event{e}}); err != nil {
				t.Fatal(err)
			}
			checkPhysical(t, buf.Bytes())
			props := parse(t, buf.Bytes())
			got := map[string]prop{}
			inEvent := false
			for _, p := range props {
				if p.name == "BEGIN" && p.value == "VEVENT" {
					inEvent = true
				}
				if inEvent {
					got[p.name] = p
				}
			}
			clean := func(s string) string { return strings.ReplaceAll(s, "\r", "") }
			if v := unescape(got["SUMMARY"].value); v != clean(e.Summary) {
				t.Fatalf("SUMMARY %q, want %q", v, e.Summary)
			}
			if e.Location != "" {
				if v := unescape(got["LOCATION"].value); v != clean(e.Location) {
					t.Fatalf("LOCATION %q, want %q", v, e.Location)
				}
			}
			if e.Description != "" {
				if v := unescape(got["DESCRIPTION"].value); v != clean(e.Description) {
					t.Fatalf("DESCRIPTION %q, want %q", v, e.Description)
				}
			}
			if cs := splitText(got["CATEGORIES"].value); len(cs) != 2 || cs[0] != e.Categories[0] || cs[1] != e.Categories[1] {
				t.Fatalf("CATEGORIES %q, want %q", cs, e.Categories)
			}
			parseTime := func(p prop) time.Time {
				if strings.HasSuffix(p.value, "Z") {
					tt, err := time.Parse("20060102T150405Z", p.value)
					if err != nil {
						t.Fatal(err)
					}
					return tt
				}
				if p.params != "TZID="+loc.String() {
					t.Fatalf("local time without TZID: %+v", p)
				}
				tt, err := time.ParseInLocation("20060102T150405", p.value, loc)
				if err != nil {
					t.Fatal(err)
				}
				return tt
			}
			if s := parseTime(got["DTSTART"]); !s.Equal(e.Start) {
				t.Fatalf("DTSTART %v, want %v", s, e.Start)
			}
			if s := parseTime(got["DTEND"]); !s.Equal(e.End) {
				t.Fatalf("DTEND %v, want %v", s, e.End)
			}
		}
	}
}

func TestFold(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int // octets per physical line
	}{
		{strings.Repeat("a", 75), []int{75}},
		{strings.Repeat("a", 76), []int{75, 2}},
		{strings.Repeat("a", 75+74), []int{75, 75}},
		{strings.Repeat("a", 74) + "é", []int{74, 3}}, // é would straddle octet 75
		{strings.Repeat("😀", 19), []int{72, 5}},
	} {
		got := Fold(tc.in)
		var lens []int
		for _, l := range strings.Split(got, "\r\n") {
			lens = append(lens, len(l))
			if !utf8.ValidString(l) {
				t.Errorf("Fold split a rune: %q", l)
			}
		}
		if fmt.Sprint(lens) != fmt.Sprint(tc.want) {
			t.Errorf("Fold(%d octets) lines %v, want %v", len(tc.in), lens, tc.want)
		}
		if strings.ReplaceAll(got, "\r\n ", "") != tc.in {
			t.Errorf("unfold(Fold(x)) != x")
		}
	}
}

// TestTimezoneOffsets checks that each VTIMEZONE component's onset, read
// in its TZOFFSETFROM, is the instant Go's zone database switches offsets.
func TestTimezoneOffsets(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skip("no zone database:", err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, sampleCalendar(chicago)); err != nil {
		t.Fatal(err)
	}
	props := parse(t, buf.Bytes())
	n := 0
	for i, p := range props {
		if p.name != "BEGIN" || (p.value != "STANDARD" && p.value != "DAYLIGHT") {
			continue
		}
		dt, from, to := props[i+1].value, props[i+2].value, props[i+3].value
		local, err := time.Parse("20060102T150405", dt)
		if err != nil {
			t.Fatal(err)
		}
		off := func(s string) time.Duration {
			tt, err := time.Parse("-0700", s)
			if err != nil {
				t.Fatal(err)
			}
			_, o := tt.Zone()
			return time.Duration(o) * time.Second
		}
		instant := local.Add(-off(from))
		if n > 0 {
			_, before := instant.Add(-time.Second).In(chicago).Zone()
			if time.Duration(before)*time.Second != off(from) {
				t.Errorf("%s %s: offset before onset %d, TZOFFSETFROM %s", p.value, dt, before, from)
			}
		}
		_, after := instant.In(chicago).Zone()
		if time.Duration(after)*time.Second != off(to) {
			t.Errorf("%s %s: offset at onset %d, TZOFFSETTO %s", p.value, dt, after, to)
		}
		n++
	}
	if n < 4 {
		t.Errorf("only %d zone components for a DST zone over 3 years", n)
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        "plain",
		"a,b;c\\d":     `a\,b\;c\\d`,
		"l1\r\nl2\nl3": `l1\nl2\nl3`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzFoldEscape: folding never exceeds 75 octets, never splits a rune of
// valid input, and unfolds back to the line; escaped text has no raw
// newline, and an unescaped comma or semicolon never survives.
func FuzzFoldEscape(f *testing.F) {
	for _, s := range []string{"", "a", strings.Repeat("é", 80), "x,y;z\\\n\r\n", strings.Repeat("😀a", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if strings.ContainsAny(e, "\r\n") {
			t.Fatalf("Escape(%q) = %q holds a raw newline", s, e)
		}
		line := "DESCRIPTION:" + e
		folded := Fold(line)
		for _, l := range strings.Split(folded, "\r\n") {
			if len(l) > 75 {
				t.Fatalf("physical line of %d octets", len(l))
			}
			if utf8.ValidString(line) && !utf8.ValidString(l) {
				t.Fatalf("a rune was split: %q", l)
			}
		}
		if strings.ReplaceAll(folded, "\r\n ", "") != line {
			t.Fatalf("unfold(Fold(x)) != x for %q", line)
		}
		if utf8.ValidString(s) && !strings.Contains(s, "\r") && unescape(e) != s {
			t.Fatalf("unescape(Escape(%q)) = %q", s, unescape(e))
		}
	})
}
