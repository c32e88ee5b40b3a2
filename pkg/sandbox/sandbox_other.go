//go:build !linux

package sandbox

import "fmt"

// ABI is 0: Landlock is Linux's.
func ABI() (int, error) { return 0, Available() }

// Available reports that commands cannot be confined on this system.
func Available() error { return fmt.Errorf("%w: it is Linux's", ErrUnavailable) }

// Run refuses: there is nothing to confine with.
func Run(*Spec, func() error) error { return Available() }

// Start refuses: there is nothing to confine with.
func Start(*Spec, func() (int, error)) error { return Available() }

// Prime does nothing: there are no rules to make.
func Prime() {}
