package schema

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseMoney(t *testing.T) {
	tests := []struct{ in, want string }{
		{"45", "45.00"},
		{"45.5", "45.50"},
		{"45.", "45.00"},
		{".5", "0.50"},
		{"$45", "45.00"},
		{"USD 1,045.5", "1045.50"},
		{"usd 45", "45.00"},
		{"US$45.00", "45.00"},
		{"CA$ 12", "12.00"},
		{"£35.00", "35.00"},
		{"35,00 €", "35.00"},
		{"€35,5", "35.50"},
		{"45 EUR", "45.00"},
		{"1.045,50", "1045.50"},
		{"1 045,50", "1045.50"},
		{"1\u00a0045,50 €", "1045.50"},
		{"1'045.50", "1045.50"},
		{"1,045", "1045.00"},
		{"12,345,678.90", "12345678.90"},
		{"-0", "0.00"},
		{"(12.00)", "-12.00"},
		{"($1,234.50)", "-1234.50"},
		{"-$12", "-12.00"},
		{"$-12.5", "-12.50"},
		{"- 12,50 €", "-12.50"},
		{"0045.10", "45.10"},
		// Refused: what reads two ways, and what is not an amount.
		{"1.045", ""},
		{"45.555", ""},
		{"1,04,5", ""},
		{"1,0450.00", ""},
		{"1.045.50", ""},
		{"1,045,50", ""},
		{"(12.00", ""},
		{"", ""},
		{"$", ""},
		{"abc", ""},
		{"ABCD 45", ""},
		{"45 USDX", ""},
		{"1234567890", ""},
		{"4 5", ""},
	}
	for _, tt := range tests {
		got, ok := ParseMoney(tt.in)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("ParseMoney(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

// FuzzParseMoney: an amount read is canonical (two decimals, reads back
// as itself), and a plain decimal always reads as its own value.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"45", "USD 1,045.5", "1.045,50 €", "(12.00)", "1'045.50", "-$12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseMoney(s)
		if !ok {
			return
		}
		whole, frac, found := strings.Cut(v, ".")
		if !found || len(frac) != 2 || whole == "" || whole == "-0" {
			t.Fatalf("ParseMoney(%q) = %q: not canonical", s, v)
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			t.Fatalf("ParseMoney(%q) = %q: %v", s, v, err)
		}
		if again, ok := ParseMoney(v); !ok || again != v {
			t.Fatalf("ParseMoney(%q) = %q, then %q, %v", s, v, again, ok)
		}
	})
}
