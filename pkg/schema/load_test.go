package schema

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// base is a small valid declaration the error cases below edit.
const base = `primaryKey = "id"

[roles]
member_type = "kind"
status      = "status"
days        = "days"
[roles.groups]
daughter = ["daughter"]
adult    = ["adult"]
[roles.inactive]
values = ["cancelled"]

[[fields]]
name    = "id"
headers = ["ID"]

[[fields]]
name       = "kind"
categories = ["daughter", "adult"]
[fields.aliases]
daughter = ["JD"]

[[fields]]
name       = "status"
categories = ["paid", "cancelled"]

[[fields]]
name       = "days"
type       = "list"
categories = ["Fri", "Sat"]
`

func TestLoadSample(t *testing.T) {
	s, err := Load(os.DirFS("../.."), "config/fields.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.Fields); got != 22 {
		t.Errorf("%d fields, want 22", got)
	}
	want := "first_name last_name preferred_name email phone date_of_birth dietary_needs allergies emergency_contact_name emergency_contact_phone"
	if got := strings.Join(s.Sensitive(), " "); got != want {
		t.Errorf("sensitive = %s\nwant %s", got, want)
	}
	if s.PrimaryKey != "registration_id" || !s.Field("registration_id").Required {
		t.Errorf("primary key %q not required", s.PrimaryKey)
	}
	if s.Roles.Bethel != "bethel" || s.Roles.Days != "days_attending" || strings.Join(s.Roles.GroupOrder, ",") != "daughter,adult,guest" {
		t.Errorf("roles = %+v", s.Roles)
	}
	if !s.IsInactive("refunded") || s.IsInactive("paid") {
		t.Error("inactive statuses wrong")
	}
	if f := s.Field("days_attending"); f.Line == 0 || !f.IsList() {
		t.Errorf("days_attending: %+v", f)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		want []string // each must appear in the error
	}{
		{"toml syntax", func(s string) string { return s + "[[fields]\n" }, []string{"fields.toml:32:"}},
		{"wrong type", func(s string) string {
			return strings.Replace(s, `categories = ["paid", "cancelled"]`, `categories = "paid"`, 1)
		}, []string{"fields.toml:25:", "fields.categories", "incompatible types"}},
		{"unknown top key", func(s string) string { return "primaryKeys = 1\n" + s }, []string{"fields.toml:1:", `unknown key "primaryKeys"`, `did you mean "primaryKey"?`}},
		{"key case", func(s string) string { return strings.Replace(s, "primaryKey", "primarykey", 1) }, []string{"fields.toml:1:", `keys are case-sensitive; write "primaryKey"`}},
		{"unknown field key", func(s string) string {
			return strings.Replace(s, `headers = ["ID"]`, "headers = [\"ID\"]\nheader = \"x\"", 1)
		}, []string{"fields.toml:16:", `unknown key "header" in [fields]`, `did you mean "headers"?`}},
		{"unknown role key", func(s string) string { return strings.Replace(s, `days        = "days"`, `day = "days"`, 1) }, []string{"fields.toml:6:", `unknown key "day" in [roles]`, `did you mean "days"?`}},
		{"unknown type", func(s string) string { return strings.Replace(s, `type       = "list"`, `type       = "lst"`, 1) }, []string{"fields.toml:29:", `unknown type "lst" (want string, integer, number, date, datetime, boolean or list)`, `did you mean "list"?`}},
		{"unknown format", func(s string) string {
			return strings.Replace(s, `headers = ["ID"]`, "headers = [\"ID\"]\nformat = \"emial\"", 1)
		}, []string{"fields.toml:16:", `unknown string format "emial" (want email, phone or money)`, `did you mean "email"?`}},
		{"format on date", func(s string) string {
			return s + "[[fields]]\nname = \"dob\"\ntype = \"date\"\nformat = \"email\"\n"
		}, []string{"fields.toml:34:", "a date field takes no format"}},
		{"no name", func(s string) string { return s + "[[fields]]\ntype = \"date\"\n" }, []string{"fields.toml:31:", "field 5 has no name"}},
		{"bad name", func(s string) string { return s + "[[fields]]\nname = \"First Name\"\n" }, []string{"fields.toml:32:", `field name "First Name": use lower case`}},
		{"twice", func(s string) string { return s + "[[fields]]\nname = \"id\"\nheaders=[\"X\"]\n" }, []string{"fields.toml:32:", `field "id" is declared twice (first at line 13)`}},
		{"header twice", func(s string) string { return s + "[[fields]]\nname = \"x\"\nheaders=[\"id \"]\n" }, []string{"fields.toml:33:", `header "id " is already the header of field "id"`}},
		{"alias of unknown", func(s string) string { return strings.Replace(s, `daughter = ["JD"]`, `daugther = ["JD"]`, 1) }, []string{"fields.toml:21:", `aliases of "daugther", which is not a category (want daughter or adult)`, `did you mean "daughter"?`}},
		{"alias twice", func(s string) string {
			return strings.Replace(s, `daughter = ["JD"]`, "daughter = [\"JD\"]\nadult = [\"j.d.\"]", 1)
		}, []string{"fields.toml:21:", `alias "JD" means both "adult" and "daughter"`}},
		{"category twice", func(s string) string {
			return strings.Replace(s, `["paid", "cancelled"]`, `["paid", "cancelled", "paid"]`, 1)
		}, []string{"fields.toml:25:", `category "paid" is listed twice`}},
		{"category blank", func(s string) string {
			return strings.Replace(s, `["paid", "cancelled"]`, `["paid", "cancelled", " "]`, 1)
		}, []string{"fields.toml:25:", `a category is not blank`}},
		{"category with delimiter", func(s string) string { return strings.Replace(s, `["Fri", "Sat"]`, `["Fri", "Sat;Sun"]`, 1) }, []string{"fields.toml:30:", `holds the delimiter ";"`}},
		{"list without categories", func(s string) string { return strings.Replace(s, `categories = ["Fri", "Sat"]`, ``, 1) }, []string{"fields.toml:27:", "a list field needs its categories"}},
		{"categories on date", func(s string) string { return s + "[[fields]]\nname = \"d\"\ntype = \"date\"\ncategories = [\"x\"]\n" }, []string{"fields.toml:34:", "categories is only for string (without format) or list fields, not date"}},
		{"delimiter on string", func(s string) string { return s + "[[fields]]\nname = \"d\"\ndelimiter = \",\"\n" }, []string{"fields.toml:33:", "delimiter is only for list fields"}},
		{"trueValues on string", func(s string) string { return s + "[[fields]]\nname = \"d\"\ntrueValues = [\"y\"]\n" }, []string{"fields.toml:33:", "trueValues is only for boolean fields"}},
		{"true and false", func(s string) string {
			return s + "[[fields]]\nname = \"d\"\ntype = \"boolean\"\ntrueValues = [\"yes\"]\nfalseValues = [\"no\", \"Yes\"]\n"
		}, []string{"fields.toml:35:", `"Yes" is both a true and a false value`}},
		{"blank not a category", func(s string) string {
			return strings.Replace(s, `categories = ["paid", "cancelled"]`, "categories = [\"paid\", \"cancelled\"]\nblank = \"payd\"", 1)
		}, []string{"fields.toml:26:", `blank = "payd": unknown value (want paid or cancelled; did you mean "paid"?)`}},
		{"countable not sensitive", func(s string) string { return s + "[[fields]]\nname = \"d\"\ncountable = true\n" }, []string{"fields.toml:33:", "countable only matters on a sensitive field"}},
		{"reference incomplete", func(s string) string {
			return s + "[[fields]]\nname = \"b\"\ntype = \"integer\"\nreference = { resource = \"config/bethels.csv\" }\n"
		}, []string{"fields.toml:34:", "reference needs resource"}},
		{"reference on date", func(s string) string {
			return s + "[[fields]]\nname = \"b\"\ntype = \"date\"\nreference = { resource = \"x.csv\", field = \"n\" }\n"
		}, []string{"fields.toml:34:", "reference is only for integer or string fields"}},
		{"no primary key", func(s string) string { return strings.Replace(s, `primaryKey = "id"`, ``, 1) }, []string{"fields.toml:1:", "primaryKey is missing"}},
		{"primary key unknown", func(s string) string { return strings.Replace(s, `primaryKey = "id"`, `primaryKey = "ids"`, 1) }, []string{"fields.toml:1:", `primaryKey "ids" is not a declared field`, `did you mean "id"?`}},
		{"role unknown", func(s string) string { return strings.Replace(s, `status      = "status"`, `status      = "statu"`, 1) }, []string{"fields.toml:5:", `roles.status = "statu" is not a declared field`, `did you mean "status"?`}},
		{"days not a list", func(s string) string { return strings.Replace(s, `days        = "days"`, `days        = "id"`, 1) }, []string{"fields.toml:6:", `the days field must be a list`}},
		{"group category unknown", func(s string) string { return strings.Replace(s, `adult    = ["adult"]`, `adult    = ["adults"]`, 1) }, []string{"fields.toml:9:", `roles.groups.adult: "adults" is not a category of kind (want daughter or adult)`, `did you mean "adult"?`}},
		{"group twice", func(s string) string { return strings.Replace(s, `adult    = ["adult"]`, `adult    = ["daughter"]`, 1) }, []string{"fields.toml:9:", `"daughter" is in both daughter and adult`}},
		{"inactive unknown", func(s string) string { return strings.Replace(s, `values = ["cancelled"]`, `values = ["canceled"]`, 1) }, []string{"fields.toml:11:", `roles.inactive: "canceled" is not a category of status (want paid or cancelled)`, `did you mean "cancelled"?`}},
		{"date order", func(s string) string { return "dateOrder = \"YMD\"\n" + s }, []string{"fields.toml:1:", `dateOrder "YMD" is not MDY`}},
		{"no fields", func(string) string { return "primaryKey = \"id\"\n" }, []string{"fields.toml:1:", "no [[fields]]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("config/fields.toml", []byte(tt.edit(base)))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadBase(t *testing.T) {
	s, err := Parse("f.toml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if s.Field("kind").Categories[1] != "adult" || s.Roles.Groups["adult"] != "adult" {
		t.Errorf("%+v", s.Roles)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(fstest.MapFS{}, "config/fields.toml")
	if err == nil || !strings.Contains(err.Error(), "config/fields.toml") {
		t.Errorf("err = %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(base))
	if data, err := os.ReadFile("../../config/fields.toml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("primaryKey = \"a\"\n[[fields]]\nname = \"a\"\ntype = \"boolean\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.toml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.toml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, fl := range s.Fields {
			for _, in := range []string{"", "x", "12", "7/2/2011", "a;b", "N/A", "2026-03-14 09:31:07"} {
				v, err := fl.Canonical(in)
				if err != nil {
					continue
				}
				if v != "" && fl.Reference == nil {
					// Canonical values are fixed points.
					if v2, err := fl.Canonical(v); err != nil || v2 != v {
						t.Fatalf("field %s: %q -> %q -> %q, %v", fl.Name, in, v, v2, err)
					}
				}
			}
		}
	})
}
