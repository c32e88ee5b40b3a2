package patch

import (
	"strings"
	"testing"
)

// TestParseRefusesDeepNesting: a patch file nesting inline tables past the
// TOML guard's limit is refused before decoding, with file:line:col.
func TestParseRefusesDeepNesting(t *testing.T) {
	src := "[[patch]]\nid = \"x\"\nset = { a = " + strings.Repeat("{b = ", 40) + "1" + strings.Repeat("}", 40) + " }\n"
	_, err := Parse("patches/registrations/deep.toml", []byte(src))
	if err == nil || !strings.HasPrefix(err.Error(), "patches/registrations/deep.toml:3:") || !strings.Contains(err.Error(), "nest more than 8 deep") {
		t.Fatalf("Parse = %v", err)
	}
}
