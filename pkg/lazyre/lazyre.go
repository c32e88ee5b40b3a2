// Package lazyre compiles a regular expression on its first use instead of
// at program start. Every package-level regexp.MustCompile runs in the
// binary's init, so each one is paid by every command, `bethel version`
// included, whether or not the command ever matches it.
package lazyre

import (
	"regexp"
	"sync"
)

// New returns a function that compiles expr once, on its first call, and
// then returns the same *regexp.Regexp to every caller. Like
// regexp.MustCompile it panics if expr does not compile; the tests of each
// package that declares one exercise it, so a bad expression still fails
// there.
func New(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
