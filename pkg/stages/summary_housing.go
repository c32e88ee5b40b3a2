package stages

import (
	"context"

	"bethel/pkg/stage"
)

// summaryHousing writes out/summary/housing.csv: `housing,count`, one row
// per housing value in the order config/values.toml lists them.
//
// Inputs: the normalized registrations, config/values.toml,
// config/privacy.toml.
type summaryHousing struct{}

func init() { register(summaryHousing{}) }

func (summaryHousing) Name() string    { return "summary.housing" }
func (summaryHousing) Version() string { return "1" }

func (summaryHousing) Run(ctx context.Context, r *stage.Run) error {
	cfg, err := summaryValues(r)
	if err != nil {
		return err
	}
	var order []string
	if m := cfg.maps["housing"]; m != nil {
		order = m.order
	}
	return simpleCount(ctx, r, "housing.csv", "housing", "housing", order, false)
}
