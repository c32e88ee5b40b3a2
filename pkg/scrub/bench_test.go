package scrub

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

type value struct{ format, value string }

// rows writes n synthetic registrations in the sample export's shape
// (invented names, 555-01xx phones) and returns their sensitive values.
// With withSensitive false the rows leave the sensitive columns out: the
// shape of a clean internal output of the same size.
func rows(n int, withSensitive bool) ([]byte, []value) {
	var vs []value
	first := []string{"Abigail", "Ava", "Bella", "Brooke", "Camila", "Chloé", "Claire", "Daisy", "Elena", "Harper", "Mia", "Ruby", "Willa", "Zoe"}
	pre := []string{"Ash", "Bram", "Cal", "Dun", "El", "Fen", "Gar", "Hol", "Ing", "Jas", "Kel", "Lin", "Mor", "Nor"}
	suf := []string{"by", "croft", "dale", "field", "ford", "gate", "ham", "ley", "mere", "ridge", "ton", "well"}
	r := rand.New(rand.NewPCG(1, 2))
	var out bytes.Buffer
	for i := 0; i < n; i++ {
		fn, ln := first[r.IntN(len(first))], pre[r.IntN(len(pre))]+suf[r.IntN(len(suf))]
		email := fmt.Sprintf("%s.%s%d@example.org", fn, ln, r.IntN(100000))
		phone := fmt.Sprintf("(%d) 555-%04d", 200+r.IntN(700), 100+r.IntN(100))
		dob := fmt.Sprintf("%d/%d/%d", 1+r.IntN(12), 1+r.IntN(28), 2006+r.IntN(10))
		ec := first[r.IntN(len(first))] + " " + ln
		ecp := fmt.Sprintf("+1 %d 555 %04d", 200+r.IntN(700), 100+r.IntN(100))
		vs = append(vs, value{Name, fn}, value{Name, ln}, value{Email, email}, value{Phone, phone}, value{Date, dob},
			value{Name, ec}, value{Phone, ecp}, value{Text, "Peanuts"})
		if withSensitive {
			fmt.Fprintf(&out, "R-%d,2026-02-01 09:25:06,%s,%s,,%s,%s,%s,Bethel %d,Job's Daughter,,Fri/Sat/Sun,Chicken,,Peanuts,M,Dorm,%s,%s,yes,$45.00,Paid,\n",
				100000+i, fn, ln, email, phone, dob, 1+r.IntN(90), ec, ecp)
		} else {
			fmt.Fprintf(&out, "R-%d,2026-02-01 09:25:06,%d,daughter,,Friday;Saturday;Sunday,chicken,M,dorm,yes,45.00,paid\n",
				100000+i, 1+r.IntN(90))
		}
	}
	return out.Bytes(), vs
}

func benchFind(b *testing.B, n int, withSensitive bool) {
	var bld Builder
	text, vs := rows(n, withSensitive)
	for _, v := range vs {
		bld.Add(v.format, v.value)
	}
	s := bld.Set()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	hits := 0
	for i := 0; i < b.N; i++ {
		hits = len(s.Find(text))
	}
	b.ReportMetric(float64(hits), "hits")
	b.ReportMetric(float64(s.Len()), "keys")
}

// BenchmarkFind scans n rows of the sample's shape for the sensitive
// values of n registrations: clean rows (the usual output) and rows that
// hold every value (the worst case, a leak on every line).
func BenchmarkFind(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("clean/rows=%d", n), func(b *testing.B) { benchFind(b, n, false) })
		b.Run(fmt.Sprintf("leaking/rows=%d", n), func(b *testing.B) { benchFind(b, n, true) })
	}
}

// BenchmarkBuild builds the Set of n registrations and writes it.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			_, vs := rows(n, false)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var bld Builder
				for _, v := range vs {
					bld.Add(v.format, v.value)
				}
				var buf bytes.Buffer
				bld.Set().WriteTo(&buf)
				b.ReportMetric(float64(buf.Len()), "file-bytes")
			}
		})
	}
}

// BenchmarkReadSet reads the Set file of n registrations, as the
// corrections report does on every build that runs it.
func BenchmarkReadSet(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			_, vs := rows(n, false)
			var bld Builder
			for _, v := range vs {
				bld.Add(v.format, v.value)
			}
			var buf bytes.Buffer
			bld.Set().WriteTo(&buf)
			b.SetBytes(int64(buf.Len()))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := ReadSet(bytes.NewReader(buf.Bytes())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
