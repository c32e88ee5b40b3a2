package cache

import (
	"io"
	"strings"
	"sync"
)

var bootOnce = sync.OnceValue(func() string {
	f, err := OpenPlain("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
})

// BootID identifies the running boot of the machine ("" when unknown).
// Stat data recorded in one boot is trusted only in that boot: a power cut
// can lose file data whose metadata survived, but it always means a reboot.
func BootID() string { return bootOnce() }
