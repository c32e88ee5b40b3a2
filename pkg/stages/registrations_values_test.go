package stages

import (
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// testConfig loads the small fixture's config, which is the sample's.
func testConfig(t testing.TB) *regConfig {
	t.Helper()
	fsys := os.DirFS("testdata/registrations/small")
	c := &regConfig{}
	if err := regLoadValues(fsys, "config/values.toml", c); err != nil {
		t.Fatal(err)
	}
	var err error
	if c.bethels, err = LoadBethels(fsys, "config/bethels.csv"); err != nil {
		t.Fatal(err)
	}
	return c
}

type mapCase struct{ raw, want, err string }

func checkMapper(t *testing.T, name string, f func(string) (string, error), cases []mapCase) {
	t.Helper()
	for _, c := range cases {
		got, err := f(c.raw)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != c.want && c.err == "" || gotErr != c.err {
			t.Errorf("%s(%q) = %q, %q; want %q, %q", name, c.raw, got, gotErr, c.want, c.err)
		}
	}
}

func TestMapBethel(t *testing.T) {
	c := testConfig(t)
	checkMapper(t, "bethel", c.parseBethel, []mapCase{
		{"12", "12", ""}, {"012", "12", ""}, {"0012", "12", ""}, {"Bethel 12", "12", ""}, {"Bethel #12", "12", ""},
		{"#12", "12", ""}, {"# 12", "12", ""}, {"Bethel No. 12", "12", ""}, {"Bethel No 12", "12", ""}, {"bethel no.12", "12", ""},
		{"Bethel Number 12", "12", ""}, {"BETHEL 12", "12", ""}, {" 12 ", "12", ""}, {"Bethel 12 - Birchwood", "12", ""},
		{"Bethel 12 – Birchwood", "12", ""}, {"Bethel 12, Birchwood", "12", ""}, {"Bethel #12 (Silver Lake)", "12", ""},
		{"Bethel 12 Birchwood", "12", ""}, {"112", "112", ""}, {"Bethel #112 - Elkport", "112", ""}, {"Elkport", "112", ""},
		{"elkport", "112", ""}, {"Cedar Falls", "21", ""}, {"Bethel Starlight", "21", ""}, {"Starlight", "21", ""},
		{"Bethel of Starlight", "21", ""}, {"7", "7", ""}, {"Bethel 007", "7", ""},
		{"", "", "empty value (want a bethel number such as 12, Bethel #12, or a city in config/bethels.csv)"},
		{"99", "", "unknown bethel (bethel 99 is not in config/bethels.csv)"},
		{"Bethel #0", "", "unknown bethel (0 is not a bethel number)"},
		{"Birchwood", "", "ambiguous bethel (Birchwood has bethels 12, 40; give the number)"},
		{"Bethel 12 - Elkport", "", "contradictory bethel (bethel 12 is Silver Lake in Birchwood, per config/bethels.csv)"},
		{"Springfield", "", "unknown bethel (neither a bethel number nor a city or name in config/bethels.csv)"},
		{"Bethel twelve", "", "unknown bethel (neither a bethel number nor a city or name in config/bethels.csv)"},
	})
}

func TestMapEnums(t *testing.T) {
	c := testConfig(t)
	enum := func(f string) func(string) (string, error) {
		return func(s string) (string, error) { return c.mapEnum(f, s) }
	}
	checkMapper(t, "member_type", enum("member_type"), []mapCase{
		{"JD", "daughter", ""}, {"jd", "daughter", ""}, {"J.D.", "daughter", ""}, {"Job's Daughter", "daughter", ""},
		{"Job\u2019s Daughter", "daughter", ""}, {"  job's   daughters ", "daughter", ""}, {"daughter", "daughter", ""},
		{"Bethel Guardian", "adult", ""}, {"BG", "adult", ""}, {"ABG", "adult", ""}, {"Majority Member", "adult", ""},
		{"Council", "adult", ""}, {"Parent", "guest", ""}, {"Guest", "guest", ""}, {"parent/guardian", "guest", ""},
		{"Alumna", "", "unknown value (want daughter, adult or guest, or add an alias to [member_type] in config/values.toml)"},
		{"", "", `empty value (want daughter, adult or guest; or set empty = "..." in [member_type] of config/values.toml)`},
	})
	checkMapper(t, "tshirt_size", enum("tshirt_size"), []mapCase{
		{"Youth Medium", "YM", ""}, {"youth m", "YM", ""}, {"YM", "YM", ""}, {"Adult M", "M", ""}, {"Medium", "M", ""},
		{"M", "M", ""}, {"XXL", "2XL", ""}, {"2X", "2XL", ""}, {"xxxl", "3XL", ""}, {"4XL", "4XL", ""}, {"Small", "S", ""},
		{"", "", ""}, {"X-Large", "XL", ""},
		{"Youth XXL", "", "unknown value (want YS, YM, YL, XS, S, M, L, XL, 2XL, 3XL or 4XL, or add an alias to [tshirt_size] in config/values.toml)"},
	})
	checkMapper(t, "banquet_meal", enum("banquet_meal"), []mapCase{
		{"Chicken", "chicken", ""}, {"Roast Chicken", "chicken", ""}, {"Veg", "vegetarian", ""}, {"VEGETARIAN", "vegetarian", ""},
		{"Vegan (plant based)", "vegan", ""}, {"Child's Plate", "child", ""}, {"Kids Meal", "child", ""}, {"", "none", ""},
		{"No banquet", "none", ""},
		{"Fish", "", "unknown value (want chicken, vegetarian, vegan, child or none, or add an alias to [banquet_meal] in config/values.toml)"},
	})
	checkMapper(t, "payment_status", enum("payment_status"), []mapCase{
		{"Paid", "paid", ""}, {"Complete", "paid", ""}, {"Unpaid", "pending", ""}, {"Canceled", "cancelled", ""},
		{"Cancelled", "cancelled", ""}, {"Refund issued", "refunded", ""},
		{"", "", `empty value (want paid, pending, cancelled or refunded; or set empty = "..." in [payment_status] of config/values.toml)`},
	})
	checkMapper(t, "photo_consent", enum("photo_consent"), []mapCase{{"Y", "yes", ""}, {"I consent", "yes", ""}, {"n", "no", ""}, {"", "", ""}})
	checkMapper(t, "housing", enum("housing"), []mapCase{{"Hotel - group block", "hotel", ""}, {"Dormitory", "dorm", ""}, {"", "none", ""}, {"Commuting", "commuter", ""}})
}

func TestMapDays(t *testing.T) {
	c := testConfig(t)
	checkMapper(t, "days", c.parseDays, []mapCase{
		{"Friday;Saturday;Sunday", "Friday;Saturday;Sunday", ""}, {"All days", "Friday;Saturday;Sunday", ""},
		{"all", "Friday;Saturday;Sunday", ""}, {"Whole weekend", "Friday;Saturday;Sunday", ""},
		{"Sunday, Friday", "Friday;Sunday", ""}, {"Sat/Sun", "Saturday;Sunday", ""}, {"fri; sat", "Friday;Saturday", ""},
		{"Friday & Sunday", "Friday;Sunday", ""}, {"Friday and Saturday", "Friday;Saturday", ""}, {"Friday;Friday", "Friday", ""},
		{"Saturday;", "Saturday", ""}, {" SUNDAY ", "Sunday", ""},
		{"Fri/Mon", "", "unknown day (want Friday, Saturday, Sunday (or an alias in [days] of config/values.toml) separated by ; , or /)"},
		{"", "", `empty value (want one or more of Friday, Saturday, Sunday separated by ; , or /, or "All days")`},
		{";", "", "unknown day (want Friday, Saturday, Sunday separated by ; , or /)"},
	})
}

func TestMapScalars(t *testing.T) {
	checkMapper(t, "amount", regAmount, []mapCase{
		{"$45.00", "45.00", ""}, {"45", "45.00", ""}, {"45.5", "45.50", ""}, {"USD 1,045.00", "1045.00", ""}, {"", "", ""},
		{"-45", "-45.00", ""}, {"$0", "0.00", ""}, {"-0", "0.00", ""}, {".5", "0.50", ""}, {"045", "45.00", ""},
		{"forty", "", "not an amount (want a number such as 45, 45.50 or $45.00)"},
		{"45.555", "", "not an amount (want a number such as 45, 45.50 or $45.00)"},
	})
	checkMapper(t, "submitted_at", regDateTime, []mapCase{
		{"2026-03-14T09:31:07", "2026-03-14T09:31:07", ""}, {"2026-03-14 09:31:07", "2026-03-14T09:31:07", ""},
		{"2026-03-14T09:31:07Z", "2026-03-14T09:31:07", ""}, {"3/14/2026 9:31 AM", "2026-03-14T09:31:00", ""},
		{"3/14/2026 9:31 pm", "2026-03-14T21:31:00", ""}, {"12/31/2026 12:05 AM", "2026-12-31T00:05:00", ""},
		{"1/2/2026 12:30 PM", "2026-01-02T12:30:00", ""}, {"2024-02-29 23:59:59", "2024-02-29T23:59:59", ""},
		{"2026-02-29 10:00:00", "", "not a date and time (want 2026-03-14 09:31:07, 2026-03-14T09:31:07Z or 3/14/2026 9:31 AM)"},
		{"2026-03-14 24:00:00", "", "not a date and time (want 2026-03-14 09:31:07, 2026-03-14T09:31:07Z or 3/14/2026 9:31 AM)"}, {"3/14/2026 21:31", "2026-03-14T21:31:00", ""}, {"", "", ""},
		{"2026-02-30T09:00:00", "", "not a date and time (want 2026-03-14 09:31:07, 2026-03-14T09:31:07Z or 3/14/2026 9:31 AM)"},
	})
	checkMapper(t, "date_of_birth", regDate, []mapCase{
		{"2010-04-03", "2010-04-03", ""}, {"4/3/2010", "2010-04-03", ""}, {"04/03/2010", "2010-04-03", ""},
		{"2010/4/3", "2010-04-03", ""}, {"2/29/2012", "2012-02-29", ""}, {"12/31/2009", "2009-12-31", ""},
		{"2/29/2011", "", "not a date (want 2010-04-03 or 4/3/2010)"}, {"2011-02-29", "", "not a date (want 2010-04-03 or 4/3/2010)"}, {"April 3, 2010", "2010-04-03", ""}, {"", "", ""},
		{"13/13/2010", "", "not a date (want 2010-04-03 or 4/3/2010)"},
	})
	checkMapper(t, "email", regEmail, []mapCase{
		{"Ava.Ashby@Example.org ", "ava.ashby@example.org", ""}, {"", "", ""},
		{"ava at example.org", "", "not an email address (want one address such as name@example.org)"},
		{"a@b.org, c@d.org", "", "not an email address (want one address such as name@example.org)"},
	})
	c := testConfig(t)
	for raw, want := range map[string]string{"  Mary   Kate ": "Mary Kate", "N/A": "", "none": "", "Peanuts,\nshellfish": "Peanuts, shellfish", "Nuts": "Nuts"} {
		if got := c.cleanText(raw, true); got != want {
			t.Errorf("cleanText(%q) = %q, want %q", raw, got, want)
		}
	}
}

// fuzzMapper checks what every mapper promises whatever the cell: no
// panic; a result is valid UTF-8 without surrounding space and maps to
// itself; an error is a regBadValue. For the mappers of sensitive fields
// (sensitive = true) the error text must not depend on the cell at all,
// which is how they never leak it.
func fuzzMapper(f *testing.F, sensitive bool, seeds []string, m func(c *regConfig) func(string) (string, error)) {
	for _, s := range seeds {
		f.Add(s)
	}
	c := testConfig(f)
	fn := m(c)
	_, constErr := fn("\x01 not a value")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := fn(raw)
		if err != nil {
			if _, ok := err.(*regBadValue); !ok {
				t.Fatalf("error %T %v", err, err)
			}
			if sensitive && err.Error() != constErr.Error() {
				t.Fatalf("error depends on the cell: %v", err)
			}
			return
		}
		if utf8.ValidString(raw) && (!utf8.ValidString(v) || strings.TrimSpace(v) != v) {
			t.Fatalf("%q -> %q", raw, v)
		}
		// Mapping is idempotent: a canonical value maps to itself.
		if v != "" {
			if v2, err := fn(v); err != nil || v2 != v {
				t.Fatalf("%q -> %q -> %q, %v", raw, v, v2, err)
			}
		}
	})
}

func FuzzMapBethel(f *testing.F) {
	fuzzMapper(f, false, []string{"Bethel #12", "012", "Bethel 12 - Birchwood", "Elkport", "Bethel No. 112", "#"},
		func(c *regConfig) func(string) (string, error) { return c.parseBethel })
}

func FuzzMapDays(f *testing.F) {
	fuzzMapper(f, false, []string{"Fri; Sat", "All days", "Saturday/Sunday", "Friday & Sunday", ";"},
		func(c *regConfig) func(string) (string, error) { return c.parseDays })
}

// FuzzMapEnum runs every values.toml table's mapping on each input.
func FuzzMapEnum(f *testing.F) {
	fuzzMapper(f, false, []string{"JD", "Job's Daughter", "BG", "", "Youth Medium", "Veg", "Canceled", "I consent", "Dormitory"},
		func(c *regConfig) func(string) (string, error) {
			fields := []string{"member_type", "tshirt_size", "banquet_meal", "payment_status", "photo_consent", "housing"}
			return func(s string) (string, error) {
				// The first field that knows s answers; its value must
				// also map to itself in that field (fuzzMapper checks
				// idempotence through this same function).
				var first error
				for _, fl := range fields {
					v, err := c.mapEnum(fl, s)
					if err == nil {
						return v, nil
					}
					if first == nil {
						first = err
					}
				}
				return "", first
			}
		})
}

func FuzzMapSize(f *testing.F) {
	fuzzMapper(f, false, []string{"Youth Medium", "XXL", "", "adult m"},
		func(c *regConfig) func(string) (string, error) {
			return func(s string) (string, error) { return c.mapEnum("tshirt_size", s) }
		})
}

func FuzzMapAmount(f *testing.F) {
	fuzzMapper(f, false, []string{"$45.00", "USD 1,045.00", "-0", ".5"},
		func(*regConfig) func(string) (string, error) { return regAmount })
}

func FuzzMapDate(f *testing.F) {
	fuzzMapper(f, true, []string{"4/3/2010", "2010-04-03", "April 3, 2010"},
		func(*regConfig) func(string) (string, error) { return regDate })
}

func FuzzMapDateTime(f *testing.F) {
	fuzzMapper(f, false, []string{"3/14/2026 9:31 AM", "2026-03-14T09:31:07Z"},
		func(*regConfig) func(string) (string, error) { return regDateTime })
}

// FuzzFastDates checks the hand-written fast paths against time.Parse:
// whatever they accept, time.Parse reads the same way.
func FuzzFastDates(f *testing.F) {
	for _, s := range []string{"2010-04-03", "4/3/2010", "2026-03-14T09:31:07", "3/14/2026 9:31 AM", "12/31/2026 12:05 PM"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, ok := regFastDate(s); ok {
			a, err1 := time.Parse("2006-01-02", s)
			b, err2 := time.Parse("1/2/2006", s)
			if (err1 != nil || a.Format("2006-01-02") != v) && (err2 != nil || b.Format("2006-01-02") != v) {
				t.Fatalf("regFastDate(%q) = %q, time.Parse disagrees", s, v)
			}
		}
		if v, ok := regFastDateTime(s); ok {
			found := false
			for _, l := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "1/2/2006 3:04 PM"} {
				if x, err := time.Parse(l, s); err == nil && x.Format("2006-01-02T15:04:05") == v {
					found = true
				}
			}
			if !found {
				t.Fatalf("regFastDateTime(%q) = %q, time.Parse disagrees", s, v)
			}
		}
	})
}

func FuzzMapEmail(f *testing.F) {
	fuzzMapper(f, true, []string{"Ava@Example.org", "a at b", "x@"},
		func(*regConfig) func(string) (string, error) { return regEmail })
}
