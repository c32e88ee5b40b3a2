//go:build !linux

package sandbox

import "fmt"

// ABI is 0: Landlock is Linux's.
func ABI() (int, error) { return 0, Available() }

var disabled bool

// Available reports that commands cannot be confined on this system.
func Available() error { return fmt.Errorf("%w: it is Linux's", ErrUnavailable) }

func confine(*Spec) error { return Available() }

func execShell(*Spec) error { return Available() }
