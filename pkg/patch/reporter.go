package patch

import (
	"context"

	"bethel/pkg/stage"
)

// Reporter is implemented by stages that apply patches, so that
// `bethel patches` can evaluate a node's patches against its current
// inputs without building (and so report conflicts and orphans even when
// the build fails). It writes nothing; messages follow opt.
type Reporter interface {
	PatchReport(ctx context.Context, r *stage.Run, opt Options) (*Report, error)
}
