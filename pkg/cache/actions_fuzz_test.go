package cache

import (
	"os"
	"reflect"
	"testing"
)

// FuzzActionLog: whatever follows a valid action log (a torn tail,
// garbage), reopening the store never panics, still finds every manifest
// written before it, and answers a key nobody stored with a miss.
func FuzzActionLog(f *testing.F) {
	f.Add([]byte("M\t"))
	f.Add([]byte("\nU\tzz\t1\n"))
	f.Add([]byte{0, '\n', 'M', '\t'})
	f.Fuzz(func(t *testing.T, tail []byte) {
		dir := t.TempDir()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		k1, k2 := Sum([]byte("k1")), Sum([]byte("k2"))
		m := &Manifest{Outputs: []Output{{Path: "out/a", Size: 1, Hash: Sum([]byte("a")), Mode: 0o644}}, Desc: "d"}
		if err := s.PutManifest(k1, m); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(s.actionsPath(), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(tail)
		f.Close()
		s2, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s2.GetManifest(k1)
		if err != nil || !reflect.DeepEqual(got.Outputs, m.Outputs) || got.Desc != m.Desc {
			t.Fatalf("after the tail %q: manifest %+v, %v", tail, got, err)
		}
		if _, err := s2.GetManifest(k2); err == nil {
			t.Fatalf("after the tail %q: a manifest for a key never stored", tail)
		}
		// The store keeps working: the next entry after the tail is found.
		if err := s2.PutManifest(k2, m); err != nil {
			t.Fatal(err)
		}
		s3, _ := Open(dir)
		if _, err := s3.GetManifest(k2); err != nil {
			t.Fatalf("after the tail %q, a new manifest was lost: %v", tail, err)
		}
	})
}
