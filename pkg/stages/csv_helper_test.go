package stages

import (
	"bytes"
	"io"

	"bethel/pkg/csvio"
)

func csvioReader(b []byte, name string) (*csvTable, error) {
	cr, err := csvio.NewReader(bytes.NewReader(b), name)
	if err != nil {
		return nil, err
	}
	t := &csvTable{header: cr.Header()}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		row := make([]string, len(rec.Fields))
		for i, f := range rec.Fields {
			row[i] = csvio.Unescape(f)
		}
		t.rows = append(t.rows, row)
	}
}
