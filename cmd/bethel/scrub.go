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
	"bethel/pkg/schema"
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

// errScrubber withholds private data from what a build prints: a failed
// node's error against the scrub sets the last build left and the
// patterns, a warning against the patterns only (stages write warnings
// without private values, and the sets are read only when a node fails,
// which keeps a rebuild that warns from reading them every time).
type errScrubber struct {
	p    *pipeline.Pipeline
	root string
	set  *scrub.Set
	read bool
}

// newErrScrubber scrubs against the sets p's last build left; with no
// pipeline (none has loaded yet), against the sets the default privacy
// file names (declaredScrubSet).
func newErrScrubber(p *pipeline.Pipeline, root string) *errScrubber {
	return &errScrubber{p: p, root: root}
}

// declaredScrubSet is the union of the scrub sets the workspace's default
// privacy file names in sensitive_values and a build left, for messages
// written when no pipeline loads (a broken pipeline.toml quotes its own
// line). Nil when there is none: the patterns still apply.
func declaredScrubSet(root string) *scrub.Set {
	pr, err := schema.LoadPrivacy(os.DirFS(root), pipeline.DefaultPrivacy)
	if err != nil {
		return nil
	}
	var sets []*scrub.Set
	for _, o := range pr.SensitiveValues {
		if !strings.HasPrefix(o, "out/") || strings.Contains(o, "..") {
			continue
		}
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(o)))
		if err != nil {
			continue
		}
		s, err := scrub.ReadSet(bufio.NewReader(f))
		f.Close()
		if err == nil {
			sets = append(sets, s)
		}
	}
	if len(sets) == 0 {
		return nil
	}
	return scrub.Union(sets...)
}

// scrubbedError is an error whose message went through the scrubber.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrubLoadError withholds private data from a pipeline that does not
// load: its errors quote pipeline.toml's lines.
func scrubLoadError(root string, err error) error {
	out, hits := declaredScrubSet(root).Scrub(err.Error())
	if len(hits) == 0 {
		return err
	}
	return &scrubbedError{msg: out, err: err}
}

func (e *errScrubber) failure(msg string) string {
	if e == nil {
		return msg
	}
	if !e.read {
		e.read = true
		if e.p == nil {
			e.set = declaredScrubSet(e.root)
		} else {
			e.set, _ = builtScrubSet(e.p, e.root) // unreadable: the patterns still apply
		}
	}
	out, _ := e.set.Scrub(msg)
	return out
}

func (e *errScrubber) warning(msg string) string {
	if e == nil {
		return msg
	}
	if strings.Contains(msg, `patch "`) {
		// A warning that quotes a patch id (redundant, shadowed) repeats
		// what an organizer typed, which may name a person: the sets too.
		return e.failure(msg)
	}
	var none *scrub.Set
	out, _ := none.Scrub(msg)
	return out
}

// reason scrubs a --explain or status reason: one that names a patch by
// its id (an organizer's free text) against the sets too.
func (e *errScrubber) reason(msg string) string {
	if e == nil || !strings.HasPrefix(msg, "patch ") {
		return msg
	}
	return e.failure(msg)
}
