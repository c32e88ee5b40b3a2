package patch

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkKeyLookups: 8 keyed set patches over 100,000 records, with an
// index of the keys they name and of every key.
//
//	go test ./pkg/patch -run '^$' -bench KeyLookups -count 5
func BenchmarkKeyLookups(b *testing.B) {
	var rows []string
	for i := 0; i < 100000; i++ {
		rows = append(rows, fmt.Sprintf("R-%06d,Name%d,%d,daughter,Friday;Saturday", i, i, 10+i%40))
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&sb, "[[patch]]\nid = \"s%d\"\ntarget = \"registrations\"\nmatch = { registration_id = \"R-%06d\" }\nset = { bethel = \"99\" }\nreason = \"r\"\n\n", i, i*9000)
	}
	ps := func() []*Patch { return load(&testing.T{}, sb.String()) }()
	for _, every := range []bool{false, true} {
		b.Run(fmt.Sprintf("every=%v", every), func(b *testing.B) {
			defer func(v bool) { indexEveryKey = v }(indexEveryKey)
			indexEveryKey = every
			for b.Loop() {
				b.StopTimer()
				tb := table(rows...)
				b.StartTimer()
				if _, _, err := Apply(tb, ps, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
