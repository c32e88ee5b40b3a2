package main

import (
	"fmt"
	"strings"
)

const fieldsTOML = `# The registration form of Grand Bethel 2026, as data: one [[fields]] per
# canonical field, in the column order of out/private/registrations.csv.
# Another platform or another year's form: change this file only
# (docs/registrations.md describes every key).

primaryKey    = "registration_id"
missingValues = [""]     # cell texts that mean blank, for every field
dateOrder     = "MDY"    # the platform writes 7/2/2011 for July 2

# The roles the built-in stages know, bound to fields by name.
[roles]
bethel      = "bethel"
member_type = "member_type"
status      = "payment_status"
days        = "days_attending"

# member_type categories per summary group (columns daughters, adults, guests).
[roles.groups]
daughter = ["daughter"]
adult    = ["adult"]
guest    = ["guest"]

# payment_status values that make a registration inactive: it counts nowhere.
[roles.inactive]
values = ["cancelled", "refunded"]

[[fields]]
name        = "registration_id"
headers     = ["Registration ID"]
constraints = { required = true }

[[fields]]
name    = "submitted_at"
headers = ["Submitted At"]
type    = "datetime"

[[fields]]
name        = "first_name"
headers     = ["First Name"]
sensitive   = true
constraints = { required = true }

[[fields]]
name        = "last_name"
headers     = ["Last Name"]
sensitive   = true
constraints = { required = true }

[[fields]]
name      = "preferred_name"
headers   = ["Preferred Name"]
sensitive = true

[[fields]]
name      = "email"
headers   = ["Email"]
format    = "email"
sensitive = true

[[fields]]
name      = "phone"
headers   = ["Phone"]
format    = "phone"
sensitive = true

[[fields]]
name      = "date_of_birth"
headers   = ["Date of Birth"]
type      = "date"
sensitive = true

# 12, 012, #12, Bethel No. 12, "Bethel 12 - City", or a city or name from
# the directory all mean bethel 12.
[[fields]]
name        = "bethel"
headers     = ["Bethel"]
type        = "integer"
reference   = { resource = "config/bethels.csv", field = "number" }
constraints = { required = true }

[[fields]]
name        = "member_type"
headers     = ["Member Type"]
categories  = ["daughter", "adult", "guest"]
constraints = { required = true }
[fields.aliases]
daughter = ["JD", "Job's Daughter", "Job's Daughters", "Daughter"]
adult    = ["Bethel Guardian", "BG", "ABG", "Associate Bethel Guardian", "Majority Member", "Council", "Adult"]
guest    = ["Parent", "Guest", "Parent/Guardian", "Family"]

[[fields]]
name          = "grand_bethel_office"
headers       = ["Grand Bethel Office"]
missingValues = ["None", "N/A", "NA", "-", "No", "Nothing"]

[[fields]]
name        = "days_attending"
headers     = ["Days Attending"]
type        = "list"
delimiter   = ";"
categories  = ["Friday", "Saturday", "Sunday"]
all         = ["All days", "All", "Whole weekend"]
constraints = { required = true }
[fields.aliases]
Friday   = ["Fri"]
Saturday = ["Sat"]
Sunday   = ["Sun"]

[[fields]]
name       = "banquet_meal"
headers    = ["Banquet Meal"]
categories = ["chicken", "vegetarian", "vegan", "child", "none"]
blank      = "none"
[fields.aliases]
chicken    = ["Chicken", "Roast Chicken"]
vegetarian = ["Veg", "Vegetarian"]
vegan      = ["Vegan (plant based)"]
child      = ["Child's Plate", "Kids Meal", "Child"]
none       = ["None", "No banquet", "Not attending banquet"]

[[fields]]
name          = "dietary_needs"
headers       = ["Dietary Needs"]
sensitive     = true
countable     = true
missingValues = ["None", "N/A", "NA", "-", "No", "Nothing"]

[[fields]]
name          = "allergies"
headers       = ["Allergies"]
sensitive     = true
countable     = true
missingValues = ["None", "N/A", "NA", "-", "No", "Nothing"]

[[fields]]
name       = "tshirt_size"
headers    = ["T-Shirt Size"]
categories = ["YS", "YM", "YL", "XS", "S", "M", "L", "XL", "2XL", "3XL", "4XL"]
[fields.aliases]
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

[[fields]]
name       = "housing"
headers    = ["Housing"]
categories = ["hotel", "dorm", "commuter", "none"]
blank      = "none"
[fields.aliases]
hotel    = ["Hotel", "Hotel - group block"]
dorm     = ["Dorm", "Dormitory"]
commuter = ["Commuting", "Driving in daily"]
none     = ["None", "Not needed"]

[[fields]]
name      = "emergency_contact_name"
headers   = ["Emergency Contact Name"]
sensitive = true

[[fields]]
name      = "emergency_contact_phone"
headers   = ["Emergency Contact Phone"]
format    = "phone"
sensitive = true

[[fields]]
name       = "photo_consent"
headers    = ["Photo Consent"]
categories = ["yes", "no"]
[fields.aliases]
yes = ["Y", "I consent"]
no  = ["N"]

[[fields]]
name    = "amount_paid"
headers = ["Amount Paid"]
format  = "money"

[[fields]]
name        = "payment_status"
headers     = ["Payment Status"]
categories  = ["paid", "pending", "cancelled", "refunded"]
constraints = { required = true }
[fields.aliases]
paid      = ["Complete", "Paid in full"]
pending   = ["Unpaid", "Awaiting payment"]
cancelled = ["Canceled"]
refunded  = ["Refund issued"]
`

const privacyTOML = `# Which fields are sensitive is declared with the fields (sensitive = true
# in config/fields.toml). Public outputs suppress counts below this.
min_cell = 5

# Every sensitive value of the export and the patches, in pkg/scrub's set
# format (the registrations node writes it): the leak gate looks for them
# in every internal and public output after each build.
sensitive_values = ["out/private/registrations.sensitive"]

# Source levels (the engine computes every output's level from them).
# The raw exports and the corrections are private; the program is not
# about anyone.
[sources]
private  = ["inputs/**", "patches/**"]
internal = ["inputs/program.csv", "patches/program/**"]
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
