package stages

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// regBadValue is why a cell could not be mapped. It never holds the cell's
// value: the caller decides whether the value may be shown (it is withheld
// for sensitive columns).
type regBadValue struct {
	what string // "unknown value", "not a date", ...
	hint string // printed after the value, in parentheses
}

func (e *regBadValue) Error() string { return e.what + " (" + e.hint + ")" }

func regBad(what, format string, args ...any) error {
	return &regBadValue{what: what, hint: fmt.Sprintf(format, args...)}
}

// mapEnum maps a cell of one of the values.toml tables.
func (c *regConfig) mapEnum(field, raw string) (string, error) {
	m := c.maps[field]
	k := regFold(raw)
	if k == "" {
		if m.hasEmpty {
			return m.empty, nil
		}
		return "", regBad("empty value", "want %s; or set empty = \"...\" in [%s] of config/values.toml", regOrList(m.order), field)
	}
	if v, ok := m.alias[k]; ok {
		return v, nil
	}
	return "", regBad("unknown value", "want %s, or add an alias to [%s] in config/values.toml", regOrList(m.order), field)
}

func regOrList(l []string) string {
	switch len(l) {
	case 0:
		return "a value listed in config/values.toml"
	case 1:
		return l[0]
	}
	return strings.Join(l[:len(l)-1], ", ") + " or " + l[len(l)-1]
}

// regBethelRE parses the numbered forms of a bethel cell: 12, 012, #12,
// Bethel 12, Bethel #12, Bethel No. 12, Bethel 12 - Springfield,
// Bethel #12 (Springfield). Group 1 is the number, group 2 the place.
var regBethelRE = regexp.MustCompile(`(?i)^(?:bethel\s*)?(?:(?:no\.?|nr\.?|num\.?|number)\s*|#\s*)?0*([0-9]{1,6})(?:\s*[-\x{2013}\x{2014},:/(]\s*|\s+)?(.*?)\)?$`)

var regBethelWordRE = regexp.MustCompile(`(?i)^bethel\s+(?:of\s+)?`)

// parseBethel maps a bethel cell to its number, checked against the bethel
// directory. A place after the number must be that bethel's city or name;
// a cell with only a place is looked up by city or name.
func (c *regConfig) parseBethel(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", regBad("empty value", "want a bethel number such as 12, Bethel #12, or a city in %s", c.bethels.File)
	}
	if m := regBethelRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n == 0 {
			return "", regBad("unknown bethel", "0 is not a bethel number")
		}
		b, ok := c.bethels.ByNumber[n]
		if !ok {
			return "", regBad("unknown bethel", "bethel %d is not in %s", n, c.bethels.File)
		}
		if place := regFold(m[2]); place != "" && place != regFold(b.City) && place != regFold(b.Name) {
			return "", regBad("contradictory bethel", "bethel %d is %s in %s, per %s", n, b.Name, b.City, c.bethels.File)
		}
		return strconv.Itoa(n), nil
	}
	place := regFold(regBethelWordRE.ReplaceAllString(s, ""))
	found := c.bethels.byPlace[place]
	if len(found) == 0 {
		found = c.bethels.byPlace[regFold(s)]
	}
	switch len(found) {
	case 1:
		return strconv.Itoa(found[0].Number), nil
	case 0:
		return "", regBad("unknown bethel", "neither a bethel number nor a city or name in %s", c.bethels.File)
	}
	nums := make([]string, len(found))
	for i, b := range found {
		nums[i] = strconv.Itoa(b.Number)
	}
	return "", regBad("ambiguous bethel", "%s has bethels %s; give the number", strings.TrimSpace(s), strings.Join(nums, ", "))
}

// CanonBethel checks that s is a canonical bethel value (a number in the
// directory), for patches.
func (c *regConfig) canonBethel(s string) (string, error) {
	n, err := strconv.Atoi(s)
	if err != nil || strconv.Itoa(n) != s {
		return "", fmt.Errorf("not a canonical bethel (a number without leading zeros, as in %s)", c.bethels.File)
	}
	if _, ok := c.bethels.ByNumber[n]; !ok {
		return "", fmt.Errorf("bethel %d is not in %s", n, c.bethels.File)
	}
	return s, nil
}

var regDaySepRE = regexp.MustCompile(`\s*(?:[;,/&+]|\band\b)\s*`)

// parseDays maps a days cell to the configured days it names, joined by
// ";" in configured order. "All days" (or another configured phrase) means
// every day.
func (c *regConfig) parseDays(raw string) (string, error) {
	k := regFold(raw)
	if k == "" {
		return "", regBad("empty value", "want one or more of %s separated by ; , or /, or %q", strings.Join(c.days, ", "), "All days")
	}
	if c.allDays[k] {
		return strings.Join(c.days, ";"), nil
	}
	seen := make([]bool, len(c.days))
	for _, tok := range regDaySepRE.Split(k, -1) {
		if tok == "" {
			continue
		}
		i, ok := c.dayIdx[tok]
		if !ok {
			return "", regBad("unknown day", "want %s (or an alias in [days] of config/values.toml) separated by ; , or /", strings.Join(c.days, ", "))
		}
		seen[i] = true
	}
	var out []string
	for i, d := range c.days {
		if seen[i] {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return "", regBad("unknown day", "want %s separated by ; , or /", strings.Join(c.days, ", "))
	}
	return strings.Join(out, ";"), nil
}

// regAmount maps "$45", "45.5", "USD 1,045.00" to a decimal with two
// places; empty stays empty.
func regAmount(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", nil
	}
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(strings.ToUpper(s), "USD"), "US"))
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, strings.TrimSpace(s[1:])
	}
	s = strings.TrimSpace(strings.TrimPrefix(s, "$"))
	s = strings.ReplaceAll(s, ",", "")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if !regAllDigits(whole) || !regAllDigits(frac) || len(frac) > 2 || len(whole) > 9 {
		return "", regBad("not an amount", "want a number such as 45, 45.50 or $45.00")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	if neg && (whole != "0" || frac != "00") {
		whole = "-" + whole
	}
	return whole + "." + frac, nil
}

func regAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var regDateTimeLayouts = []string{
	"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04",
	"1/2/2006 15:04:05", "1/2/2006 15:04", "1/2/2006 3:04:05 PM", "1/2/2006 3:04 PM", "1/2/2006 3:04PM",
	"2006-01-02",
}

// regDateTime maps a submission time to 2006-01-02T15:04:05 (the
// platform's local time; a zone or offset given is dropped after
// converting nothing: exports carry one zone). US month/day order.
func regDateTime(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", nil
	}
	if v, ok := regFastDateTime(s); ok {
		return v, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Format("2006-01-02T15:04:05"), nil
	}
	up := strings.ToUpper(s)
	for _, l := range regDateTimeLayouts {
		if t, err := time.Parse(l, up); err == nil {
			return t.Format("2006-01-02T15:04:05"), nil
		}
	}
	return "", regBad("not a date and time", "want 2026-03-14 09:31:07, 2026-03-14T09:31:07Z or 3/14/2026 9:31 AM")
}

var regDateLayouts = []string{"2006-01-02", "1/2/2006", "2006/1/2", "1-2-2006", "January 2, 2006", "Jan 2, 2006", "2 January 2006"}

// regDate maps a birth date to 2006-01-02 (US month/day order).
func regDate(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", nil
	}
	if v, ok := regFastDate(s); ok {
		return v, nil
	}
	for _, l := range regDateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Format("2006-01-02"), nil
		}
	}
	return "", regBad("not a date", "want 2010-04-03 or 4/3/2010")
}

// cleanText trims and collapses inner runs of space; a configured "none"
// word (N/A, None, -) becomes empty when none is true.
func (c *regConfig) cleanText(raw string, none bool) string {
	s := strings.TrimSpace(raw)
	for i := 0; i < len(s); i++ {
		if b := s[i]; b == '\t' || b == '\n' || b == '\r' || b == ' ' && s[i-1] == ' ' {
			s = strings.Join(strings.Fields(s), " ")
			break
		}
	}
	if none && s != "" && len(s) <= c.noneMax && c.none[regFold(s)] {
		return ""
	}
	return s
}

// regEmail lower-cases an address; one without @ is an error.
func regEmail(raw string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(raw))
	if s == "" {
		return "", nil
	}
	if i := strings.IndexByte(s, '@'); i <= 0 || i == len(s)-1 || strings.ContainsAny(s, " ,;") {
		return "", regBad("not an email address", "want one address such as name@example.org")
	}
	return s, nil
}

// The fast paths below parse the forms exports use most without
// time.Parse, which dominated the profile of a million-row build. Anything
// they do not accept falls through to the general layouts.

// regNum parses s[i:j] as digits.
func regNum(s string, i, j int) (int, bool) {
	n := 0
	if i >= j {
		return 0, false
	}
	for ; i < j; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func regValidDate(y, m, d int) bool {
	if y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && (y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		days = 29
	}
	return d <= days
}

// regFastDate accepts 2010-04-03 and 4/3/2010 (US order).
func regFastDate(s string) (string, bool) {
	var y, m, d int
	var ok1, ok2, ok3 bool
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, ok1 = regNum(s, 0, 4)
		m, ok2 = regNum(s, 5, 7)
		d, ok3 = regNum(s, 8, 10)
	} else {
		a := strings.IndexByte(s, '/')
		b := strings.LastIndexByte(s, '/')
		if a < 1 || b <= a+1 || len(s)-b != 5 {
			return "", false
		}
		m, ok1 = regNum(s, 0, a)
		d, ok2 = regNum(s, a+1, b)
		y, ok3 = regNum(s, b+1, len(s))
		if a > 2 || b-a > 3 {
			return "", false
		}
	}
	if !ok1 || !ok2 || !ok3 || !regValidDate(y, m, d) {
		return "", false
	}
	return regFormatDate(y, m, d), true
}

func regFormatDate(y, m, d int) string {
	b := []byte("0000-00-00")
	b[0], b[1], b[2], b[3] = byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10)
	b[5], b[6] = byte('0'+m/10), byte('0'+m%10)
	b[8], b[9] = byte('0'+d/10), byte('0'+d%10)
	return string(b)
}

// regFastDateTime accepts 2026-03-14T09:31:07, 2026-03-14 09:31:07 and
// 3/14/2026 9:31 AM.
func regFastDateTime(s string) (string, bool) {
	var date string
	var rest string
	if len(s) == 19 && (s[10] == 'T' || s[10] == ' ') {
		d, ok := regFastDate(s[:10])
		if !ok {
			return "", false
		}
		date, rest = d, s[11:]
		h, ok1 := regNum(rest, 0, 2)
		mi, ok2 := regNum(rest, 3, 5)
		se, ok3 := regNum(rest, 6, 8)
		if !ok1 || !ok2 || !ok3 || rest[2] != ':' || rest[5] != ':' || h > 23 || mi > 59 || se > 59 {
			return "", false
		}
		return date + "T" + rest, true
	}
	sp := strings.IndexByte(s, ' ')
	if sp < 0 || sp+1 > len(s)-3 || !strings.HasSuffix(s, " AM") && !strings.HasSuffix(s, " PM") {
		return "", false
	}
	d, ok := regFastDate(s[:sp])
	if !ok {
		return "", false
	}
	t := s[sp+1 : len(s)-3]
	c := strings.IndexByte(t, ':')
	if c < 1 || c > 2 || len(t)-c != 3 {
		return "", false
	}
	h, ok1 := regNum(t, 0, c)
	mi, ok2 := regNum(t, c+1, len(t))
	if !ok1 || !ok2 || h < 1 || h > 12 || mi > 59 {
		return "", false
	}
	h %= 12
	if s[len(s)-2] == 'P' {
		h += 12
	}
	return d + "T" + string([]byte{byte('0' + h/10), byte('0' + h%10), ':', byte('0' + mi/10), byte('0' + mi%10)}) + ":00", true
}
