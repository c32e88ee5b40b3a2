//go:build linux && amd64

package cache

import "syscall"

const sysFstatat = syscall.SYS_NEWFSTATAT
