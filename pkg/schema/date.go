package schema

import (
	"strings"
)

// DateOrder says how an ambiguous numeric date such as 7/2/2011 reads.
type DateOrder string

// The date orders; a date whose year comes first (2011-07-02) is read
// year, month, day whatever the order.
const (
	MDY DateOrder = "MDY" // month first, as US platforms write: 7/2/2011 is July 2
	DMY DateOrder = "DMY" // day first: 7/2/2011 is 7 February
)

var monthNames = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

const (
	dateWant     = "a date such as 2011-07-02, 7/2/2011 or July 2, 2011"
	dateTimeWant = "a date and time such as 2026-03-14 09:31:07, 2026-03-14T09:31:07 or 3/14/2026 9:31 AM"
)

// ParseDate maps a date as exports and patches write it to its canonical
// form 2006-01-02. Accepted: 2011-07-02, 2011/7/2, 7/2/2011, 7-2-2011
// (day and month in the given order), July 2, 2011, Jul 2 2011,
// 2 July 2011. A two-digit year is an error: 7/2/11 could be 1911 or 2011.
func ParseDate(text string, order DateOrder) (string, error) {
	s := strings.TrimSpace(text)
	y, m, d, err := parseDate(s, order)
	if err != nil {
		return "", err
	}
	return formatDate(y, m, d), nil
}

// ParseDateTime maps a date and time to its canonical form
// 2006-01-02T15:04:05 (the clock time as written: an offset or Z given is
// dropped, exports carry one zone). Accepted: any date ParseDate accepts,
// then a time after T or a space: 09:31, 09:31:07, 09:31:07.5, 9:31 AM,
// 9:31:07PM, optionally followed by Z or an offset. A date alone is
// midnight.
func ParseDateTime(text string, order DateOrder) (string, error) {
	s := strings.TrimSpace(text)
	date, clock := splitDateTime(s)
	y, m, d, err := parseDate(date, order)
	if err != nil {
		if ve, ok := err.(*ValueError); ok && ve.What == "not a date" {
			ve.What, ve.Want = "not a date and time", dateTimeWant
		}
		return "", err
	}
	h, mi, se := 0, 0, 0
	if clock != "" {
		var ok bool
		if h, mi, se, ok = parseClock(clock); !ok {
			return "", &ValueError{What: "not a date and time", Want: dateTimeWant}
		}
	}
	b := make([]byte, 0, 19)
	b = append(b, formatDate(y, m, d)...)
	b = append(b, 'T', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+se/10), byte('0'+se%10))
	return string(b), nil
}

// splitDateTime cuts s into its date and its time of day.
func splitDateTime(s string) (date, clock string) {
	if len(s) > 10 && s[4] == '-' && (s[10] == 'T' || s[10] == 't') {
		return s[:10], s[11:]
	}
	// The time starts at the first space-separated token holding a colon.
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return s, ""
	}
	sp := strings.LastIndexAny(s[:i], " T")
	if sp < 0 {
		return s, ""
	}
	return strings.TrimRight(strings.TrimSpace(s[:sp]), ","), strings.TrimSpace(s[sp+1:])
}

// parseClock reads 9:31, 09:31:07, 09:31:07.123, 9:31 AM, 9:31PM,
// 09:31:07Z, 09:31:07-05:00.
func parseClock(s string) (h, m, sec int, ok bool) {
	s = strings.TrimSpace(s)
	ampm := 0
	up := strings.ToUpper(s)
	switch {
	case strings.HasSuffix(up, "AM"):
		ampm, s = 1, strings.TrimSpace(s[:len(s)-2])
	case strings.HasSuffix(up, "PM"):
		ampm, s = 2, strings.TrimSpace(s[:len(s)-2])
	}
	if ampm == 0 {
		// A zone after the clock time: Z, +hh:mm, -hh:mm, +hhmm.
		if strings.HasSuffix(up, "Z") {
			s = s[:len(s)-1]
		} else if i := strings.LastIndexAny(s, "+-"); i > 0 {
			if _, _, ok := parseHM(s[i+1:]); !ok {
				return 0, 0, 0, false
			}
			s = s[:i]
		}
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, false
	}
	var ok1, ok2, ok3 bool
	h, ok1 = digits(parts[0], 1, 2)
	m, ok2 = digits(parts[1], 2, 2)
	ok3 = true
	if len(parts) == 3 {
		sp := parts[2]
		if i := strings.IndexByte(sp, '.'); i >= 0 {
			if _, okf := digits(sp[i+1:], 1, 9); !okf {
				return 0, 0, 0, false
			}
			sp = sp[:i]
		}
		sec, ok3 = digits(sp, 2, 2)
	}
	if !ok1 || !ok2 || !ok3 || m > 59 || sec > 59 {
		return 0, 0, 0, false
	}
	switch ampm {
	case 0:
		if h > 23 {
			return 0, 0, 0, false
		}
	default:
		if h < 1 || h > 12 {
			return 0, 0, 0, false
		}
		h %= 12
		if ampm == 2 {
			h += 12
		}
	}
	return h, m, sec, true
}

// parseHM reads an offset's hh:mm or hhmm.
func parseHM(s string) (int, int, bool) {
	s = strings.Replace(s, ":", "", 1)
	if len(s) != 4 && len(s) != 2 {
		return 0, 0, false
	}
	h, ok := digits(s[:2], 2, 2)
	m := 0
	ok2 := true
	if len(s) == 4 {
		m, ok2 = digits(s[2:], 2, 2)
	}
	return h, m, ok && ok2 && h <= 23 && m <= 59
}

// digits parses s as between lo and hi decimal digits.
func digits(s string, lo, hi int) (int, bool) {
	if len(s) < lo || len(s) > hi {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func parseDate(s string, order DateOrder) (y, m, d int, err error) {
	notDate := &ValueError{What: "not a date", Want: dateWant}
	if s == "" {
		return 0, 0, 0, notDate
	}
	// Fast path: the ISO form most exports write.
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, ok1 := digits(s[:4], 4, 4)
		m, ok2 := digits(s[5:7], 2, 2)
		d, ok3 := digits(s[8:], 2, 2)
		if ok1 && ok2 && ok3 && validDate(y, m, d) {
			return y, m, d, nil
		}
		return 0, 0, 0, notDate
	}
	if c := s[0]; c >= '0' && c <= '9' && !strings.ContainsAny(s, " ,") {
		sep := strings.IndexAny(s, "/-")
		if sep < 0 {
			return 0, 0, 0, notDate
		}
		parts := strings.Split(s, s[sep:sep+1])
		if len(parts) != 3 {
			return 0, 0, 0, notDate
		}
		a, okA := digits(parts[0], 1, 4)
		b, okB := digits(parts[1], 1, 2)
		c, okC := digits(parts[2], 1, 4)
		if !okA || !okB || !okC {
			return 0, 0, 0, notDate
		}
		switch {
		case len(parts[0]) == 4:
			y, m, d = a, b, c
			if len(parts[2]) > 2 {
				return 0, 0, 0, notDate
			}
		case len(parts[2]) == 4 && len(parts[0]) <= 2:
			y = c
			if order == DMY {
				d, m = a, b
			} else {
				m, d = a, b
			}
		case len(parts[2]) <= 2 && len(parts[0]) <= 2:
			return 0, 0, 0, twoDigitYear()
		default:
			return 0, 0, 0, notDate
		}
		if !validDate(y, m, d) {
			if len(parts[0]) != 4 && validDate(y, d, m) {
				return 0, 0, 0, &ValueError{What: "not a date", Want: dateWant,
					Hint: "day and month read in " + string(orderOr(order)) + " order (dateOrder in the field declaration)"}
			}
			return 0, 0, 0, notDate
		}
		return y, m, d, nil
	}
	// Month names: July 2, 2011 / Jul 2 2011 / 2 July 2011.
	toks := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	if len(toks) != 3 {
		return 0, 0, 0, notDate
	}
	var nums []string
	for _, t := range toks {
		if mo := monthOf(t); mo > 0 {
			if m != 0 {
				return 0, 0, 0, notDate
			}
			m = mo
			continue
		}
		nums = append(nums, strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(t, "st"), "nd"), "rd"), "th"))
	}
	if m == 0 || len(nums) != 2 {
		return 0, 0, 0, notDate
	}
	dd, ok1 := digits(nums[0], 1, 2)
	yy, ok2 := digits(nums[1], 1, 4)
	if !ok1 || !ok2 {
		return 0, 0, 0, notDate
	}
	if len(nums[1]) <= 2 {
		return 0, 0, 0, twoDigitYear()
	}
	if len(nums[1]) != 4 || !validDate(yy, m, dd) {
		return 0, 0, 0, notDate
	}
	return yy, m, dd, nil
}

func orderOr(o DateOrder) DateOrder {
	if o == "" {
		return MDY
	}
	return o
}

func twoDigitYear() error {
	return &ValueError{What: "two-digit year", Want: dateWant, Hint: "write the year in full (2011, not 11: a two-digit year could be either century)"}
}

// monthOf returns 1-12 for a month name or its three-letter (or longer)
// abbreviation, with or without a dot.
func monthOf(t string) int {
	t = strings.ToLower(strings.TrimSuffix(t, "."))
	if len(t) < 3 {
		return 0
	}
	for i, n := range monthNames {
		if strings.HasPrefix(n, t) {
			return i + 1
		}
	}
	if t == "sept" {
		return 9
	}
	return 0
}

func validDate(y, m, d int) bool {
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && (y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		days = 29
	}
	return d <= days
}

func formatDate(y, m, d int) string {
	b := []byte("0000-00-00")
	b[0], b[1], b[2], b[3] = byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10)
	b[5], b[6] = byte('0'+m/10), byte('0'+m%10)
	b[8], b[9] = byte('0'+d/10), byte('0'+d%10)
	return string(b)
}
