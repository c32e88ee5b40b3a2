package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"bethel/pkg/pipeline"
	"bethel/pkg/scrub"
)

// builtScrubSet is the union of the scrub sets the last build left: every
// output of the pipeline ending in .sensitive that exists (pkg/scrub's
// format; see the registrations.sensitive stage). Nil when there is none:
// a nil Set still withholds what looks like an email, a phone number or a
// birth date.
func builtScrubSet(p *pipeline.Pipeline, root string) (*scrub.Set, error) {
	var sets []*scrub.Set
	for _, n := range p.Order {
		for _, o := range n.Outputs {
			if !strings.HasSuffix(o, ".sensitive") {
				continue
			}
			f, err := os.Open(filepath.Join(root, filepath.FromSlash(o)))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			s, err := scrub.ReadSet(bufio.NewReader(f))
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o, err)
			}
			sets = append(sets, s)
		}
	}
	if len(sets) == 0 {
		return nil, nil
	}
	return scrub.Union(sets...), nil
}
