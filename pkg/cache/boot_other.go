//go:build !linux && !darwin

package cache

// BootID identifies the running boot of the machine; unknown here.
func BootID() string { return "" }
