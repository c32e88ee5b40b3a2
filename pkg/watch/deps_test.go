package watch

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDeps keeps the watcher ignorant of the pipeline and the engine (it
// only turns events into paths) and the preview server free of every
// bethel package.
func TestDeps(t *testing.T) {
	cases := []struct {
		pkg     string
		allowed []string // bethel packages it may depend on
	}{
		{"bethel/pkg/watch", []string{"bethel/pkg/watch", "bethel/pkg/cache"}},
		{"bethel/pkg/serve", []string{"bethel/pkg/serve"}},
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	for _, c := range cases {
		out, err := exec.Command(gobin, "list", "-deps", c.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", c.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if !strings.HasPrefix(dep, "bethel/") {
				continue
			}
			ok := false
			for _, a := range c.allowed {
				ok = ok || dep == a
			}
			if !ok {
				t.Errorf("%s depends on %s", c.pkg, dep)
			}
		}
	}
}
