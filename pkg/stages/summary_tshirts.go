package stages

import (
	"context"
	"fmt"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/pos"
	"bethel/pkg/stage"
)

// summaryTShirts writes out/summary/tshirts.csv: `size,count` in canonical
// size order (TShirtSizes), zero rows included; registrations without a
// size (no shirt) are not counted.
//
// Inputs: the normalized registrations, config/privacy.toml.
type summaryTShirts struct{}

func init() { register(summaryTShirts{}) }

func (summaryTShirts) Name() string    { return "summary.tshirts" }
func (summaryTShirts) Version() string { return "1" }

func (summaryTShirts) Run(ctx context.Context, r *stage.Run) error {
	return simpleCount(ctx, r, "tshirts.csv", "size", "tshirt_size", TShirtSizes, true)
}

// simpleCount writes `<first>,count` over a field's values in the given
// order; with skipEmpty an empty cell is not counted, otherwise it is an
// error (normalized files have none).
func simpleCount(ctx context.Context, r *stage.Run, suffix, first, field string, values []string, skipEmpty bool) error {
	out, err := output(r, suffix)
	if err != nil {
		return err
	}
	if err := checkAggregate(r, out, map[string][]string{first: {field}}, []string{"count"}, []string{field}); err != nil {
		return err
	}
	rr, rowIdx, err := readRegistrations(ctx, r, "registration_id", field)
	if err != nil {
		return err
	}
	rec := lineageOf(r, out)
	counts := make([]int, len(values))
	refs := make([][]int, len(values))
	at := map[string]int{}
	for i, v := range values {
		at[v] = i
	}
	ids, vs := rr.col("registration_id"), rr.col(field)
	for i := 0; i < rr.n; i++ {
		if vs.at(i) == "" && skipEmpty {
			continue
		}
		k, ok := at[vs.at(i)]
		if !ok {
			return pos.Errorf(pos.Pos{File: rr.file, Line: rr.line(i)}, "%s: %s %q is not one of %s (is the file normalized?)", ids.at(i), field, vs.at(i), strings.Join(values, ", "))
		}
		counts[k]++
		if rec != nil {
			refs[k] = append(refs[k], rowIdx[i])
		}
	}
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	cw := csvio.NewWriter(w)
	cw.Write([]string{first, "count"})
	for i, v := range values {
		if err := cw.Write([]string{v, itoa(counts[i])}); err != nil {
			return err
		}
		if rec != nil {
			rec.AddCell(countCell(i, "count", fmt.Sprintf("count of active registrations with %s = %s", field, v), []string{field}, rr.file, refs[i]))
		}
	}
	return cw.Flush()
}
