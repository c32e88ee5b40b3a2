package stages

import (
	"bethel/pkg/lineage"

	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"bethel/pkg/stage"
)

// runDuplicates runs the duplicate report, internal, over regs as the
// normalized registrations.
func runDuplicates(t *testing.T, regs string) (fstest.MapFS, *regRun) {
	t.Helper()
	fsys := fstest.MapFS{"out/private/registrations.csv": {Data: []byte(regs)}}
	for _, f := range []string{"config/privacy.toml", "config/fields.toml"} {
		b, err := os.ReadFile("testdata/registrations/small/" + f)
		if err != nil {
			t.Fatal(err)
		}
		fsys[f] = &fstest.MapFile{Data: b}
	}
	r, rr := workspaceRun(t, fsys, "duplicates", []string{"out/private/registrations.csv", "config/fields.toml", "config/privacy.toml"},
		[]string{"out/summary/duplicates.csv"}, "")
	r.Visibility = stage.Internal
	if err := (registrationsDuplicates{}).Run(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return fsys, rr
}

func TestDuplicates(t *testing.T) {
	regs := "registration_id,first_name,last_name,date_of_birth,email,bethel\n" +
		"R-3,Zoë,Ashby,2012-04-03,zoe@example.org,12\n" +
		"R-1,zoe,ASHBY,2012-04-03,other@example.org,12\n" +
		"R-2,Zoe,Ash-by,2012-04-04,ZOE@example.org,12\n" +
		"R-4,Mia,Fenley,,mia@example.org,7\n" +
		"R-5,Mia,Fenley,,mia@example.org,7\n" +
		"R-6,Ann,Lee,,,7\n" +
		"R-7,Ann,Lee,,,7\n"
	fsys, rr := runDuplicates(t, regs)
	got := rr.outputs["out/summary/duplicates.csv"].String()
	want := "\uFEFFregistration_id_a,registration_id_b,rule\n" +
		"R-1,R-3,name_birth_date\n" +
		"R-2,R-3,email_name\n" +
		"R-4,R-5,email_name\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if len(rr.warnings) != 1 || !strings.HasPrefix(rr.warnings[0], "3 possible duplicate pairs") {
		t.Errorf("warnings %q", rr.warnings)
	}
	for _, name := range []string{"Zoë", "zoe", "Ashby", "Fenley", "@"} {
		if strings.Contains(got, name) {
			t.Errorf("output holds %q", name)
		}
	}
	lin := rr.lineage["out/summary/duplicates.csv"]
	var rows []lineage.Row
	for i := 0; i < lin.NumRows(); i++ {
		rows = append(rows, lin.Row(i))
	}
	if len(rows) != 3 || rows[0].Refs[0].Row != 1 || rows[0].Refs[1].Row != 0 {
		t.Errorf("lineage %+v", rows)
	}

	r, _ := workspaceRun(t, fsys, "duplicates", []string{"out/private/registrations.csv", "config/fields.toml", "config/privacy.toml"},
		[]string{"out/public/duplicates.csv"}, "")
	r.Visibility = stage.Public
	err := (registrationsDuplicates{}).Run(context.Background(), r)
	if err == nil || err.Error() != "node duplicates: registrations.duplicates lists registration ids, which are never public; make the node internal" {
		t.Errorf("public: %v", err)
	}
}

// TestDuplicatesLargeGroup: a name and birth date shared by more than
// dupMaxGroup registrations pairs only the first dupMaxGroup of them in
// file order (not id order, not hash order) and warns; groups are found
// among many other keys (the sort groups equal keys wherever they are).
func TestDuplicatesLargeGroup(t *testing.T) {
	var b strings.Builder
	b.WriteString("registration_id,first_name,last_name,date_of_birth,email,bethel\n")
	// 25 of the same person, ids descending in file order, between 2000
	// distinct people.
	for i := 0; i < 2000; i++ {
		// Names compare by their letters only: spell i in letters.
		fmt.Fprintf(&b, "R-A%04d,N%s,L%s,2010-01-01,,7\n", i, letters(i), letters(i))
		if i%80 == 0 && i/80 < 25 {
			fmt.Fprintf(&b, "R-Z%02d,Same,Person,2011-02-03,,7\n", 99-i/80)
		}
	}
	_, rr := runDuplicates(t, b.String())
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(rr.outputs["out/summary/duplicates.csv"].String(), "\uFEFF")), "\n")[1:]
	if len(lines) != dupMaxGroup*(dupMaxGroup-1)/2 {
		t.Fatalf("%d pairs, want %d", len(lines), dupMaxGroup*(dupMaxGroup-1)/2)
	}
	// The first 20 in file order are R-Z99 down to R-Z80.
	for _, l := range lines {
		for _, id := range strings.Split(l, ",")[:2] {
			if id < "R-Z80" || id > "R-Z99" {
				t.Fatalf("pair %q: %s is not among the first %d of the group in file order", l, id, dupMaxGroup)
			}
		}
	}
	if len(rr.warnings) != 2 || !strings.Contains(rr.warnings[1], "1 groups of more than 20") {
		t.Errorf("warnings %q", rr.warnings)
	}
}

func letters(i int) string {
	s := ""
	for {
		s = string(rune('a'+i%26)) + s
		i /= 26
		if i == 0 {
			return s
		}
	}
}
