package graph

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"bethel/pkg/cache"
)

// FuzzJournalRecord: any node name and output path survives a record's
// quoting, and a record cut anywhere is ignored rather than misread.
func FuzzJournalRecord(f *testing.F) {
	for _, s := range [][2]string{{"registrations", "out/private/registrations.csv"}, {"a\tb", "out/x\ny"}, {`"quoted`, `back\slash`}, {"", ""}} {
		f.Add(s[0], s[1], uint(7))
	}
	f.Fuzz(func(t *testing.T, name, path string, cut uint) {
		key := cache.Sum([]byte(name))
		outs := []cache.Output{{Path: path, Hash: cache.Sum([]byte(path))}}
		rec := formatRecord("D", name, key, outs)
		if bytes.Count(rec, []byte("\n")) != 1 || rec[len(rec)-1] != '\n' {
			t.Fatalf("record is not one line: %q", rec)
		}
		j := &journal{m: map[string]*nodeState{}}
		j.parse(rec[:len(rec)-1])
		want := &nodeState{key: key, outputs: []recordedOutput{{path, outs[0].Hash}}}
		if got := j.m[name]; !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip of %q %q: got %+v", name, path, got)
		}
		// A torn record (any strict prefix) must not be taken.
		n := int(cut % uint(len(rec)-1))
		j2 := &journal{m: map[string]*nodeState{}}
		j2.parse(rec[:n])
		if len(j2.m) != 0 {
			t.Fatalf("a record cut at %d of %d was accepted: %q", n, len(rec), rec[:n])
		}
	})
}

// FuzzLoadJournal: whatever follows a valid log (a torn tail, garbage, a
// second writer's bytes), loading never panics and never loses or alters
// the valid records before it (the tail holds no line with a valid
// checksum unless the fuzzer forges a CRC-32, which would be a find).
func FuzzLoadJournal(f *testing.F) {
	f.Add([]byte("S\tx\t"))
	f.Add([]byte("\nD\tb\t0000\n"))
	f.Add([]byte{0xff, '\n', '\t'})
	k1, k2 := cache.Sum([]byte("1")), cache.Sum([]byte("2"))
	var head bytes.Buffer
	head.WriteString(journalHeader)
	head.Write(formatRecord("D", "a", k1, []cache.Output{{Path: "out/a", Hash: k2}}))
	head.Write(formatRan("a", k1, 1500*time.Microsecond))
	head.Write(formatRecord("S", "b", k2, nil))
	want := map[string]*nodeState{
		"a": {key: k1, outputs: []recordedOutput{{"out/a", k2}}, ran: 1500 * time.Microsecond},
		"b": {key: k2, interrupted: true},
	}
	f.Fuzz(func(t *testing.T, tail []byte) {
		j := &journal{m: map[string]*nodeState{}}
		j.load(append(bytes.Clone(head.Bytes()), tail...))
		if !reflect.DeepEqual(j.m, want) {
			t.Fatalf("after the tail %q the journal holds %+v", tail, j.m)
		}
		if j.torn != (len(tail) > 0 && tail[len(tail)-1] != '\n') {
			t.Fatalf("torn = %v for the tail %q", j.torn, tail)
		}
	})
}
