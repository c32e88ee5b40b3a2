package xlsxw

import (
	"archive/zip"
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// unzipParts returns every member of a workbook, decompressed; each,
// when given, is called with every member as it is read.
func unzipParts(t *testing.T, data []byte, each func(f *zip.File, b []byte)) map[string][]byte {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]byte{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r) // checks the CRC and the size
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if each != nil {
			each(f, b)
		}
		parts[f.Name] = b
	}
	return parts
}

// TestLZ writes large sheets with the back-references the sheet writer
// records (lz.go) and checks that every member decompresses to the XML
// compress/flate alone is given: repeated and unique values, blank runs
// of every length, texts longer than a reference and than the window,
// escapes, preserved spaces, typed cells, chunks and sheets of every size.
func TestLZ(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	pool := []string{"daughter", "adult", "guest", "Friday;Saturday;Sunday", "yes", "paid", "<&>", " lead", "trail ",
		"_x0041_", "é", strings.Repeat("long ", 60), "7", "2026-05-01", "12:30"}
	big := strings.Repeat("x", 33000) // past the window
	cols := []Column{{Title: "id"}, {Title: "a"}, {Title: "b"}, {Title: "c"}, {Title: "n", Kind: Int},
		{Title: "d", Kind: Date}, {Title: "e"}, {Title: "f"}, {Title: "t", Kind: Time}}
	var sheets []Sheet
	for s, n := range []int{999, 1000, 4321, 12000, 0, 1500} {
		rows := make([][]string, n)
		for r := range rows {
			row := make([]string, len(cols))
			for c := range row {
				switch x := rnd.IntN(10); {
				case c == 0:
					row[c] = "R-" + strconv.Itoa(rnd.IntN(1000000))
				case rnd.IntN(3000) == 0:
					row[c] = big
				case x < 3:
					row[c] = ""
				case x < 8 && r > 0 && rnd.IntN(2) == 0:
					row[c] = rows[r-1][c]
				case x < 9:
					row[c] = pool[rnd.IntN(len(pool))]
				default:
					row[c] = strconv.Itoa(rnd.IntN(100000))
				}
			}
			rows[r] = row
		}
		sheets = append(sheets, Sheet{Name: "S" + strconv.Itoa(s), Columns: cols, Rows: n,
			Each: func(yield func([]string) bool) {
				for _, row := range rows {
					if !yield(row) {
						return
					}
				}
			}})
	}
	got := write(t, sheets, Options{})
	defer func(n int) { lzMinRows = n }(lzMinRows)
	lzMinRows = 1 << 30
	want := write(t, sheets, Options{})
	if bytes.Equal(got, want) {
		t.Fatal("the large sheets were compressed as the small ones")
	}
	g, w := unzipParts(t, got, nil), unzipParts(t, want, nil)
	if len(g) != len(w) {
		t.Fatalf("%d members, want %d", len(g), len(w))
	}
	for name, b := range w {
		if !bytes.Equal(g[name], b) {
			t.Errorf("%s decompresses to other XML than compress/flate was given", name)
		}
	}
	for _, workers := range []int{1, 3} {
		lzMinRows = 1000
		if !bytes.Equal(got, write(t, sheets, Options{Workers: workers})) {
			t.Errorf("%d workers write other bytes", workers)
		}
	}
}
