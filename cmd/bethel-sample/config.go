package main

import (
	"fmt"
	"strings"
)

const columnsTOML = `# Registration export header -> canonical field (docs/registrations.md).
# Another platform with other headers: change only this file.
[columns]
"Registration ID"         = "registration_id"
"Submitted At"            = "submitted_at"
"First Name"              = "first_name"
"Last Name"               = "last_name"
"Preferred Name"          = "preferred_name"
"Email"                   = "email"
"Phone"                   = "phone"
"Date of Birth"           = "date_of_birth"
"Bethel"                  = "bethel"
"Member Type"             = "member_type"
"Grand Bethel Office"     = "grand_bethel_office"
"Days Attending"          = "days_attending"
"Banquet Meal"            = "banquet_meal"
"Dietary Needs"           = "dietary_needs"
"Allergies"               = "allergies"
"T-Shirt Size"            = "tshirt_size"
"Housing"                 = "housing"
"Emergency Contact Name"  = "emergency_contact_name"
"Emergency Contact Phone" = "emergency_contact_phone"
"Photo Consent"           = "photo_consent"
"Amount Paid"             = "amount_paid"
"Payment Status"          = "payment_status"
`

const valuesTOML = `# Messy export values -> canonical values (docs/registrations.md).
# Each table: canonical value = [aliases]. Aliases match case-insensitively,
# ignoring dots and repeated spaces. "empty" says what an empty cell means;
# without it an empty cell is an error. Bethels are parsed, not listed here:
# 12, 012, #12, Bethel No. 12, "Bethel 12 - City", or a city or name from
# config/bethels.csv.

[member_type]
daughter = ["JD", "Job's Daughter", "Job's Daughters", "Daughter"]
adult    = ["Bethel Guardian", "BG", "ABG", "Associate Bethel Guardian", "Majority Member", "Council", "Adult"]
guest    = ["Parent", "Guest", "Parent/Guardian", "Family"]

[tshirt_size]
empty = ""
YS  = ["Youth Small", "Youth S"]
YM  = ["Youth Medium", "Youth M"]
YL  = ["Youth Large", "Youth L"]
XS  = ["Adult XS", "X-Small", "Extra Small"]
S   = ["Small", "Adult S", "Adult Small"]
M   = ["Medium", "Adult M", "Adult Medium"]
L   = ["Large", "Adult L", "Adult Large"]
XL  = ["X-Large", "Adult XL", "Extra Large"]
2XL = ["XXL", "2X"]
3XL = ["XXXL", "3X"]
4XL = ["XXXXL", "4X"]

[banquet_meal]
empty      = "none"
chicken    = ["Chicken", "Roast Chicken"]
vegetarian = ["Veg", "Vegetarian"]
vegan      = ["Vegan (plant based)"]
child      = ["Child's Plate", "Kids Meal", "Child"]
none       = ["None", "No banquet", "Not attending banquet"]

[payment_status]
paid      = ["Complete", "Paid in full"]
pending   = ["Unpaid", "Awaiting payment"]
cancelled = ["Canceled"]
refunded  = ["Refund issued"]

[photo_consent]
empty = ""
yes = ["Y", "I consent"]
no  = ["N"]

[housing]
empty    = "none"
hotel    = ["Hotel", "Hotel - group block"]
dorm     = ["Dorm", "Dormitory"]
commuter = ["Commuting", "Driving in daily"]
none     = ["None", "Not needed"]

[days]
order = ["Friday", "Saturday", "Sunday"]
all   = ["All days", "All", "Whole weekend"]
[days.aliases]
Friday   = ["Fri"]
Saturday = ["Sat"]
Sunday   = ["Sun"]

[free_text]
# In dietary_needs, allergies and grand_bethel_office these mean "nothing".
none = ["None", "N/A", "NA", "-", "No", "Nothing"]
`

const privacyTOML = `# The one declaration of sensitive fields (canonical names). Their values
# never appear in an internal or public output, an error or a log line.
sensitive = [
  "first_name", "last_name", "preferred_name", "email", "phone", "date_of_birth",
  "dietary_needs", "allergies", "emergency_contact_name", "emergency_contact_phone",
]
# Public outputs suppress counts below this.
min_cell = 5
`

// patches writes patch files that show every kind and apply cleanly to
// the generated export: a set with expect, a days fix given as an array, a
// drop of a duplicate, an add of a walk-in, and a many = true set.
func (g *gen) patches() map[string]string {
	active := func(p *person) bool { return p.status == "paid" || p.status == "pending" }
	var fix, kind, days *person
	var dups []*person
	for _, p := range g.ps {
		switch {
		case p.dupOf != nil && active(p) && active(p.dupOf):
			if len(dups) < 2 {
				dups = append(dups, p)
			}
		case fix == nil && p.kind == "daughter" && active(p) && p.dupOf == nil:
			fix = p
		case kind == nil && p.kind == "adult" && active(p):
			kind = p
		case days == nil && active(p) && !(p.days[1] && p.days[2] && !p.days[0]):
			days = p
		}
	}
	other := g.bethels[0]
	if other == fix.bethel {
		other = g.bethels[1]
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# Corrections received by email. Every patch says why and who.

[[patch]]
id     = "bethel-typo-%[1]s"
target = "registrations"
match  = { registration_id = "%[1]s" }
expect = { bethel = "%[2]d" }
set    = { bethel = "%[3]d" }
reason = "Parent confirmed by email: typo on the form, she is in Bethel %[3]d"
author = "Registrar"
date   = 2026-04-02

[[patch]]
id     = "member-type-%[4]s"
target = "registrations"
match  = { registration_id = "%[4]s" }
expect = { member_type = "adult" }
set    = { member_type = "guest" }
reason = "Registered as a Bethel Guardian but is a parent attending as a guest"
author = "Registrar"
date   = 2026-04-05

[[patch]]
id     = "days-%[5]s"
target = "registrations"
match  = { registration_id = "%[5]s" }
set    = { days_attending = ["Saturday", "Sunday"] }
reason = "Arrives Saturday morning after school exams (phone call with guardian)"
author = "Registrar"
date   = 2026-04-11
`, fix.id, fix.bethel.num, other.num, kind.id, days.id)
	out := map[string]string{"10-corrections.toml": b.String()}

	b.Reset()
	b.WriteString("# Duplicate submissions: the report in out/summary/duplicates.csv lists\n# candidates; an organizer confirms each one before it is dropped here.\n")
	for _, d := range dups {
		fmt.Fprintf(&b, `
[[patch]]
id     = "duplicate-%[1]s"
target = "registrations"
match  = { registration_id = "%[1]s" }
drop   = true
reason = "Duplicate of %[2]s: same person submitted twice; family confirmed"
author = "Registrar"
date   = 2026-04-20
`, d.id, d.dupOf.id)
	}
	if len(dups) == 0 {
		b.WriteString("# (none in this export)\n")
	}
	out["20-duplicates.toml"] = b.String()

	walk := g.bethels[len(g.bethels)/2]
	out["30-walk-ins.toml"] = fmt.Sprintf(`# Registrations taken at the door, missing from the platform export.

[[patch]]
id     = "walk-in-W-0001"
target = "registrations"
add    = { registration_id = "W-0001", first_name = "Maren", last_name = "Quilford", bethel = "%d", member_type = "guest", days_attending = ["Saturday"], banquet_meal = "none", housing = "commuter", payment_status = "paid", amount_paid = "35.00", photo_consent = "no" }
reason = "Grandmother registered at the door on Saturday, paid cash"
author = "Door desk"
date   = 2026-06-13
`, walk.num)

	bulk := g.bethels[len(g.bethels)/3]
	out["40-bulk.toml"] = fmt.Sprintf(`# Changes to many registrations at once need many = true.

[[patch]]
id     = "bethel-%[1]d-group-block"
target = "registrations"
match  = { bethel = "%[1]d" }
many   = true
set    = { housing = "hotel" }
reason = "Bethel %[1]d booked the hotel group block for everyone who registered"
author = "Housing chair"
date   = 2026-05-02
`, bulk.num)
	return out
}
