package stages

import (
	"bytes"

	"bethel/pkg/csvio"
)

func csvioReader(b []byte, name string) (*csvTable, error) {
	t := &csvTable{}
	var err error
	t.header, t.rows, err = csvio.ReadAll(bytes.NewReader(b), name)
	return t, err
}
