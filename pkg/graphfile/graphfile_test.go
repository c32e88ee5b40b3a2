package graphfile

import (
	"bytes"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		nodes []Node
	}{
		{"empty", []Node{}},
		{"stage and command", []Node{
			{Name: "registrations", Stage: "registrations.normalize", StageVersion: "3", Inputs: []string{"inputs/r.csv"},
				Outputs: []string{"out/private/r.csv"}, Visibility: "private"},
			{Name: "badges", Command: "cat \"a\" > b", Inputs: []string{"out/private/r.csv"}, Outputs: []string{"out/private/b.txt"},
				Visibility: "private", Deps: []string{"registrations"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := Encode(tt.nodes)
			got, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(Encode(got), data) {
				t.Errorf("encode(decode(x)) != x:\n%s\n%s", Encode(got), data)
			}
			if len(got) != len(tt.nodes) || len(got) > 0 && got[0].Name != tt.nodes[0].Name {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", "x", "graph: invalid character 'x' looking for beginning of value"},
		{"null", "null", "graph: not a list of nodes"},
		{"unknown key", `[{"name":"a","colour":"red"}]`, `graph: json: unknown field "colour"`},
		{"no name", `[{"inputs":[]}]`, "graph: node 1 has no name"},
		{"trailing", `[] []`, "graph: data after the node list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Decode(%q) = %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}

// FuzzDecode: any bytes either fail to decode or decode to nodes that
// encode and decode again to the same nodes.
func FuzzDecode(f *testing.F) {
	f.Add(Encode([]Node{{Name: "a", Stage: "s", Inputs: []string{"x"}, Deps: []string{"b"}}}))
	f.Add([]byte(`[{"name":"a"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		nodes, err := Decode(data)
		if err != nil {
			return
		}
		again, err := Decode(Encode(nodes))
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if !reflect.DeepEqual(Encode(again), Encode(nodes)) {
			t.Fatal("not stable")
		}
	})
}
