package main

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"bethel/pkg/csvio"
	"bethel/pkg/schema"
)

func guessFile(t *testing.T, path string) (*exportGuess, [][]string, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	header, rows, err := csvio.ReadAll(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return guessExport(header, rows), rows, header
}

// TestGuessSampleExport: the sample's export is declared as the sample's
// fields.toml declares it where it matters: roles, the personal columns,
// the vocabularies; the declaration loads; and neither it nor the report
// holds a value of a personal column.
func TestGuessSampleExport(t *testing.T) {
	g, rows, _ := guessFile(t, filepath.Join("..", "..", "inputs", "registrations.csv"))
	var decl, rep bytes.Buffer
	g.writeFields(&decl, "inputs/registrations.csv")
	g.report(&rep)
	t.Logf("%s\n%s", rep.String(), decl.String())
	if _, err := schema.Parse("config/fields.toml", decl.Bytes()); err != nil {
		t.Fatalf("the guessed declaration does not load: %v", err)
	}
	for role, want := range map[string][2]string{"key": {g.key, "registration_id"}, "bethel": {g.bethel, "bethel"},
		"member type": {g.memberType, "member_type"}, "status": {g.status, "payment_status"}, "days": {g.days, "days_attending"}} {
		if want[0] != want[1] {
			t.Errorf("role %s = %q, want %q", role, want[0], want[1])
		}
	}
	public := map[string]bool{} // values of the other columns ("None")
	for i, f := range g.fields {
		if !f.sensitive {
			for _, r := range rows {
				public[schema.Fold(r[i])] = true
			}
		}
	}
	sensitive := map[string]bool{}
	for i, f := range g.fields {
		sensitive[f.name] = f.sensitive
		if !f.sensitive {
			continue
		}
		for _, r := range rows {
			v := schema.Clean(r[i])
			if len(v) < 4 || public[schema.Fold(v)] {
				continue
			}
			word := regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(v) + `\b`)
			if word.MatchString(decl.String()) || word.MatchString(rep.String()) {
				t.Errorf("a value of the personal column %s (%d characters) is written out", f.name, len(v))
				break
			}
		}
	}
	for _, f := range []string{"first_name", "last_name", "preferred_name", "email", "phone", "date_of_birth", "dietary_needs",
		"allergies", "emergency_contact_name", "emergency_contact_phone"} {
		if !sensitive[f] {
			t.Errorf("%s is not guessed sensitive", f)
		}
	}
	for _, f := range []string{"registration_id", "submitted_at", "bethel", "member_type", "banquet_meal", "t_shirt_size", "housing", "payment_status", "days_attending"} {
		if s, ok := sensitive[f]; !ok || s {
			t.Errorf("%s: declared %v, sensitive %v", f, ok, s)
		}
	}
}

// otherPlatformExport is a synthetic export of another registration
// platform: other headers, no preferred name, office, housing or photo
// consent, a beef meal, member types worded otherwise and a yes/no choir
// question. Its people are invented from fixed lists, deterministically.
func otherPlatformExport(rows int) []byte {
	first := []string{"Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jordan", "Kendall", "Logan"}
	last := []string{"Ashdown", "Brackley", "Cotterill", "Dunmore", "Elstow", "Fernhill", "Gorsuch", "Hatherly"}
	types := []string{"Member", "Member", "Member", "Adult Leader", "Adult Leader", "Visitor"}
	meals := []string{"Beef", "Chicken", "Vegetarian", "Beef", "No meal"}
	days := []string{"Friday, Saturday", "Saturday", "Friday, Saturday, Sunday", "Sunday", "Saturday, Sunday"}
	allergies := []string{"", "", "", "Peanuts", "", "Gluten (celiac)", "", "Dairy", "", ""}
	status := []string{"Confirmed", "Confirmed", "Confirmed", "Waitlist", "Withdrawn"}
	rnd := rand.New(rand.NewSource(11))
	pick := func(l []string) string { return l[rnd.Intn(len(l))] }
	var b strings.Builder
	b.WriteString("Confirmation #,Timestamp,Participant First,Participant Last,E-mail Address,Cell Phone,Birthdate,Chapter Number,Registrant Type,Meal Choice,Sing in Choir?,Food Allergies,Days,Status\n")
	for i := 0; i < rows; i++ {
		f, l := pick(first), pick(last)
		fmt.Fprintf(&b, "C%05d,2026-03-%02d 10:%02d,%s,%s,%s.%s%d@example.net,(555) 01%02d-%04d,%d/%d/20%02d,%d,%s,%s,%s,%s,\"%s\",%s\n",
			7000+i, 1+rnd.Intn(28), rnd.Intn(60), f, l, strings.ToLower(f), strings.ToLower(l), i, rnd.Intn(100), 1000+i, 1+rnd.Intn(12), 1+rnd.Intn(28), 8+rnd.Intn(10),
			[]int{3, 5, 8, 13}[rnd.Intn(4)], pick(types), pick(meals), pick([]string{"Yes", "No", "No"}), pick(allergies),
			pick(days), pick(status))
	}
	return []byte(b.String())
}

// TestInitFromExport scaffolds a workspace from another platform's export
// with the real binary: the declaration loads, the summaries cover its
// questions (the choir), the export is copied byte for byte, and nothing
// it prints or writes to config holds a personal value.
func TestInitFromExport(t *testing.T) {
	tmp := t.TempDir()
	export := otherPlatformExport(60)
	if err := os.WriteFile(filepath.Join(tmp, "export.csv"), export, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "gb")
	r := runBethel(t, tmp, "init", "--from-export", "export.csv", "gb")
	if r.code != 0 {
		t.Fatalf("init --from-export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if read("inputs/registrations.csv") != string(export) {
		t.Error("inputs/registrations.csv is not the export byte for byte")
	}
	sc, err := schema.Load(os.DirFS(dir), "config/fields.toml")
	if err != nil {
		t.Fatalf("the scaffold's fields.toml: %v", err)
	}
	if sc.Roles.Bethel != "chapter_number" || sc.Roles.MemberType != "registrant_type" || sc.Roles.Status != "status" || sc.Roles.Days != "days" {
		t.Errorf("roles %+v", sc.Roles)
	}
	if got := strings.Join(sc.Sensitive(), " "); got != "participant_first participant_last e_mail_address cell_phone birthdate food_allergies" {
		t.Errorf("sensitive fields: %s", got)
	}
	pipe := read("pipeline.toml")
	for _, want := range []string{`rows          = "sing_in_choir"`, `rows          = "meal_choice"`, `"out/summary/sing_in_choir.csv"`, `rows          = ["food_allergies"]`} {
		if !strings.Contains(pipe, want) {
			t.Errorf("pipeline.toml lacks %s", want)
		}
	}
	if !strings.Contains(read("config/bethels.csv"), "\n13,,,\n") {
		t.Errorf("config/bethels.csv lacks bethel 13:\n%s", read("config/bethels.csv"))
	}
	// No personal value in what init printed or wrote to config.
	header, rows, err := csvio.ReadAll(strings.NewReader(string(export)), "export.csv")
	if err != nil {
		t.Fatal(err)
	}
	written := r.stdout + r.stderr + read("config/fields.toml") + read("pipeline.toml")
	for c, h := range header {
		f := sc.Field(fieldName(h, map[string]bool{}))
		if f == nil || !f.Sensitive {
			continue
		}
		for _, row := range rows {
			if v := row[c]; len(v) >= 4 && strings.Contains(written, v) {
				t.Errorf("a value of %q is printed or written to config", h)
				break
			}
		}
	}
}

// FuzzGuessExport: whatever the export holds, the declaration init writes
// loads, and binds the roles it names.
func FuzzGuessExport(f *testing.F) {
	f.Add(otherPlatformExport(12))
	f.Add([]byte("Registration ID,Bethel,Member Type,Days\nR-1,Bethel 12 - Springfield,JD,Fri;Sat\nR-2,#12,Adult,All days\nR-3,7,Guest,Sun\n"))
	f.Add([]byte("a,a,A!,123\n1,2,3,4\n1,2,3,4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		header, rows, err := csvio.ReadAll(bytes.NewReader(data), "export.csv")
		if err != nil || len(header) == 0 {
			return
		}
		g := guessExport(header, rows)
		var decl, rep bytes.Buffer
		g.writeFields(&decl, "export.csv")
		g.report(&rep)
		sc, err := schema.Parse("config/fields.toml", decl.Bytes())
		if err != nil {
			t.Fatalf("the guessed declaration does not load: %v\n%s", err, decl.String())
		}
		if sc.PrimaryKey != g.key || sc.Roles.Bethel != g.bethel || sc.Roles.MemberType != g.memberType || sc.Roles.Days != g.days {
			t.Fatalf("roles %+v, guessed key %q bethel %q member type %q days %q", sc.Roles, g.key, g.bethel, g.memberType, g.days)
		}
	})
}
