package stages

import (
	"bethel/pkg/lineage"

	"context"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"bethel/pkg/stage"
)

func TestDuplicates(t *testing.T) {
	privacy, err := os.ReadFile("testdata/registrations/small/config/privacy.toml")
	if err != nil {
		t.Fatal(err)
	}
	regs := "registration_id,first_name,last_name,date_of_birth,email,bethel\n" +
		"R-3,Zoë,Ashby,2012-04-03,zoe@example.org,12\n" +
		"R-1,zoe,ASHBY,2012-04-03,other@example.org,12\n" +
		"R-2,Zoe,Ash-by,2012-04-04,ZOE@example.org,12\n" +
		"R-4,Mia,Fenley,,mia@example.org,7\n" +
		"R-5,Mia,Fenley,,mia@example.org,7\n" +
		"R-6,Ann,Lee,,,7\n" +
		"R-7,Ann,Lee,,,7\n"
	fsys := fstest.MapFS{
		"out/private/registrations.csv": {Data: []byte(regs)},
		"config/privacy.toml":           {Data: privacy},
	}
	r, rr := workspaceRun(t, fsys, "duplicates", []string{"out/private/registrations.csv", "config/privacy.toml"},
		[]string{"out/summary/duplicates.csv"}, "")
	r.Visibility = stage.Internal
	if err := (registrationsDuplicates{}).Run(context.Background(), r); err != nil {
		t.Fatal(err)
	}
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

	r, _ = workspaceRun(t, fsys, "duplicates", []string{"out/private/registrations.csv", "config/privacy.toml"},
		[]string{"out/public/duplicates.csv"}, "")
	r.Visibility = stage.Public
	err = (registrationsDuplicates{}).Run(context.Background(), r)
	if err == nil || err.Error() != "node duplicates: registrations.duplicates lists registration ids, which are never public; make the node internal" {
		t.Errorf("public: %v", err)
	}
}
