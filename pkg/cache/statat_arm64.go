//go:build linux && arm64

package cache

import "syscall"

const sysFstatat = syscall.SYS_FSTATAT
