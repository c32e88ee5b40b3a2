package coltable

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

func write(t testing.TB, names []string, rows [][]string, lines []int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, names, len(rows), func(i int) int { return lines[i] }, func(i, c int) string { return rows[i][c] }); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 3, 300, 70000} {
		names := []string{"id", "meal", "note"}
		rows := make([][]string, n)
		lines := make([]int, n)
		line := 2
		for i := range rows {
			rows[i] = []string{fmt.Sprintf("R-%d", i), []string{"chicken", "", "beef"}[i%3], strings.Repeat("x", i%5)}
			lines[i] = line
			line += 1 + i%2 // some rows span two lines
		}
		data := write(t, names, rows, lines)
		tab, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if tab.Len() != n || fmt.Sprint(tab.Names) != fmt.Sprint(names) {
			t.Fatalf("n=%d: %d rows, names %v", n, tab.Len(), tab.Names)
		}
		for c, name := range names {
			col, err := tab.Column(name)
			if err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				if col.At(i) != rows[i][c] || int(tab.Lines[i]) != lines[i] {
					t.Fatalf("n=%d row %d col %s: %q line %d", n, i, name, col.At(i), tab.Lines[i])
				}
			}
		}
		if _, err := tab.Column("nope"); err == nil {
			t.Error("unknown column read")
		}
	}
}

func TestWriteRefusesLinesOutOfOrder(t *testing.T) {
	var b bytes.Buffer
	err := Write(&b, []string{"a"}, 2, func(i int) int { return 2 }, func(int, int) string { return "" })
	if err == nil {
		t.Error("two rows on one line accepted")
	}
}

// TestWriteColumns: columns coded elsewhere, in order of first use, make
// the file Write makes of their values; a dictionary in another order is
// refused.
func TestWriteColumns(t *testing.T) {
	names := []string{"meal", "size"}
	rows := [][]string{{"beef", "M"}, {"", "M"}, {"beef", "S"}, {"vegan", "L"}}
	lines := []int{2, 3, 4, 6}
	want := write(t, names, rows, lines)
	line := func(i int) int { return lines[i] }
	cols := []Coded{
		&Column{Dict: []string{"beef", "", "vegan"}, Codes: []uint32{0, 1, 0, 2}},
		&Column{Dict: []string{"M", "S", "L"}, Codes: []uint32{0, 0, 1, 2}},
	}
	var b bytes.Buffer
	if err := WriteColumns(&b, names, len(rows), line, cols); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("WriteColumns wrote another file than Write")
	}
	for _, bad := range []*Column{
		{Dict: []string{"", "beef", "vegan"}, Codes: []uint32{1, 0, 1, 2}}, // "" numbered first
		{Dict: []string{"beef", "", "vegan", "x"}, Codes: []uint32{0, 1, 0, 2}},
		{Dict: []string{"beef", "", "vegan"}, Codes: []uint32{0, 1, 0}},
	} {
		if err := WriteColumns(io.Discard, names, len(rows), line, []Coded{bad, cols[1]}); err == nil {
			t.Errorf("column %v written", bad)
		}
	}
}

// FuzzRead: a damaged or foreign file is an error, never a panic or a
// column longer than the table.
func FuzzRead(f *testing.F) {
	f.Add(write(f, []string{"id", "meal"}, [][]string{{"R-1", "beef"}, {"R-2", ""}}, []int{2, 4}))
	f.Add([]byte(Magic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, name := range tab.Names {
			col, err := tab.Column(name)
			if err != nil {
				continue
			}
			if len(col.Codes) != tab.Len() {
				t.Fatalf("column %s has %d rows, table %d", name, len(col.Codes), tab.Len())
			}
		}
	})
}

// BenchmarkWrite writes a table of the registrations' shape at 100,000
// rows: distinct columns (ids, emails) beside columns of a few values.
func BenchmarkWrite(b *testing.B) {
	const n = 100_000
	names := []string{"id", "email", "meal", "size"}
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("R-%06d", i), fmt.Sprintf("person%d@example.org", i*7919%n),
			[]string{"chicken", "", "beef", "vegan"}[i%4], []string{"S", "M", "L", "XL", "2XL"}[i%5]}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := Write(io.Discard, names, n, func(i int) int { return i + 2 }, func(i, c int) string { return rows[i][c] }); err != nil {
			b.Fatal(err)
		}
	}
}
