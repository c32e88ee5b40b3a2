package stages

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/BurntSushi/toml"

	"bethel/pkg/lineage"
	"bethel/pkg/stage"
)

const sumRegs = "registration_id,bethel,member_type,banquet_meal,tshirt_size,days_attending,housing,dietary_needs,allergies,payment_status,first_name\n" +
	"R-1,12,daughter,chicken,YM,Friday;Saturday,hotel,Vegetarian,,paid,Alice\n" +
	"R-2,12,adult,vegan,XL,Friday,dorm,,Peanuts,paid,Bob\n" +
	"R-3,21,daughter,chicken,,Saturday,hotel,gluten free please,,pending,Cora\n" +
	"R-4,21,guest,none,M,,none,Kosher,,paid,Dan\n" +
	"R-5,12,daughter,child,YS,Friday,hotel,,,cancelled,Eve\n"

func sumFS() fstest.MapFS {
	return fstest.MapFS{
		"out/private/registrations.csv": {Data: []byte(sumRegs)},
		"config/privacy.toml":           {Data: []byte("min_cell = 5\n")},
		"config/bethels.csv":            {Data: []byte("number,name,city,district\n12,Twelve,B,D1\n21,TwentyOne,C,D2\n30,Thirty,D,D3\n")},
		"config/fields.toml": {Data: []byte(`primaryKey = "registration_id"
[roles]
member_type = "member_type"
status      = "payment_status"
[roles.groups]
daughter = ["daughter"]
adult    = ["adult"]
guest    = ["guest"]
[roles.inactive]
values = ["cancelled", "refunded"]
[[fields]]
name = "registration_id"
[[fields]]
name      = "bethel"
type      = "integer"
reference = { resource = "config/bethels.csv", field = "number" }
[[fields]]
name       = "member_type"
categories = ["daughter", "adult", "guest"]
[[fields]]
name       = "banquet_meal"
categories = ["chicken", "vegetarian", "vegan", "child", "none"]
[[fields]]
name       = "tshirt_size"
categories = ["YS", "YM", "YL", "XS", "S", "M", "L", "XL", "2XL", "3XL", "4XL"]
[[fields]]
name       = "days_attending"
type       = "list"
categories = ["Friday", "Saturday", "Sunday"]
[[fields]]
name       = "housing"
categories = ["hotel", "dorm", "none"]
[[fields]]
name      = "dietary_needs"
sensitive = true
countable = true
[[fields]]
name      = "allergies"
sensitive = true
countable = true
[[fields]]
name       = "payment_status"
categories = ["paid", "pending", "cancelled", "refunded"]
[[fields]]
name      = "first_name"
sensitive = true
`)},
	}
}

type sumResult struct {
	out      map[string]string
	lineage  map[string]*lineage.Recorder
	warnings []string
}

func runStage(t *testing.T, s stage.Stage, fsys fstest.MapFS, vis stage.Visibility, inputs, outputs []string, params map[string]any) (*sumResult, error) {
	t.Helper()
	res := &sumResult{out: map[string]string{}, lineage: map[string]*lineage.Recorder{}}
	bufs := map[string]*bytes.Buffer{}
	r := engineDecl(&stage.Run{Node: "n", Inputs: inputs, Outputs: outputs, Visibility: vis, Params: params, FS: fsys,
		Create: func(p string) (io.Writer, error) {
			bufs[p] = &bytes.Buffer{}
			return bufs[p], nil
		},
		Lineage: func(p string) *lineage.Recorder {
			if res.lineage[p] == nil {
				res.lineage[p] = &lineage.Recorder{}
			}
			return res.lineage[p]
		},
		Warnf: func(f string, a ...any) { res.warnings = append(res.warnings, fmt.Sprintf(f, a...)) },
	})
	err := s.Run(context.Background(), r)
	for p, b := range bufs {
		res.out[p] = strings.TrimPrefix(b.String(), "\uFEFF")
	}
	return res, err
}

var regIn = []string{"out/private/registrations.csv", "config/privacy.toml"}

// byMember are the params of a summary with member type columns.
func byMember(p map[string]any) map[string]any {
	out := map[string]any{"columns": "member_type",
		"column_labels": map[string]any{"daughter": "daughters", "adult": "adults", "guest": "guests"}}
	for k, v := range p {
		out[k] = v
	}
	return out
}

var dietaryParams = byMember(map[string]any{"rows": []any{"dietary_needs", "allergies"}, "keywords": map[string]any{
	"vegetarian": []any{"vegetarian"}, "nut allergy": []any{"peanut", "tree nut"}, "gluten free": []any{"gluten"}}})

func TestSummaries(t *testing.T) {
	withValues := append(regIn, "config/fields.toml")
	for _, tc := range []struct {
		name   string
		inputs []string
		params map[string]any
		want   string
	}{
		{"attendance", append(withValues, "config/bethels.csv"), byMember(map[string]any{"rows": "bethel", "labels": map[string]any{"bethel_name": "name"}, "total_row": true}),
			"bethel,bethel_name,daughters,adults,guests,total\n12,Twelve,1,1,0,2\n21,TwentyOne,1,0,1,2\n30,Thirty,0,0,0,0\nTOTAL,,2,1,1,4\n"},
		{"meals", withValues, byMember(map[string]any{"rows": "banquet_meal", "label": "meal"}),
			"meal,daughters,adults,guests,total\nchicken,2,0,0,2\nvegetarian,0,0,0,0\nvegan,0,1,0,1\nchild,0,0,0,0\nnone,0,0,1,1\n"},
		{"tshirts", withValues, map[string]any{"rows": "tshirt_size", "label": "size", "skip_blank": true},
			"size,count\nYS,0\nYM,1\nYL,0\nXS,0\nS,0\nM,1\nL,0\nXL,1\n2XL,0\n3XL,0\n4XL,0\n"},
		{"tshirts-blank", withValues, map[string]any{"rows": "tshirt_size", "label": "size", "blank": "no shirt"},
			"size,count\nYS,0\nYM,1\nYL,0\nXS,0\nS,0\nM,1\nL,0\nXL,1\n2XL,0\n3XL,0\n4XL,0\nno shirt,1\n"},
		{"days", withValues, byMember(map[string]any{"rows": "days_attending", "label": "day"}),
			"day,daughters,adults,guests,total\nFriday,1,1,0,2\nSaturday,2,0,0,2\nSunday,0,0,0,0\n(blank),0,0,1,1\n"},
		{"housing", withValues, map[string]any{"rows": "housing"},
			"housing,count\nhotel,2\ndorm,1\nnone,1\n"},
		{"meal-by-housing", withValues, map[string]any{"rows": "banquet_meal", "columns": "housing"},
			"banquet_meal,hotel,dorm,none,total\nchicken,2,0,0,2\nvegetarian,0,0,0,0\nvegan,0,1,0,1\nchild,0,0,0,0\nnone,0,0,1,1\n"},
		{"bethel-count", append(withValues, "config/bethels.csv"), map[string]any{"rows": "bethel", "total_row": true},
			"bethel,count\n12,2\n21,2\n30,0\nTOTAL,4\n"},
		{"free", withValues, map[string]any{"rows": "registration_id"},
			"registration_id,count\nR-1,1\nR-2,1\nR-3,1\nR-4,1\n"},
		{"dietary", withValues, dietaryParams,
			"category,daughters,adults,guests,total\ngluten free,1,0,0,1\nnut allergy,0,1,0,1\nvegetarian,1,0,0,1\nunclassified,0,0,1,1\nany,2,1,1,4\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := "out/summary/" + tc.name + ".csv"
			res, err := runStage(t, summaryCount{}, sumFS(), stage.Internal, tc.inputs, []string{out}, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.out[out]; got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			// The cancelled R-5 (row 4) is never counted; every count
			// cell has lineage, naming as many records as it counts.
			rows := strings.Split(strings.TrimSuffix(tc.want, "\n"), "\n")
			header := strings.Split(rows[0], ",")
			n := 0
			for _, c := range res.lineage[out].Cells {
				n++
				refs := c.AllRefs()
				for _, ref := range refs {
					if ref.Row == 4 {
						t.Errorf("cell %d/%s counts the cancelled registration", c.Row, c.Col)
					}
				}
				cell := strings.Split(rows[c.Row+1], ",")[slices.Index(header, c.Col)]
				if cell != strconv.Itoa(len(refs)) {
					t.Errorf("cell %d/%s is %s, its lineage names %d records", c.Row, c.Col, cell, len(refs))
				}
			}
			if n == 0 {
				t.Error("no lineage recorded")
			}
		})
	}
}

func TestDietaryNeverWritesText(t *testing.T) {
	params := byMember(map[string]any{"rows": []any{"dietary_needs", "allergies"}, "keywords": map[string]any{"vegetarian": []any{"vegetarian"}}})
	in := append(regIn, "config/fields.toml")
	res, err := runStage(t, summaryCount{}, sumFS(), stage.Public, in, []string{"x/dietary.csv"}, params)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"Kosher", "Peanuts", "gluten free please", "Vegetarian"} {
		if strings.Contains(res.out["x/dietary.csv"], v) {
			t.Errorf("dietary.csv holds the free text %q", v)
		}
	}
	if len(res.warnings) != 1 || !strings.Contains(res.warnings[0], "3 registrations have text in dietary_needs or allergies that no keyword matches") {
		t.Errorf("warnings %q", res.warnings)
	}
	for _, p := range []map[string]any{
		nil,
		{"rows": []any{"dietary_needs", "allergies"}},
		{"rows": "dietary_needs"},
		{"rows": "first_name"},
		{"rows": "first_name", "keywords": map[string]any{"a": []any{"a"}}},
		{"rows": "dietary_needs", "keywords": "x"},
		{"rows": "dietary_needs", "keywords": map[string]any{"any": []any{"x"}}},
		{"rows": "dietary_needs", "keywords": map[string]any{"v": []any{}}},
		{"rows": "housing", "colour": "red"},
		{"rows": "housing", "columns": "registration_id"},
		{"rows": "housing", "labels": map[string]any{"x": "name"}},
		{"rows": "housing", "blank": "none"},
		{"rows": "nosuch"},
		{"rows": "bethel"}, // its directory is not an input
		{"rows": "housing", "column_labels": map[string]any{"daughter": "d"}},
		{"rows": "housing", "columns": "member_type", "column_labels": map[string]any{"daughter": "total"}},
		{"rows": "housing", "columns": "member_type", "column_labels": map[string]any{"daughter": "x", "adult": "x"}},
	} {
		if _, err := runStage(t, summaryCount{}, sumFS(), stage.Internal, in, []string{"x/dietary.csv"}, p); err == nil {
			t.Errorf("params %v accepted", p)
		}
	}
}

// TestRosterIsPrivate: the roster copies sensitive values, so the privacy
// check refuses it anywhere but in a private node.
func TestRosterIsPrivate(t *testing.T) {
	fsys := rosterFS()
	regs := "registration_id,bethel,last_name,first_name,preferred_name,member_type,grand_bethel_office,days_attending,housing,tshirt_size,banquet_meal,dietary_needs,allergies,emergency_contact_name,emergency_contact_phone,photo_consent,payment_status\n" +
		"R-2,21,Zed,Amy,,daughter,,Friday,hotel,S,chicken,,,P,1,yes,paid\n" +
		"R-1,12,young,bea,,adult,,Friday,hotel,S,chicken,,Peanuts,P,1,yes,paid\n" +
		"R-3,12,Adams,Cal,,guest,,Friday,hotel,S,chicken,,,P,1,yes,refunded\n" +
		"R-4,12,Young,Al,,guest,,Friday,hotel,S,chicken,,,P,1,yes,paid\n"
	fsys["out/private/registrations.csv"] = &fstest.MapFile{Data: []byte(regs)}
	in := append(regIn, "config/fields.toml", "config/bethels.csv")
	res, err := runStage(t, roster{}, fsys, stage.Private, in, []string{"out/private/roster.csv"}, rosterParams)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(res.out["out/private/roster.csv"]), "\n")[1:] {
		ids = append(ids, strings.Split(l, ",")[2])
	}
	if fmt.Sprint(ids) != "[R-4 R-1 R-2]" {
		t.Errorf("roster order %v, want by bethel, then last and first name; the refunded R-3 left out", ids)
	}
	for _, vis := range []stage.Visibility{stage.Internal, stage.Public} {
		_, err := runStage(t, roster{}, fsys, vis, in, []string{"out/x/roster.csv"}, rosterParams)
		if err == nil || !strings.Contains(err.Error(), `column "last_name" copies the values of sensitive field "last_name"`) && !strings.Contains(err.Error(), `sensitive field "allergies"`) {
			t.Errorf("%s roster: error %v", vis, err)
		}
	}
}

// TestSummaryJSON: numbers stay numbers, keys keep header order, tables
// sorted by name.
func TestSummaryJSON(t *testing.T) {
	fsys := fstest.MapFS{
		"s/b.csv": {Data: []byte("\uFEFFname,count\nx,3\n007,0\n")},
		"s/a.csv": {Data: []byte("k,v\n\"q\"\"uote\",-1\n")},
	}
	res, err := runStage(t, summaryJSON{}, fsys, stage.Internal, []string{"s/b.csv", "s/a.csv"}, []string{"s/summary.json"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": [\n    {\"k\": \"q\\\"uote\", \"v\": \"-1\"}\n  ],\n  \"b\": [\n    {\"name\": \"x\", \"count\": 3},\n    {\"name\": \"007\", \"count\": 0}\n  ]\n}\n"
	if got := res.out["s/summary.json"]; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestReadRegistrations: the registrations are read as the file holds
// them; a column the file lacks is an error naming it.
func TestReadRegistrations(t *testing.T) {
	fsys := sumFS()
	run := func(fsys fstest.MapFS) *stage.Run {
		return engineDecl(&stage.Run{Node: "n", Inputs: regIn, FS: fsys})
	}
	rr, _, err := readRegistrations(context.Background(), run(fsys), "bethel", "registration_id")
	if err != nil {
		t.Fatal(err)
	}
	if rr.n != 5 || rr.col("bethel").at(2) != "21" || rr.col("registration_id").at(3) != "R-4" {
		t.Fatalf("parsed %d rows: %q %q", rr.n, rr.col("bethel").at(2), rr.col("registration_id").at(3))
	}
	if _, _, err := readRegistrations(context.Background(), run(fsys), "member_type", "photo_consent"); err == nil {
		t.Fatal("missing column accepted")
	}
	noDiet := sumFS()
	noDiet["out/private/registrations.csv"] = &fstest.MapFile{Data: []byte(strings.Replace(sumRegs, "dietary_needs,", "diet,", 1))}
	_, _, err = readRegistrations(context.Background(), run(noDiet), "dietary_needs")
	if err == nil || !strings.Contains(err.Error(), `missing required column "dietary_needs"`) {
		t.Fatalf("error %v", err)
	}
}

func TestMergeSorted(t *testing.T) {
	for _, c := range []struct {
		in   [][]int
		want []int
	}{
		{nil, nil},
		{[][]int{{}, nil}, nil},
		{[][]int{{1, 4, 9}}, []int{1, 4, 9}},
		{[][]int{{1, 4, 9}, {2, 3, 10}}, []int{1, 2, 3, 4, 9, 10}},
		{[][]int{{5}, {1, 7}, {}, {2, 6}, {0, 3, 8}}, []int{0, 1, 2, 3, 5, 6, 7, 8}},
	} {
		if got := mergeSorted(c.in...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("mergeSorted(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestSummaryRefusesUnnormalized: a registrations file that was edited by
// hand (a value the normalizer never writes) fails the summary at the
// first row holding it, even when an earlier row's value was fine and a
// later row repeats the bad one.
func TestSummaryRefusesUnnormalized(t *testing.T) {
	const file = "out/private/registrations.csv"
	in := append(regIn, "config/fields.toml", "config/bethels.csv")
	for _, tc := range []struct {
		name     string
		params   map[string]any
		from, to string // replace in sumRegs
		want     string
	}{
		{"bethel", byMember(map[string]any{"rows": "bethel"}), "R-2,12,", "R-2,99,",
			file + ":3: R-2: bethel \"99\" is not in config/bethels.csv (is the file normalized?)"},
		{"member", byMember(map[string]any{"rows": "bethel"}), "R-3,21,daughter", "R-3,21,alumna",
			file + ":4: R-3: member_type \"alumna\" is not one of daughter, adult, guest (is the file normalized?)"},
		{"meals", byMember(map[string]any{"rows": "banquet_meal"}), "R-4,21,guest,none", "R-4,21,guest,fish",
			file + ":5: R-4: banquet_meal \"fish\" is not one of chicken, vegetarian, vegan, child, none (is the file normalized?)"},
		{"days", byMember(map[string]any{"rows": "days_attending"}), "R-2,12,adult,vegan,XL,Friday,", "R-2,12,adult,vegan,XL,Friday;Monday,",
			file + ":3: R-2: days_attending \"Monday\" is not one of Friday, Saturday, Sunday (is the file normalized?)"},
		{"dietary", dietaryParams, "R-4,21,guest", "R-4,21,alumna",
			file + ":5: R-4: member_type \"alumna\" is not one of daughter, adult, guest (is the file normalized?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			regs := strings.Replace(sumRegs, tc.from, tc.to, 1)
			if regs == sumRegs {
				t.Fatalf("%q is not in the fixture", tc.from)
			}
			// A later row repeats the bad value: the error still names the first.
			var again string
			for _, l := range strings.Split(regs, "\n") {
				if strings.HasPrefix(l, strings.SplitN(tc.to, ",", 2)[0]+",") {
					again = strings.Replace(l, "R-", "R-9", 1) + "\n"
				}
			}
			fsys := sumFS()
			fsys[file] = &fstest.MapFile{Data: []byte(regs + again)}
			_, err := runStage(t, summaryCount{}, fsys, stage.Internal, in, []string{"x/" + tc.name + ".csv"}, tc.params)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got error %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestRosterOrder: the roster is sorted by bethel number, then last name,
// first name (ignoring case) and registration id, for bethel numbers that
// fit the packed sort key and ones that do not, and for names that share
// long prefixes; checked against a plain sort of the same rows. The
// roster's workbook, written beside its CSV, has the bytes xlsx.workbook
// writes from that CSV split by bethel.
func TestRosterOrder(t *testing.T) {
	header := "registration_id,bethel,last_name,first_name,preferred_name,member_type,grand_bethel_office,days_attending,housing,tshirt_size,banquet_meal,dietary_needs,allergies,emergency_contact_name,emergency_contact_phone,photo_consent,payment_status\n"
	lasts := []string{"Youngblood", "youngberg", "Young", "Youngbloodx", "Ángel", "angel", "O'Neil", ""}
	firsts := []string{"Amy", "amy", "Bea", "Zoë", ""}
	for _, tc := range []struct {
		name    string
		bethels []int
	}{
		{"packed", []int{12, 21, 7, 1, 65535}},
		{"wide", []int{12, 70000, 7, 65536, 1 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type rec struct {
				id, last, first string
				bethel          int
			}
			var recs []rec
			var csv strings.Builder
			csv.WriteString(header)
			bethels := "number,name,city,district\n"
			for _, b := range tc.bethels {
				bethels += fmt.Sprintf("%d,B%d,C,D\n", b, b)
			}
			n := 0
			for i, b := range tc.bethels {
				for j, l := range lasts {
					for k, f := range firsts {
						if (i+j+k)%3 == 0 {
							continue
						}
						n++
						id := fmt.Sprintf("R-%04d", (n*7919)%10000)
						recs = append(recs, rec{id, l, f, b})
						fmt.Fprintf(&csv, "%s,%d,%s,%s,,daughter,,Friday,hotel,S,chicken,,,P,1,yes,paid\n", id, b, l, f)
					}
				}
			}
			fsys := rosterFS()
			fsys["out/private/registrations.csv"] = &fstest.MapFile{Data: []byte(csv.String())}
			fsys["config/bethels.csv"] = &fstest.MapFile{Data: []byte(bethels)}
			res, err := runStage(t, roster{}, fsys, stage.Private, append(regIn, "config/fields.toml", "config/bethels.csv"), []string{"out/private/roster.csv", "out/private/roster.xlsx"}, rosterParams)
			if err != nil {
				t.Fatal(err)
			}
			fsys["out/private/roster.csv"] = &fstest.MapFile{Data: []byte(res.out["out/private/roster.csv"])}
			book, err := runStage(t, xlsxWorkbook{}, fsys, stage.Private, []string{"out/private/roster.csv"}, []string{"out/private/roster.xlsx"},
				map[string]any{"split_by": "bethel", "typed": false})
			if err != nil {
				t.Fatal(err)
			}
			if res.out["out/private/roster.xlsx"] != book.out["out/private/roster.xlsx"] {
				t.Error("the roster's workbook differs from xlsx.workbook's of roster.csv split by bethel")
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(res.out["out/private/roster.csv"]), "\n")[1:] {
				got = append(got, strings.Split(l, ",")[2])
			}
			sort.SliceStable(recs, func(i, j int) bool {
				a, b := recs[i], recs[j]
				if a.bethel != b.bethel {
					return a.bethel < b.bethel
				}
				ka := strings.ToLower(a.last) + "\x00" + strings.ToLower(a.first) + "\x00" + a.id
				kb := strings.ToLower(b.last) + "\x00" + strings.ToLower(b.first) + "\x00" + b.id
				return ka < kb
			})
			var want []string
			for _, r := range recs {
				want = append(want, r.id)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("roster order\n%v\nwant\n%v", got, want)
			}
		})
	}
}

// TestSummaryInactive: the status role's inactive values count nowhere,
// unless the node says include_inactive; the role binds any field.
func TestSummaryInactive(t *testing.T) {
	fsys := sumFS()
	fields := string(fsys["config/fields.toml"].Data)
	fields = strings.Replace(fields, `status      = "payment_status"`, `status      = "housing"`, 1)
	fields = strings.Replace(fields, `values = ["cancelled", "refunded"]`, `values = ["dorm"]`, 1)
	fsys["config/fields.toml"] = &fstest.MapFile{Data: []byte(fields)}
	in := append(regIn, "config/fields.toml")
	for _, c := range []struct {
		params map[string]any
		want   string
	}{
		// R-5's payment_status says cancelled, but the status role is
		// housing here: R-5 counts.
		{map[string]any{"rows": "banquet_meal"}, "banquet_meal,count\nchicken,2\nvegetarian,0\nvegan,0\nchild,1\nnone,1\n"},
		{map[string]any{"rows": "banquet_meal", "include_inactive": true}, "banquet_meal,count\nchicken,2\nvegetarian,0\nvegan,1\nchild,1\nnone,1\n"},
	} {
		res, err := runStage(t, summaryCount{}, fsys, stage.Internal, in, []string{"x/meals.csv"}, c.params)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.out["x/meals.csv"]; got != c.want {
			t.Errorf("params %v: got\n%s\nwant\n%s", c.params, got, c.want)
		}
	}
}

// FuzzSummaryParams: any [node.params] table either is refused with an
// error naming the node, or runs the stage over the fixture without a
// panic; a run that succeeds writes a header and one row per counted value.
func FuzzSummaryParams(f *testing.F) {
	f.Add("rows = \"banquet_meal\"\ncolumns = \"member_type\"\n")
	f.Add("rows = [\"dietary_needs\", \"allergies\"]\n[keywords]\nnuts = [\"peanut\"]\n")
	f.Add("rows = \"bethel\"\nlabels = { bethel_name = \"name\" }\ntotal_row = true\nblank = \"none\"\n")
	f.Add("rows = \"days_attending\"\nskip_blank = true\ninclude_inactive = true\ncolumn_labels = { x = \"y\" }\n")
	in := append(regIn, "config/fields.toml", "config/bethels.csv")
	f.Fuzz(func(t *testing.T, params string) {
		var p map[string]any
		if _, err := toml.Decode(params, &p); err != nil {
			return
		}
		res, err := runStage(t, summaryCount{}, sumFS(), stage.Internal, in, []string{"x/out.csv"}, p)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "node n: ") && !strings.Contains(err.Error(), ".csv:") {
				t.Fatalf("error without the node or a file: %v", err)
			}
			return
		}
		if out := res.out["x/out.csv"]; !strings.HasSuffix(out, "\n") {
			t.Fatalf("output %q", out)
		}
	})
}
