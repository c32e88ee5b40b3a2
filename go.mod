module bethel

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/fsnotify/fsnotify v1.10.1
	github.com/zeebo/blake3 v0.2.4
	golang.org/x/sys v0.13.0
)

require github.com/klauspost/cpuid/v2 v2.0.12 // indirect
