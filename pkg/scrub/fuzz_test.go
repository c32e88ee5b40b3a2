package scrub

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadSet: any bytes are read without a panic, and a set that reads
// is written back byte for byte.
func FuzzReadSet(f *testing.F) {
	var buf bytes.Buffer
	sample().WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(magic + "\nbirth-year 0\nkeys 0\n"))
	f.Add([]byte(magic + "\nbirth-year 2011\nkeys 1\n\x0c\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte(magic1 + "\nbirth-year 2011\nkeys 2\n\x09\x00\x00\x00\x00\x00\x00\x00\x0e\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadSet(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		s.WriteTo(&out)
		if bytes.HasPrefix(data, []byte(magic1+"\n")) {
			// Version 1 is written back as version 2: that must read.
			again, err := ReadSet(bytes.NewReader(out.Bytes()))
			if err != nil || again.Len() != s.Len() {
				t.Fatalf("version 1 %q written as %q: %v", data, out.Bytes(), err)
			}
			data = out.Bytes()
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("read %q, wrote %q", data, out.Bytes())
		}
		s.Find(data)
	})
}

// FuzzScrub: the scrubbed text holds no known value and nothing the
// patterns flag, hits lie inside the text in order, and a text without
// hits comes back unchanged.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{
		"Mia Talcroft's mom Helen called from (559) 555-0120: severe peanut allergy, DOB 1/21/2011",
		"ruby oakfield", "+1 656 555 0141", "born 01/08/2011 or Jan 8th, 2011", "a@b.co", "Bethel 57",
		"Zoë\u0308 TALCROFT\n\nmia.talcroft37@example.org", "R-10004,5,3,2,10",
	} {
		f.Add(s)
	}
	set := sample()
	f.Fuzz(func(t *testing.T, in string) {
		out, hits := set.Scrub(in)
		end := 0
		for _, h := range hits {
			if h.Offset < end || h.Length <= 0 || h.Offset+h.Length > len(in) {
				t.Fatalf("hit %+v out of order or range (len %d, previous end %d)", h, len(in), end)
			}
			end = h.Offset + h.Length
		}
		if len(hits) == 0 && out != in {
			t.Fatalf("no hit but %q became %q", in, out)
		}
		if !utf8.ValidString(in) {
			return
		}
		if hs := set.Find([]byte(out)); len(hs) > 0 {
			h := hs[0]
			t.Fatalf("scrubbed %q still holds %q", out, out[h.Offset:h.Offset+h.Length])
		}
		again, _ := set.Scrub(out)
		if strings.Count(again, Withheld) != strings.Count(out, Withheld) {
			t.Fatalf("scrubbing %q again withholds more: %q", out, again)
		}
	})
}

// FuzzAddMatchesForms: for any value and format, the Builder's fast paths
// add exactly the keys of the value's forms (see TestAddMatchesForms).
func FuzzAddMatchesForms(f *testing.F) {
	for _, s := range []string{"Ruby Oakfield", "+1 656 555 0141", "(656) 555-0141", "1/8/2011", "2011-01-08T09:30:00", "Jan 8th, 2011", "a@b.co", "12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, format := range []string{Text, Name, Email, Phone, Date} {
			var fast, slow Builder
			fast.Add(format, v)
			for _, fm := range forms(format, v) {
				if fm.kind == 'w' {
					slow.words(fm.words)
				} else {
					slow.push(fm.key(), flagFull)
				}
			}
			if a, b := fast.Set().keys, slow.Set().keys; !slices.Equal(a, b) {
				t.Fatalf("Add(%q, %q): %d keys, its forms %d keys", format, v, len(a), len(b))
			}
		}
	})
}

// FuzzFindParallel: whatever the text and however many pieces it is cut
// into, FindParallel finds exactly what Find does.
func FuzzFindParallel(f *testing.F) {
	for _, s := range []string{
		"Mia Talcroft\ncalled from (559) 555-0120\nDOB 1/21/2011, mia.talcroft37@example.org\n",
		"Mia\nTalcroft 555\n-0120 1/21\n/2011", "\n\n\nruby oakfield\r\n+1 656 555 0141\n",
		"Zoë\u0308 TALCROFT\n\nR-10004,5,3,2,10\n born 01/08/2011",
	} {
		f.Add(s, uint8(2))
	}
	set := sample()
	old := parallelMin
	parallelMin = 0
	defer func() { parallelMin = old }()
	f.Fuzz(func(t *testing.T, in string, n uint8) {
		text := []byte(strings.Repeat(in, 3))
		want := set.Find(text)
		got := set.FindParallel(text, int(n%6))
		if len(want) == 0 && len(got) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("in %d pieces: %+v, Find %+v", n%6, got, want)
		}
	})
}
