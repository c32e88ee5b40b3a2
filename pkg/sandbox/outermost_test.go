//go:build linux

package sandbox

import (
	"slices"
	"testing"
)

func TestOutermost(t *testing.T) {
	for _, tc := range []struct {
		in, want []string
	}{
		{[]string{"/usr/bin", "/usr/sbin", "/usr", "/usr/lib", "/usr/lib64", "/etc", "/opt", "/proc"}, []string{"/usr", "/etc", "/opt", "/proc"}},
		{[]string{"/bin", "/usr", "/lib"}, []string{"/bin", "/usr", "/lib"}},
		{[]string{"/usr", "/usr", "/usrlocal"}, []string{"/usr", "/usrlocal"}},
		{[]string{"/", "/etc"}, []string{"/"}},
		{nil, nil},
	} {
		if got := outermost(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("outermost(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
