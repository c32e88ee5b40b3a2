package patch

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestSyntaxErrorMasked checks that a TOML syntax error in a patch file
// points at the right line and column, shows the line with a caret, and
// echoes no value of the file (the values are minors' data).
func TestSyntaxErrorMasked(t *testing.T) {
	const head = "[[patch]]\nid     = \"fix-name\"\ntarget = \"registrations\"\nmatch  = { registration_id = \"R-1\" }\n"
	for _, c := range []struct {
		name, body string
		want       string // the whole error
	}{
		{"bare value", "set    = { first_name = EmmaSECRET }\nreason = \"x\"\n",
			"f.toml:5:25: expected a value: text needs quotes (\"like this\"), numbers and dates do not\n" +
				"\tset    = { first_name = ********** }\n" +
				"\t                        ^"},
		{"inline table not closed", "set    = { first_name = \"EmmaSECRET\"\nreason = \"Mother SECRET\"\n",
			"f.toml:5:37: inline table not closed: a '}' is missing at the end of this line (or a ',' before the next key)\n" +
				"\tset    = { first_name = \"**********\"\n" +
				"\t                                    ^"},
		{"missing comma", "set    = { first_name = \"EmmaSECRET\" last_name = \"X\" }\nreason = \"x\"\n",
			"f.toml:5:38: expected a comma or an inline table terminator '}'\n" +
				"\tset    = { first_name = \"**********\" last_name = \"*\" }\n" +
				"\t                                     ^"},
		{"newline in string", "set    = { first_name = \"EmmaSECRET }\nreason = \"x\"\n",
			"f.toml:5:38: strings cannot contain newlines\n" +
				"\tset    = { first_name = \"************\n" +
				"\t                                     ^"},
		{"bad date", "set    = { bethel = \"12\" }\nreason = \"x\" # SECRET note\ndate   = 2026-13-01\n",
			"f.toml:7:10: invalid date: write YYYY-MM-DD (2026-05-01)\n" +
				"\tdate   = **********\n" +
				"\t         ^"},
		{"array", "set    = { days_attending = [\"Friday\" \"SECRET\"] }\nreason = \"x\"\n",
			"f.toml:5:39: expected a comma (',') or array terminator (']')\n" +
				"\tset    = { days_attending = [\"******\" \"******\"] }\n" +
				"\t                                      ^"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.toml", []byte(head+c.body))
			if err == nil {
				t.Fatal("no error")
			}
			got := err.Error()
			if got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
			if strings.Contains(got, "SECRET") {
				t.Errorf("the error echoes a value: %s", got)
			}
		})
	}
}

// TestMaskLine checks the masking of single lines: keys and punctuation
// stay, values and comments do not.
func TestMaskLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`[[patch]]`, `[[patch]]`},
		{`id = "a-1" # Emma`, `id = "***" # ****`},
		{`match = { "registration_id" = 'R-1', bethel = 12 }`, `match = { "registration_id" = '***', bethel = ** }`},
		{`add = { days = ["Fri", "Sat"], n = 1.5 }`, `add = { days = ["***", "***"], n = *** }`},
		{`  "Sat", "Sun"]`, `  "***", "***"]`},
		{`x = "a\"b"`, `x = "***"`},
		{`name = "Zoë"`, `name = "***"`},
	} {
		got, off := maskLine(c.in)
		if got != c.want {
			t.Errorf("maskLine(%q) = %q, want %q", c.in, got, c.want)
		}
		if len(off) != len(c.in)+1 || off[len(c.in)] != len(got) {
			t.Errorf("maskLine(%q): offsets %v do not end at %d", c.in, off, len(got))
		}
	}
}

// FuzzMaskLine checks that masking keeps the line's shape: at most one
// character for each (an escape is one), offsets that rise and end at the
// masked line's length.
func FuzzMaskLine(f *testing.F) {
	for _, s := range []string{`set = { first_name = "Emma" }`, `  "Sat", "Sun"]`, `x = "a\"b" # c`, `[[patch]]`, `a = 'b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\n") || !utf8.ValidString(s) {
			return
		}
		got, off := maskLine(s)
		if utf8.RuneCountInString(got) > utf8.RuneCountInString(s) {
			t.Fatalf("maskLine(%q) = %q: %d characters, want %d", s, got, utf8.RuneCountInString(got), utf8.RuneCountInString(s))
		}
		if len(off) != len(s)+1 || off[len(s)] != len(got) {
			t.Fatalf("maskLine(%q): %d offsets ending at %d, want %d ending at %d", s, len(off), off[len(off)-1], len(s)+1, len(got))
		}
		for i := 1; i < len(off); i++ {
			if off[i] < off[i-1] {
				t.Fatalf("maskLine(%q): offsets fall at %d: %v", s, i, off)
			}
		}
	})
}
