// Package cpuid stands in for github.com/klauspost/cpuid/v2 in bethel's
// build (a replace directive in bethel's go.mod). Its only user is
// github.com/zeebo/blake3, which asks two questions at start-up: does the
// CPU have SSE4.1, does it have AVX2 (with the operating system saving
// the AVX registers). The real package answers them by detecting every
// feature it knows in its init, with some fifty CPUID instructions, each
// of which traps to the hypervisor on a virtual machine: a third of a
// millisecond added to every bethel command, even `bethel version`.
// golang.org/x/sys/cpu, which bethel links already, answers both
// questions with the few CPUID instructions it runs anyway.
package cpuid

import "golang.org/x/sys/cpu"

// FeatureID names a CPU feature; only those blake3 asks about exist.
type FeatureID int

// The features blake3 asks about.
const (
	// SSE4 is SSE4.1.
	SSE4 FeatureID = iota + 1
	// AVX2 is AVX2, usable only when the operating system saves the AVX
	// registers (x/sys/cpu checks both).
	AVX2
)

// CPUInfo answers feature questions about the CPU bethel runs on.
type CPUInfo struct{}

// CPU is the CPU bethel runs on.
var CPU CPUInfo

// Has reports whether the CPU has feature id.
func (CPUInfo) Has(id FeatureID) bool {
	switch id {
	case SSE4:
		return cpu.X86.HasSSE41
	case AVX2:
		return cpu.X86.HasAVX2
	}
	return false
}
