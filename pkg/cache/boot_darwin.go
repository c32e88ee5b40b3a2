package cache

import (
	"sync"
	"syscall"
)

var bootOnce = sync.OnceValue(func() string {
	s, err := syscall.Sysctl("kern.bootsessionuuid")
	if err != nil {
		return ""
	}
	return s
})

// BootID identifies the running boot of the machine ("" when unknown).
// Stat data recorded in one boot is trusted only in that boot: a power cut
// can lose file data whose metadata survived, but it always means a reboot.
func BootID() string { return bootOnce() }
