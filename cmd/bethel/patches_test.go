package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const patchesPipeline = `[[node]]
name    = "registrations"
stage   = "registrations.normalize"
inputs  = ["inputs/registrations.csv", "config/fields.toml", "config/bethels.csv", "config/privacy.toml"]
patches = ["patches/registrations/*.toml"]
outputs = ["out/private/registrations.csv", "out/private/registrations.patches.json"]
visibility = "private"
`

// patchesWorkspace copies the stages' small registrations fixture into a
// temporary workspace with a pipeline.toml.
func patchesWorkspace(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "pkg", "stages", "testdata", "registrations", "small")
	dir := t.TempDir()
	for _, f := range []string{"inputs/registrations.csv", "config/fields.toml", "config/bethels.csv",
		"config/privacy.toml", "patches/registrations/10-fixes.toml", "patches/registrations/20-more.toml"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(patchesPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPatchesCommand(t *testing.T) {
	dir := patchesWorkspace(t)
	r := runBethel(t, dir, "patches")
	want := `registrations (target registrations): 6 patches: 5 applied, 1 redundant
  applied   bethel-typo-R-1001  patches/registrations/10-fixes.toml:1  (set)
            reason: Guardian confirmed by email: Bethel 12, not 7
            R-1001: bethel "7" -> "12"
  applied   days-R-1003  patches/registrations/10-fixes.toml:11  (set)
            reason: Phone call: also Sunday; full first name for the badge
            R-1003: days_attending "Friday;Saturday" -> "Friday;Sunday"
            R-1003: first_name <withheld> -> <withheld>
  redundant meal-R-1007-already  patches/registrations/10-fixes.toml:18  (set)
            reason: Confirmed chicken (the export already says so)
            record R-1007 already holds banquet_meal = "chicken" (the export caught up; the patch can be removed)
  applied   duplicate-R-1008  patches/registrations/20-more.toml:1  (drop)
            reason: Duplicate of R-1007: same name and birth date
            R-1008: dropped
  applied   walk-in-W-0001  patches/registrations/20-more.toml:8  (add)
            reason: Paid cash at the door
            W-0001: added with amount_paid = "35.00", bethel = "7", days_attending = "Saturday", first_name = <withheld>, last_name = <withheld>, member_type = "guest", payment_status = "paid", registration_id = "W-0001"
  applied   bethel-21-hotel  patches/registrations/20-more.toml:14  (set)
            reason: Bethel 21 booked the group block
            R-1006: housing "dorm" -> "hotel"
  records: 10 read, 8 active, 1 dropped by patch, 1 cancelled, 1 refunded
`
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("bethel patches wrote out/: %v", err)
	}

	r = runBethel(t, dir, "patches", "--show-private")
	if !strings.Contains(r.stdout, `R-1003: first_name "Bella" -> "Isabella"`) {
		t.Errorf("--show-private:\n%s", r.stdout)
	}

	r = runBethel(t, dir, "patches", "--json")
	var reports []nodeReport
	if err := json.Unmarshal([]byte(r.stdout), &reports); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if len(reports) != 1 || len(reports[0].Report.Patches) != 6 || reports[0].Report.Patches[1].Changes[1].New != "<withheld>" {
		t.Errorf("--json: %s", r.stdout)
	}

	// A refreshed export: R-1001 now says bethel 21, so the typo patch
	// conflicts; the command says so and exits 1.
	p := filepath.Join(dir, "inputs", "registrations.csv")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), "Bethel No. 7,", "Bethel No. 21,", 1)), 0o644)
	r = runBethel(t, dir, "patches")
	if r.code != 1 || !strings.Contains(r.stdout, "  conflict  bethel-typo-R-1001  patches/registrations/10-fixes.toml:1  (set)\n            reason: Guardian confirmed by email: Bethel 12, not 7\n            expect bethel = \"7\", but record R-1001 holds bethel = \"21\"") ||
		!strings.Contains(r.stderr, "1 patches would fail the build") {
		t.Errorf("conflict: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
