package stages

import (
	"context"
	"fmt"
	"io"
	"strings"

	"bethel/pkg/csvio"
	"bethel/pkg/schema"
	"bethel/pkg/scrub"
	"bethel/pkg/stage"
)

// sensitiveSet is the registrations.sensitive stage: the scrub set
// (pkg/scrub's file format) of every sensitive value of every record of
// the export, active, inactive or later dropped by a patch, as the
// platform wrote it. The corrections report scrubs free text against it
// and the leak gate scans outputs with it.
//
// Inputs: the export (every input ending in .csv; its header is bound to
// the fields as registrations.map binds it) and the field declarations
// (the workspace's, or a fields.toml input), which say which fields are
// sensitive and in what format (pkg/scrub.FormatOf). Output: one file
// ending in .sensitive, private.
//
// It reads no patch: it reruns when the export changes, not on every
// correction, and stays off the path of a one-patch rebuild. The values a
// patch sets or adds are in the patch reports, which their readers add.
type sensitiveSet struct{}

func init() { register(sensitiveSet{}) }

func (sensitiveSet) Name() string    { return "registrations.sensitive" }
func (sensitiveSet) Version() string { return "1" }

func (sensitiveSet) Run(ctx context.Context, r *stage.Run) error {
	out, err := output(r, ".sensitive")
	if err != nil {
		return err
	}
	if r.Visibility != stage.Private {
		return fmt.Errorf("node %s: %s lists private values (in hashed form); its visibility must be private", r.Node, out)
	}
	file := r.Fields
	if file == "" {
		if file, err = r.Input(FieldsFile); err != nil {
			return fmt.Errorf("node %s: registrations.sensitive needs the field declarations: %w", r.Node, err)
		}
	}
	sc, err := schema.Load(r.FS, file)
	if err != nil {
		return err
	}
	var b scrub.Builder
	n := 0
	for _, in := range r.Inputs {
		if !strings.HasSuffix(in, ".csv") || in == file {
			continue
		}
		if err := addExport(ctx, r, in, sc, &b); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("node %s: registrations.sensitive needs an export (an input ending in .csv)", r.Node)
	}
	w, err := r.Create(out)
	if err != nil {
		return err
	}
	_, err = b.Set().WriteTo(w)
	return err
}

// addExport adds the sensitive values of every row of one export.
func addExport(ctx context.Context, r *stage.Run, in string, sc *schema.Schema, b *scrub.Builder) error {
	f, err := r.FS.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	cr, err := csvio.NewReader(f, in)
	if err != nil {
		return err
	}
	cols, err := sc.Columns(in, cr.Header())
	if err != nil {
		return err
	}
	type col struct {
		f      *schema.Field
		at     int
		format string
	}
	var cs []col
	for i, fd := range sc.Fields {
		if fd.Sensitive && cols.Index[i] >= 0 {
			cs = append(cs, col{fd, cols.Index[i], scrub.FormatOf(fd.Type, fd.Format, fd.Countable)})
		}
	}
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for _, c := range cs {
			v := rec.Fields[c.at]
			if c.f.IsBlank(v) {
				continue
			}
			if c.format == scrub.Date {
				// The declared date order reads 7/2/2011 one way only.
				if iso, err := c.f.Canonical(v); err == nil {
					v = iso
				}
			}
			b.Add(c.format, v)
		}
	}
}
