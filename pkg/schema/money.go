package schema

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseMoney reads an amount as platforms and spreadsheets write it and
// returns it canonical, with two decimals ("1045.50", "-12.00"). It
// accepts a currency symbol or code before or after the number ($45,
// USD 45, US$45, £35.00, 35,00 €, 45 EUR), a minus sign or accountants'
// parentheses for a negative amount, a decimal point or comma (the one
// followed by one or two digits at the end), and thousands grouped by
// commas, or by dots, spaces or apostrophes before a decimal comma
// (1,045.50; 1.045,50; 1 045,50; 1'045.50). What could be read two ways is
// refused rather than guessed: 1.045 is 1045 in Europe and 1.045 dollars
// nowhere sensible.
func ParseMoney(raw string) (string, bool) {
	s := strings.ToUpper(strings.TrimSpace(raw))
	neg := false
	if len(s) > 2 && s[0] == '(' && s[len(s)-1] == ')' {
		neg, s = true, s[1:len(s)-1]
	}
	s, neg = stripCurrency(s, neg)
	if s == "" {
		return "", false
	}
	whole, frac := s, ""
	var thousands string
	if i := strings.LastIndexAny(s, ".,"); i >= 0 {
		switch tail := len(s) - i - 1; {
		case tail == 1 || tail == 2 || tail == 0 && s[i] == '.':
			whole, frac = s[:i], s[i+1:]
			thousands = " '\u00a0\u202f"
			if s[i] == '.' {
				thousands += ","
			} else {
				thousands += "."
			}
		case tail == 3 && s[i] == ',':
			thousands = ", '\u00a0\u202f"
		default:
			return "", false
		}
	}
	w, ok := groupedDigits(whole, thousands)
	if _, okF := digits(frac, 0, 2); !ok || !okF {
		return "", false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if w = strings.TrimLeft(w, "0"); w == "" {
		w = "0"
	}
	if neg && (w != "0" || frac != "00") {
		w = "-" + w
	}
	return w + "." + frac, true
}

// stripCurrency removes a currency symbol or code and minus signs around
// the number, toggling neg for each minus.
func stripCurrency(s string, neg bool) (string, bool) {
	for range 4 {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "-"):
			neg, s = !neg, s[1:]
		case currencyCode(s) > 0:
			s = s[currencyCode(s):]
		case isCurrencySymbol(s):
			_, n := utf8.DecodeRuneInString(s)
			s = s[n:]
		case currencyCodeSuffix(s) > 0:
			s = s[:len(s)-currencyCodeSuffix(s)]
		case isCurrencySymbolSuffix(s):
			_, n := utf8.DecodeLastRuneInString(s)
			s = s[:len(s)-n]
		default:
			return s, neg
		}
	}
	return strings.TrimSpace(s), neg
}

// currencyCode is the length of an ISO code (USD) or a country prefix of
// a symbol (US$, CA$, A$) at the start of s, 0 if none.
func currencyCode(s string) int {
	n := 0
	for n < len(s) && n < 4 && s[n] >= 'A' && s[n] <= 'Z' {
		n++
	}
	switch {
	case n == 3 && (len(s) == 3 || !isLetter(s[3:])):
		return 3
	case n >= 1 && n <= 2 && isCurrencySymbol(s[n:]):
		return n
	}
	return 0
}

// currencyCodeSuffix is the length of an ISO code at the end of s (45
// EUR), 0 if none.
func currencyCodeSuffix(s string) int {
	n := len(s)
	if n < 4 {
		return 0
	}
	for i := n - 3; i < n; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return 0
		}
	}
	if isLetter(s[n-4:]) {
		return 0
	}
	return 3
}

func isLetter(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r)
}

func isCurrencySymbol(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.Is(unicode.Sc, r)
}

func isCurrencySymbolSuffix(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return unicode.Is(unicode.Sc, r)
}

// groupedDigits returns the digits of s, a whole number written with or
// without one kind of thousands separator out of seps (groups of three
// after the first group of one to three), at most nine digits in all.
func groupedDigits(s, seps string) (string, bool) {
	if s == "" {
		return "0", true
	}
	i := strings.IndexAny(s, seps)
	if i < 0 {
		_, ok := digits(s, 1, 9)
		return s, ok
	}
	sep, _ := utf8.DecodeRuneInString(s[i:])
	groups := strings.Split(s, string(sep))
	if _, ok := digits(groups[0], 1, 3); !ok {
		return "", false
	}
	for _, g := range groups[1:] {
		if _, ok := digits(g, 3, 3); !ok {
			return "", false
		}
	}
	d := strings.Join(groups, "")
	_, ok := digits(d, 1, 9)
	return d, ok
}
