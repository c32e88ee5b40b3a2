package stages

import "testing/fstest"

// rosterFields declares the roster tests' fields: the sample's roster
// columns, the bethel directory and the status role.
const rosterFields = `primaryKey = "registration_id"
[roles]
bethel = "bethel"
status = "payment_status"
[roles.inactive]
values = ["cancelled", "refunded"]
[[fields]]
name = "registration_id"
[[fields]]
name      = "bethel"
type      = "integer"
reference = { resource = "config/bethels.csv", field = "number" }
[[fields]]
name      = "last_name"
sensitive = true
[[fields]]
name      = "first_name"
sensitive = true
[[fields]]
name      = "preferred_name"
sensitive = true
[[fields]]
name = "member_type"
[[fields]]
name = "grand_bethel_office"
[[fields]]
name = "days_attending"
[[fields]]
name = "housing"
[[fields]]
name = "tshirt_size"
[[fields]]
name = "banquet_meal"
[[fields]]
name      = "dietary_needs"
sensitive = true
[[fields]]
name      = "allergies"
sensitive = true
[[fields]]
name      = "emergency_contact_name"
sensitive = true
[[fields]]
name      = "emergency_contact_phone"
sensitive = true
[[fields]]
name = "photo_consent"
[[fields]]
name       = "payment_status"
categories = ["paid", "pending", "cancelled", "refunded"]
`

// rosterParams are the sample's roster params.
var rosterParams = map[string]any{
	"columns": []any{"registration_id", "last_name", "first_name", "preferred_name", "member_type",
		"grand_bethel_office", "days_attending", "housing", "tshirt_size", "banquet_meal",
		"dietary_needs", "allergies", "emergency_contact_name", "emergency_contact_phone",
		"photo_consent", "payment_status"},
	"sort": []any{"last_name", "first_name"},
}

// rosterFS is sumFS with the roster's field declaration.
func rosterFS() fstest.MapFS {
	fsys := sumFS()
	fsys["config/fields.toml"] = &fstest.MapFile{Data: []byte(rosterFields)}
	return fsys
}
