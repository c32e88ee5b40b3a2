// Command bethel-sample writes a synthetic Grand Bethel registrations
// workspace: a platform export with every messy variant the product brief
// lists (CRLF line ends, a UTF-8 byte order mark, spelled-out bethels,
// aliases, quoted commas and line breaks, cancellations, refunds and
// duplicate submissions), the config that maps it, and patches that show
// every patch kind and apply cleanly to it.
//
//	go run ./cmd/bethel-sample -rows 1500 -seed 1 -out .
//
// Everything is invented: names are drawn from short lists and syllables,
// addresses use example.org, phone numbers the fictional 555-01xx range.
// The same -rows and -seed give byte-identical files.
//
// Files written under -out: inputs/registrations.csv, config/bethels.csv,
// config/fields.toml, config/privacy.toml and
// patches/registrations/{10-corrections,20-duplicates,30-walk-ins,40-bulk}.toml.
// With -export-only, only inputs/registrations.csv (for benchmarks that
// keep a workspace's config and patches).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	rows := flag.Int("rows", 1500, "registrations to generate (before duplicates)")
	seed := flag.Uint64("seed", 1, "random seed; the same seed gives the same files")
	out := flag.String("out", ".", "workspace directory to write into")
	nb := flag.Int("bethels", 40, "number of bethels")
	exportOnly := flag.Bool("export-only", false, "write only inputs/registrations.csv")
	flag.Parse()
	if *rows < 20 || *nb < 10 {
		fmt.Fprintln(os.Stderr, "bethel-sample: want -rows >= 20 and -bethels >= 10")
		os.Exit(2)
	}
	g := newGen(*seed, *nb)
	g.people(*rows)
	if err := g.writeAll(*out, *exportOnly); err != nil {
		fmt.Fprintln(os.Stderr, "bethel-sample:", err)
		os.Exit(1)
	}
}

// bethel is one invented bethel.
type bethel struct {
	num                  int
	name, city, district string
	uniqueCity           bool
}

// person is one registration's canonical truth; the export shows it messy.
type person struct {
	id                 string
	submitted          [6]int // y m d h mi s
	first, last, pref  string
	email, phone       string
	dob                [3]int
	bethel             *bethel
	kind               string // daughter adult guest
	office             string
	days               []bool
	meal               string
	dietary, allergies string
	size               string
	housing            string
	ecName, ecPhone    string
	consent            string
	amount             int // cents, -1 = empty
	status             string
	dupOf              *person
	line               int
}

type gen struct {
	r       *rand.Rand
	bethels []*bethel
	ps      []*person
	width   int
}

var (
	girlNames = []string{"Abigail", "Ava", "Bella", "Brooke", "Camila", "Chloé", "Claire", "Daisy", "Delaney", "Elena",
		"Ella", "Emma", "Faith", "Grace", "Hailey", "Harper", "Isla", "Ivy", "Jade", "Josie", "Kaylee", "Layla", "Lily",
		"Lucy", "Madison", "Maya", "Mia", "Nora", "Olivia", "Paige", "Quinn", "Renée", "Riley", "Ruby", "Sadie", "Sofia",
		"Stella", "Tessa", "Violet", "Willow", "Zoë", "Anneliese", "Mary Kate", "Bree"}
	adultNames = []string{"Amanda", "Beth", "Carol", "Dana", "Denise", "Ellen", "Frank", "Gail", "Gary", "Helen", "Jim",
		"Joan", "José", "Karen", "Laura", "Linda", "Mark", "Nancy", "Paul", "Rita", "Ron", "Susan", "Tom", "Wendy"}
	lastPre = []string{"Ash", "Bram", "Cal", "Dun", "El", "Fen", "Gar", "Hol", "Ing", "Jas", "Kel", "Lin", "Mor", "Nor",
		"Oak", "Pem", "Quil", "Ros", "Sted", "Tal", "Ul", "Ver", "Wes", "Yar", "Brin", "Cor", "Dal", "Har"}
	lastSuf = []string{"by", "croft", "dale", "field", "ford", "gate", "ham", "ley", "mere", "ridge", "ton", "well",
		"wick", "wood", "stead", "hurst"}
	bethelNames = []string{"Evergreen", "Silver Lake", "Starlight", "Golden Valley", "Prairie Rose", "Cedar Crest",
		"Willow Bend", "North Star", "Harvest Moon", "Bluebell", "Crystal Springs", "Lakeshore", "Meadowlark",
		"Riverbend", "Sunrise", "Twin Oaks", "Whispering Pines", "Amber Hills", "Clover Field", "Dove Creek",
		"Elm Grove", "Foxglove", "Heather Glen", "Iris Point", "Juniper", "Lantern Hill", "Maple Ridge", "Orchard",
		"Pearl Harbor Light", "Quiet Waters", "Rosewood", "Sapphire", "Thistle Down", "Valley Forge Lane", "Windmill",
		"Aurora", "Bellflower", "Copper Canyon", "Daybreak", "Emerald Isle", "Firefly", "Garnet", "Honeysuckle",
		"Ivory Gate", "Jasmine", "Kestrel", "Larkspur", "Moonstone", "Nightingale", "Opal"}
	townPre = []string{"Ash", "Birch", "Cedar", "Deer", "Eagle", "Fair", "Glen", "Hazel", "Iron", "Kings", "Lake",
		"Mill", "New", "Oak", "Pine", "Red", "Stone", "West", "Wolf", "Elk"}
	townSuf = []string{"ford", " Falls", "wood", "ville", " Springs", "field", "port", " Hollow", "ton", " Crossing",
		"burg", " Junction"}
	offices  = []string{"Grand Chaplain", "Grand Librarian", "Grand Marshal", "Grand Senior Custodian", "Grand Junior Custodian", "Grand Musician", "Grand Recorder", "Grand Guide"}
	diets    = []string{"Vegetarian", "Gluten free", "Lactose intolerant", "No pork", "Diabetic", "Low sodium"}
	allergy  = []string{"Peanuts", "Tree nuts", "Shellfish", "Eggs", "Bee stings", "Penicillin", "Latex", "Soy"}
	dayNames = []string{"Friday", "Saturday", "Sunday"}
)

func newGen(seed uint64, n int) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x62657468656c))}
	// Invented numbers, some above 99 so that parsing cannot assume two digits.
	used := map[int]bool{}
	towns := map[string]int{}
	for len(g.bethels) < n {
		num := 1 + g.r.IntN(90)
		if g.r.IntN(8) == 0 {
			num = 100 + g.r.IntN(150)
		}
		if used[num] {
			continue
		}
		used[num] = true
		town := townPre[g.r.IntN(len(townPre))] + townSuf[g.r.IntN(len(townSuf))]
		// A few towns have two bethels, so that a city alone is ambiguous.
		if len(g.bethels) > 3 && g.r.IntN(10) == 0 {
			town = g.bethels[g.r.IntN(len(g.bethels))].city
		}
		towns[town]++
		b := &bethel{num: num, name: bethelNames[len(g.bethels)%len(bethelNames)], city: town,
			district: fmt.Sprintf("District %d", 1+num%6)}
		if len(g.bethels) >= len(bethelNames) {
			b.name = fmt.Sprintf("%s %d", b.name, len(g.bethels)/len(bethelNames)+1)
		}
		g.bethels = append(g.bethels, b)
	}
	for _, b := range g.bethels {
		b.uniqueCity = towns[b.city] == 1
	}
	return g
}

func (g *gen) pick(l []string) string { return l[g.r.IntN(len(l))] }

func (g *gen) lastName() string { return g.pick(lastPre) + g.pick(lastSuf) }

func (g *gen) phone() string {
	area := 200 + g.r.IntN(700)
	n := 100 + g.r.IntN(100) // 555-0100..555-0199 are reserved for fiction
	switch g.r.IntN(4) {
	case 0:
		return fmt.Sprintf("(%d) 555-%04d", area, n)
	case 1:
		return fmt.Sprintf("%d-555-%04d", area, n)
	case 2:
		return fmt.Sprintf("+1 %d 555 %04d", area, n)
	}
	return fmt.Sprintf("%d.555.%04d", area, n)
}

// people draws n registrations, then duplicates a few, in submission order.
func (g *gen) people(n int) {
	g.width = len(fmt.Sprint(10000 + n + n/50 + 10))
	// Large runs spread addresses wider, so that unrelated people rarely
	// share a name and an address (the duplicate report stays realistic).
	emailSpread := max(100, n/100)
	for i := 0; i < n; i++ {
		p := &person{}
		p.bethel = g.bethels[g.r.IntN(len(g.bethels))]
		switch k := g.r.IntN(100); {
		case k < 62:
			p.kind = "daughter"
			p.first = g.pick(girlNames)
			p.dob = [3]int{2006 + g.r.IntN(10), 1 + g.r.IntN(12), 1 + g.r.IntN(28)}
		case k < 82:
			p.kind = "adult"
			p.first = g.pick(adultNames)
			p.dob = [3]int{1960 + g.r.IntN(35), 1 + g.r.IntN(12), 1 + g.r.IntN(28)}
		default:
			p.kind = "guest"
			p.first = g.pick(adultNames)
			p.dob = [3]int{1965 + g.r.IntN(30), 1 + g.r.IntN(12), 1 + g.r.IntN(28)}
		}
		p.last = g.lastName()
		if g.r.IntN(12) == 0 {
			p.pref = g.pick(girlNames)
		}
		p.email = strings.ToLower(strings.NewReplacer(" ", "", "ë", "e", "é", "e").Replace(p.first)+"."+p.last) + fmt.Sprintf("%d@example.org", g.r.IntN(emailSpread))
		p.phone = g.phone()
		p.ecName = g.pick(adultNames) + " " + p.last
		p.ecPhone = g.phone()
		if p.kind == "daughter" && g.r.IntN(25) == 0 {
			p.office = g.pick(offices)
		}
		p.days = make([]bool, 3)
		if g.r.IntN(2) == 0 {
			p.days = []bool{true, true, true}
		} else {
			for !(p.days[0] || p.days[1] || p.days[2]) {
				for d := range p.days {
					p.days[d] = g.r.IntN(2) == 0
				}
			}
		}
		switch k := g.r.IntN(100); {
		case k < 55:
			p.meal = "chicken"
		case k < 75:
			p.meal = "vegetarian"
		case k < 80:
			p.meal = "vegan"
		case k < 90 && p.kind == "daughter":
			p.meal = "child"
		default:
			p.meal = "none"
		}
		if g.r.IntN(8) == 0 {
			p.dietary = g.pick(diets)
		}
		if g.r.IntN(10) == 0 {
			p.allergies = g.pick(allergy)
			if g.r.IntN(4) == 0 {
				p.allergies += ", " + g.pick(allergy)
			}
		}
		if p.kind == "daughter" {
			p.size = []string{"YS", "YM", "YL", "XS", "S", "M", "L", "XL"}[g.r.IntN(8)]
		} else if g.r.IntN(5) > 0 {
			p.size = []string{"S", "M", "L", "XL", "2XL", "3XL", "4XL"}[g.r.IntN(7)]
		}
		p.housing = []string{"hotel", "hotel", "hotel", "dorm", "commuter", "none"}[g.r.IntN(6)]
		p.consent = []string{"yes", "yes", "yes", "no"}[g.r.IntN(4)]
		switch k := g.r.IntN(100); {
		case k < 80:
			p.status = "paid"
		case k < 93:
			p.status = "pending"
		case k < 97:
			p.status = "cancelled"
		default:
			p.status = "refunded"
		}
		p.amount = 4500
		if p.kind == "guest" {
			p.amount = 3500
		}
		if p.status == "pending" {
			p.amount = -1
		}
		g.ps = append(g.ps, p)
		// About one in fifty submits twice (a parent and a daughter both
		// fill in the form): same person, new id, a later time.
		if g.r.IntN(50) == 0 {
			d := *p
			d.dupOf = p
			d.status = "pending"
			d.amount = -1
			if g.r.IntN(2) == 0 {
				d.phone = g.phone()
			}
			g.ps = append(g.ps, &d)
		}
	}
	start := [6]int{2026, 2, 1, 8, 0, 0}
	for i, p := range g.ps {
		p.id = fmt.Sprintf("R-%0*d", g.width, 10001+i)
		sec := i*((60*24*90)/len(g.ps)+1)*60/1 + g.r.IntN(60)
		p.submitted = addSeconds(start, sec)
	}
}

// addSeconds adds s seconds to a date, in a 30-day-month calendar capped to
// real month lengths well enough for invented timestamps.
func addSeconds(t [6]int, s int) [6]int {
	t[5] += s
	t[4] += t[5] / 60
	t[5] %= 60
	t[3] += t[4] / 60
	t[4] %= 60
	t[2] += t[3] / 24
	t[3] %= 24
	mdays := []int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for t[2] > mdays[(t[1]-1)%12] {
		t[2] -= mdays[(t[1]-1)%12]
		t[1]++
		if t[1] > 12 {
			t[1] = 1
			t[0]++
		}
	}
	return t
}

var header = []string{"Registration ID", "Submitted At", "First Name", "Last Name", "Preferred Name", "Email", "Phone",
	"Date of Birth", "Bethel", "Member Type", "Grand Bethel Office", "Days Attending", "Banquet Meal", "Dietary Needs",
	"Allergies ", "T-Shirt Size", "Housing", "Emergency Contact Name", "Emergency Contact Phone", "Photo Consent",
	"Amount Paid", "Payment Status", "Coupon Code"}

// messy renders one person as the platform would, with variants drawn at
// random: each variant appears often in a 1,500-row export.
func (g *gen) messy(p *person) []string {
	b := p.bethel
	var bcell string
	switch k := g.r.IntN(11); {
	case k == 0:
		bcell = fmt.Sprint(b.num)
	case k == 1:
		bcell = fmt.Sprintf("%03d", b.num)
	case k == 2:
		bcell = fmt.Sprintf("Bethel %d", b.num)
	case k == 3:
		bcell = fmt.Sprintf("Bethel #%d", b.num)
	case k == 4:
		bcell = fmt.Sprintf("#%d", b.num)
	case k == 5:
		bcell = fmt.Sprintf("Bethel No. %d", b.num)
	case k == 6:
		bcell = fmt.Sprintf("Bethel %d - %s", b.num, b.city)
	case k == 7 && b.uniqueCity:
		bcell = b.city
	case k == 8:
		bcell = fmt.Sprintf(" bethel %d ", b.num)
	case k == 9:
		bcell = fmt.Sprintf("Bethel # %d (%s)", b.num, b.name)
	default:
		bcell = fmt.Sprintf("Bethel %d", b.num)
	}
	kinds := map[string][]string{
		"daughter": {"JD", "Job's Daughter", "Job\u2019s Daughter", "Daughter", "jd", "Job's Daughters"},
		"adult":    {"Bethel Guardian", "BG", "ABG", "Majority Member", "Council", "Associate Bethel Guardian", "Adult"},
		"guest":    {"Parent", "Guest", "parent/guardian", "Family"},
	}
	var days string
	if p.days[0] && p.days[1] && p.days[2] && g.r.IntN(2) == 0 {
		days = []string{"All days", "all days", "All Days", "Whole weekend"}[g.r.IntN(4)]
	} else {
		var names []string
		short := g.r.IntN(3) == 0
		for d, on := range p.days {
			if on {
				n := dayNames[d]
				if short {
					n = n[:3]
				}
				names = append(names, n)
			}
		}
		days = strings.Join(names, []string{";", "; ", ", ", "/", " & "}[g.r.IntN(5)])
	}
	meals := map[string][]string{
		"chicken":    {"Chicken", "chicken", "Roast Chicken"},
		"vegetarian": {"Vegetarian", "Veg", "vegetarian"},
		"vegan":      {"Vegan", "vegan (plant based)"},
		"child":      {"Child's Plate", "Kids Meal", "Child"},
		"none":       {"None", "No banquet", "", "Not attending banquet"},
	}
	sizes := map[string][]string{
		"YS": {"YS", "Youth Small", "Youth S"}, "YM": {"YM", "Youth Medium", "Youth M"}, "YL": {"YL", "Youth Large", "Youth L"},
		"XS": {"XS", "Adult XS", "X-Small"}, "S": {"S", "Small", "Adult S", "Adult Small"}, "M": {"M", "Medium", "Adult M", "Adult Medium"},
		"L": {"L", "Large", "Adult L", "Adult Large"}, "XL": {"XL", "X-Large", "Adult XL"}, "2XL": {"2XL", "XXL", "2X"},
		"3XL": {"3XL", "XXXL", "3X"}, "4XL": {"4XL", "XXXXL", "4X"}, "": {"", ""},
	}
	housing := map[string][]string{
		"hotel": {"Hotel", "hotel - group block", "Hotel"}, "dorm": {"Dorm", "Dormitory"},
		"commuter": {"Commuting", "Commuter", "Driving in daily"}, "none": {"None", "Not needed", ""},
	}
	status := map[string][]string{
		"paid": {"Paid", "paid", "Complete", "Paid in full"}, "pending": {"Pending", "Unpaid", "Awaiting payment"},
		"cancelled": {"Cancelled", "Canceled"}, "refunded": {"Refunded", "Refund issued"},
	}
	consent := map[string][]string{"yes": {"Yes", "Y", "yes", "I consent"}, "no": {"No", "N", "no"}}
	var amount string
	if p.amount >= 0 {
		d := p.amount / 100
		amount = []string{fmt.Sprintf("$%d.00", d), fmt.Sprint(d), fmt.Sprintf("%d.00", d), fmt.Sprintf("USD %d.00", d)}[g.r.IntN(4)]
	}
	s := p.submitted
	var sub string
	switch g.r.IntN(3) {
	case 0:
		sub = fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", s[0], s[1], s[2], s[3], s[4], s[5])
	case 1:
		sub = fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", s[0], s[1], s[2], s[3], s[4], s[5])
	default:
		h, ap := s[3]%12, "AM"
		if h == 0 {
			h = 12
		}
		if s[3] >= 12 {
			ap = "PM"
		}
		sub = fmt.Sprintf("%d/%d/%04d %d:%02d %s", s[1], s[2], s[0], h, s[4], ap)
	}
	var dob string
	if g.r.IntN(2) == 0 {
		dob = fmt.Sprintf("%04d-%02d-%02d", p.dob[0], p.dob[1], p.dob[2])
	} else {
		dob = fmt.Sprintf("%d/%d/%04d", p.dob[1], p.dob[2], p.dob[0])
	}
	office := p.office
	if office == "" && g.r.IntN(20) == 0 {
		office = g.pick([]string{"N/A", "None", "-"})
	}
	diet := p.dietary
	if diet == "" && g.r.IntN(10) == 0 {
		diet = g.pick([]string{"None", "N/A", "none"})
	}
	alg := p.allergies
	if strings.Contains(alg, ", ") && g.r.IntN(2) == 0 {
		alg = strings.Replace(alg, ", ", ",\n", 1) // a line break inside a quoted cell
	}
	pref := p.pref
	if pref != "" && g.r.IntN(3) == 0 {
		pref = "\"" + pref + "\"" // quotes inside a cell
	}
	first := p.first
	if g.r.IntN(30) == 0 {
		first = " " + first + " "
	}
	coupon := ""
	if g.r.IntN(10) == 0 {
		coupon = "EARLYBIRD"
	}
	return []string{p.id, sub, first, p.last, pref, p.email, p.phone, dob, bcell, g.pick(kinds[p.kind]), office, days,
		g.pick(meals[p.meal]), diet, alg, g.pick(sizes[p.size]), g.pick(housing[p.housing]), p.ecName, p.ecPhone,
		g.pick(consent[p.consent]), amount, g.pick(status[p.status]), coupon}
}

// writeCSV writes rows the way spreadsheet exports do: a byte order mark,
// CRLF, quotes only where needed. (Not csvio's writer: that one writes
// bethel's own `\n` outputs.)
func writeCSV(path string, rows [][]string, bom, crlf bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if bom {
		w.WriteString("\uFEFF")
	}
	eol := "\n"
	if crlf {
		eol = "\r\n"
	}
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				w.WriteByte(',')
			}
			if strings.ContainsAny(c, ",\"\r\n") || strings.TrimSpace(c) != c {
				c = "\"" + strings.ReplaceAll(c, "\"", "\"\"") + "\""
				c = strings.ReplaceAll(c, "\n", eol)
			}
			w.WriteString(c)
		}
		w.WriteString(eol)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (g *gen) writeAll(dir string, exportOnly bool) error {
	rows := [][]string{header}
	line := 2
	for _, p := range g.ps {
		r := g.messy(p)
		p.line = line
		for _, c := range r {
			line += strings.Count(c, "\n")
		}
		line++
		rows = append(rows, r)
	}
	// Blank rows at the end, as spreadsheets leave them.
	rows = append(rows, make([]string, len(header)))
	if err := writeCSV(filepath.Join(dir, "inputs", "registrations.csv"), rows, true, true); err != nil {
		return err
	}
	if exportOnly {
		return nil
	}
	brows := [][]string{{"number", "name", "city", "district"}}
	sorted := append([]*bethel(nil), g.bethels...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j].num < sorted[j-1].num; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	for _, b := range sorted {
		brows = append(brows, []string{fmt.Sprint(b.num), b.name, b.city, b.district})
	}
	if err := writeCSV(filepath.Join(dir, "config", "bethels.csv"), brows, false, false); err != nil {
		return err
	}
	files := map[string]string{
		"config/fields.toml":  fieldsTOML,
		"config/privacy.toml": privacyTOML,
	}
	for name, text := range g.patches() {
		files["patches/registrations/"+name] = text
	}
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}
