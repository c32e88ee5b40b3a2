package main

import (
	"reflect"
	"testing"
)

func TestWithoutEntry(t *testing.T) {
	file := "# corrections\n[[patch]]\nid = \"a\"\n\n[[patch]]  # second\nid = \"b\"\n[[patch]]\nid = \"c\"\n"
	for _, tc := range []struct {
		line int
		want string
		ok   bool
	}{
		{2, "# corrections\n[[patch]]  # second\nid = \"b\"\n[[patch]]\nid = \"c\"\n", true},
		{5, "# corrections\n[[patch]]\nid = \"a\"\n\n[[patch]]\nid = \"c\"\n", true},
		{7, "# corrections\n[[patch]]\nid = \"a\"\n\n[[patch]]  # second\nid = \"b\"\n", true},
		{3, "", false}, // not a header
		{0, "", false},
		{99, "", false},
	} {
		got, ok := withoutEntry([]byte(file), tc.line)
		if ok != tc.ok || ok && string(got) != tc.want {
			t.Errorf("line %d: got %q, %v; want %q, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDiffOutput(t *testing.T) {
	for _, tc := range []struct {
		name, path, base, other string
		want                    []string
	}{
		{"same", "a.csv", "k,n\nx,1\n", "k,n\nx,1\n", nil},
		{"keyed cell", "a.csv", "k,n\nx,1\ny,2\n", "k,n\ny,2\nx,3\n", []string{"a.csv:2:n"}},
		{"row added by the patch", "a.csv", "k,n\nx,1\nw,5\n", "k,n\nx,1\n", []string{"a.csv:3 (the whole row: not there without the patch)"}},
		{"row removed by the patch", "a.csv", "k,n\nx,1\n", "k,n\nx,1\nz,4\n", []string{"a.csv (rows there without the patch, gone with it: 1)"}},
		// No unique column: rows by position.
		{"positional", "a.csv", "k,n\nx,1\nx,2\n", "k,n\nx,1\nx,1\n", []string{"a.csv:3:n"}},
		{"key in a later column", "r.csv", "b,id\n2,R-1\n2,R-2\n", "b,id\n4,R-2\n2,R-1\n", []string{"r.csv:3:b"}},
		{"header changed", "a.csv", "k,n\nx,1\n", "k,m\nx,1\n", []string{"a.csv"}},
		{"json", "s.json", `{"meals":{"veg":3,"a/b":1},"l":[1,2]}`, `{"meals":{"veg":2,"a/b":1,"x":0},"l":[1,2,3]}`,
			[]string{"s.json#/l", "s.json#/meals/veg", "s.json#/meals/x"}},
		{"json pointer escapes", "s.json", `{"a/b":{"c~d":1}}`, `{"a/b":{"c~d":2}}`, []string{"s.json#/a~1b/c~0d"}},
		{"other file", "p.html", "<p>1</p>", "<p>2</p>", []string{"p.html"}},
	} {
		got := diffOutput(tc.path, []byte(tc.base), []byte(tc.other))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
