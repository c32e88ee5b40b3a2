package schema

import (
	"os"
	"strings"
	"testing"
)

func sample(t testing.TB) *Schema {
	t.Helper()
	s, err := Load(os.DirFS("../.."), "config/fields.toml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCanonical(t *testing.T) {
	s := sample(t)
	tests := []struct {
		field, in, want, err string
	}{
		{"banquet_meal", "Roast  chicken", "chicken", ""},
		{"banquet_meal", "", "none", ""},
		{"banquet_meal", "Beef", "", `unknown value (want chicken, vegetarian, vegan, child or none; or add an alias under [fields.aliases] of field banquet_meal in config/fields.toml)`},
		{"banquet_meal", "vegen", "", `did you mean "vegan"?`},
		{"member_type", "job’s daughter", "daughter", ""},
		{"member_type", "", "", "blank (want daughter, adult or guest; the field is required)"},
		{"tshirt_size", "", "", ""},
		{"tshirt_size", "xxxxl", "4XL", ""},
		{"housing", " ", "none", ""},
		{"days_attending", "Fri/Sat/Sun", "Friday;Saturday;Sunday", ""},
		{"days_attending", "Saturday; fri", "Friday;Saturday", ""},
		{"days_attending", "sat and sun", "Saturday;Sunday", ""},
		{"days_attending", "whole weekend", "Friday;Saturday;Sunday", ""},
		{"days_attending", "Fri;Mon", "", "unknown value (want one or more of Friday, Saturday or Sunday separated by ; , or /; or add an alias"},
		{"allergies", "N/A", "", ""},
		{"allergies", "  Peanuts  and\ttree nuts ", "Peanuts and tree nuts", ""},
		{"grand_bethel_office", "none", "", ""},
		{"email", " Jane.Doe@Example.org", "jane.doe@example.org", ""},
		{"email", "jane.doe", "", "not an email address"},
		{"amount_paid", "USD 1,045.5", "1045.50", ""},
		{"amount_paid", "$45", "45.00", ""},
		{"amount_paid", "-0", "0.00", ""},
		{"amount_paid", "(12.00)", "-12.00", ""},
		{"amount_paid", "($1,234.50)", "-1234.50", ""},
		{"amount_paid", "-$12", "-12.00", ""},
		{"amount_paid", "$-12.5", "-12.50", ""},
		{"amount_paid", "(12.00", "", "not an amount"},
		{"days_attending", "Fri | Sat", "Friday;Saturday", ""},
		{"amount_paid", "45.555", "", "not an amount"},
		{"amount_paid", "", "", ""},
		{"bethel", "012", "12", ""},
		{"bethel", "Bethel 12", "", "not a whole number"},
		{"date_of_birth", "7/2/2011", "2011-07-02", ""},
		{"date_of_birth", "7/2/11", "", "two-digit year"},
		{"submitted_at", "2026-03-14 09:31:07", "2026-03-14T09:31:07", ""},
		{"submitted_at", "3/14/2026 9:31 PM", "2026-03-14T21:31:00", ""},
		{"photo_consent", "I consent", "yes", ""},
		{"registration_id", "", "", "blank"},
		{"registration_id", " R-1 ", "R-1", ""},
	}
	for _, tt := range tests {
		f := s.Field(tt.field)
		got, err := f.Canonical(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s %q: err = %v, want %q", tt.field, tt.in, err, tt.err)
			}
			if err != nil && tt.in != "" && strings.Contains(err.Error(), tt.in) {
				t.Errorf("%s %q: the error shows the value: %v", tt.field, tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s %q = %q, %v; want %q", tt.field, tt.in, got, err, tt.want)
		}
	}
}

// resolver is a directory of two bethels, for the reference binding.
type resolver struct{}

func (resolver) Resolve(raw string) (string, error) {
	switch Fold(raw) {
	case "12", "bethel 12", "springfield":
		return "12", nil
	}
	return "", &ValueError{What: "unknown bethel", Want: "a bethel in config/bethels.csv"}
}

func (resolver) Check(v string) error {
	if v == "12" {
		return nil
	}
	return &ValueError{What: "unknown bethel"}
}

func TestReferenceBound(t *testing.T) {
	s := sample(t)
	f := s.Field("bethel")
	f.Bind(resolver{})
	if v, err := f.Canonical("Springfield"); v != "12" || err != nil {
		t.Errorf("Springfield = %q, %v", v, err)
	}
	_, err := f.Canonical("Shelbyville")
	ve, ok := err.(*ValueError)
	if !ok || ve.Field != "bethel" || ve.What != "unknown bethel" {
		t.Errorf("err = %#v", err)
	}
	if err := f.Check("13"); err == nil {
		t.Error("Check(13) passed")
	}
}

func TestCheck(t *testing.T) {
	s := sample(t)
	tests := []struct {
		field, v string
		ok       bool
	}{
		{"banquet_meal", "chicken", true},
		{"banquet_meal", "Chicken", false},
		{"banquet_meal", "", true},
		{"member_type", "", false},
		{"days_attending", "Friday;Sunday", true},
		{"days_attending", "Sunday;Friday", false},
		{"date_of_birth", "2011-07-02", true},
		{"date_of_birth", "7/2/2011", false},
		{"submitted_at", "2026-03-14T09:31:07", true},
		{"amount_paid", "45.00", true},
		{"amount_paid", "45", false},
		{"email", "a@b.org", true},
		{"email", "A@b.org", false},
		{"first_name", "Ann", true},
		{"first_name", " Ann", false},
	}
	for _, tt := range tests {
		err := s.Field(tt.field).Check(tt.v)
		if (err == nil) != tt.ok {
			t.Errorf("Check %s %q = %v, want ok=%v", tt.field, tt.v, err, tt.ok)
		}
	}
}

func TestBoolean(t *testing.T) {
	s, err := Parse("f.toml", []byte("primaryKey = \"id\"\n[[fields]]\nname = \"id\"\n[[fields]]\nname = \"choir\"\ntype = \"boolean\"\ntrueValues = [\"yes\", \"Y\", \"I will sing\"]\nfalseValues = [\"no\", \"N\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := s.Field("choir")
	for in, want := range map[string]string{"Y": "yes", "i will sing": "yes", "No": "no", "": ""} {
		if got, err := f.Canonical(in); got != want || err != nil {
			t.Errorf("%q = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := f.Canonical("maybe"); err == nil || !strings.Contains(err.Error(), "want yes or no") {
		t.Errorf("maybe: %v", err)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in    string
		order DateOrder
		want  string
		err   string
	}{
		{"2011-07-02", MDY, "2011-07-02", ""},
		{"2011/7/2", DMY, "2011-07-02", ""},
		{"7/2/2011", MDY, "2011-07-02", ""},
		{"7/2/2011", DMY, "2011-02-07", ""},
		{"07-02-2011", MDY, "2011-07-02", ""},
		{"7.2.2011", DMY, "", "not a date"},
		{"July 2, 2011", DMY, "2011-07-02", ""},
		{"Jul 2 2011", MDY, "2011-07-02", ""},
		{"2 July 2011", MDY, "2011-07-02", ""},
		{"2nd Sept. 2011", MDY, "2011-09-02", ""},
		{"2/29/2012", MDY, "2012-02-29", ""},
		{"2/29/2011", MDY, "", "not a date"},
		{"25/12/2011", MDY, "", "day and month read in MDY order"},
		{"7/2/11", MDY, "", "two-digit year"},
		{"July 2, 11", MDY, "", "two-digit year"},
		{"2011-7-32", MDY, "", "not a date"},
		{"tomorrow", MDY, "", "not a date"},
		{"", MDY, "", "not a date"},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in, tt.order)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseDate(%q, %s) = %q, %v; want error %q", tt.in, tt.order, got, err, tt.err)
			}
			continue
		}
		if got != tt.want || err != nil {
			t.Errorf("ParseDate(%q, %s) = %q, %v; want %q", tt.in, tt.order, got, err, tt.want)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"2026-03-14T09:31:07", "2026-03-14T09:31:07", ""},
		{"2026-03-14 09:31:07", "2026-03-14T09:31:07", ""},
		{"2026-03-14 09:31", "2026-03-14T09:31:00", ""},
		{"2026-03-14T09:31:07Z", "2026-03-14T09:31:07", ""},
		{"2026-03-14T09:31:07.250-05:00", "2026-03-14T09:31:07", ""},
		{"3/14/2026 9:31 AM", "2026-03-14T09:31:00", ""},
		{"3/14/2026 12:05:09PM", "2026-03-14T12:05:09", ""},
		{"3/14/2026 12:05 am", "2026-03-14T00:05:00", ""},
		{"March 14, 2026 9:31 PM", "2026-03-14T21:31:00", ""},
		{"2026-03-14", "2026-03-14T00:00:00", ""},
		{"2026-03-14 24:00", "", "not a date and time"},
		{"3/14/2026 13:00 PM", "", "not a date and time"},
		{"3/14/26 9:31", "", "two-digit year"},
	}
	for _, tt := range tests {
		got, err := ParseDateTime(tt.in, MDY)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseDateTime(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if got != tt.want || err != nil {
			t.Errorf("ParseDateTime(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestColumns(t *testing.T) {
	s := sample(t)
	header := strings.Split("Registration ID,Submitted At,First Name,Last Name,Email,Phone,Date of Birth,Bethel,member type,Days Attending,Banquet Meal,Dietary Needs,Allergies ,T-Shirt Size,Emergency Contact Name,Emergency Contact Phone,Amount Paid,Payment Status,Coupon Code", ",")
	c, err := s.Columns("inputs/registrations.csv", header)
	if err != nil {
		t.Fatal(err)
	}
	if c.Index[s.Index("member_type")] != 8 || c.Index[s.Index("allergies")] != 12 {
		t.Errorf("index = %v", c.Index)
	}
	if got := strings.Join(c.Extra, ","); got != "Coupon Code" {
		t.Errorf("extra = %q", got)
	}
	want := "inputs/registrations.csv:1: no column for optional field(s) preferred_name, grand_bethel_office, housing, photo_consent: blank in every record"
	if got := c.MissingWarning("inputs/registrations.csv"); got != want {
		t.Errorf("warning = %q\nwant %q", got, want)
	}
	header[7] = "Bethel #"
	_, err = s.Columns("inputs/registrations.csv", header)
	for _, w := range []string{`inputs/registrations.csv:1: no column for field "bethel" (headers "Bethel"), but the export has "Bethel #": if the platform renamed the column, add the new header to the field at config/fields.toml:`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("err lacks %q:\n%v", w, err)
		}
	}
	header[7] = "Chapter"
	_, err = s.Columns("inputs/registrations.csv", header)
	for _, w := range []string{`inputs/registrations.csv:1: no column for required field "bethel" (headers "Bethel"); if the platform renamed it, add the new header to the field at config/fields.toml:`, `closest header in the export: `} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("err lacks %q:\n%v", w, err)
		}
	}
}

func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"2026-03-14T09:31:07", "3/14/2026 9:31 AM", "July 2, 2011", "7/2/11", "2026-03-14T09:31:07.250-05:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseDateTime(s, MDY); err == nil {
			if v2, err := ParseDateTime(v, DMY); err != nil || v2 != v {
				t.Fatalf("%q -> %q -> %q, %v", s, v, v2, err)
			}
		}
		if v, err := ParseDate(s, DMY); err == nil {
			if v2, err := ParseDate(v, MDY); err != nil || v2 != v {
				t.Fatalf("%q -> %q -> %q, %v", s, v, v2, err)
			}
		}
	})
}

// FuzzCanonical: every field of the sample's declaration maps any text
// without panicking, and a canonical value maps to itself and passes
// Check.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"JD", "Fri; Sat", "All days", "Youth Medium", "$45", "7/2/2011", "N/A", "Bethel 12"} {
		f.Add(s)
	}
	s := sample(f)
	f.Fuzz(func(t *testing.T, in string) {
		for _, fl := range s.Fields {
			v, err := fl.Canonical(in)
			if err != nil || v == "" || fl.Reference != nil {
				continue
			}
			if v2, err := fl.Canonical(v); err != nil || v2 != v {
				t.Fatalf("field %s: %q -> %q -> %q, %v", fl.Name, in, v, v2, err)
			}
			if err := fl.Check(v); err != nil {
				t.Fatalf("field %s: canonical %q fails Check: %v", fl.Name, v, err)
			}
		}
	})
}
