package cache

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the cache at the bottom of the dependency graph:
// it may import only the standard library and blake3 (and what blake3
// needs), never another bethel package.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		switch {
		case p == "bethel/pkg/cache":
		case strings.HasPrefix(p, "github.com/zeebo/blake3"), strings.HasPrefix(p, "github.com/klauspost/cpuid"):
		default:
			t.Errorf("pkg/cache depends on %s", p)
		}
	}
}
