package graph

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the engine ignorant of what stages do: it may use
// the stage contract, the pipeline, the cache and small shared packages,
// never the stages themselves, CSV or patches.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	allowed := map[string]bool{
		"bethel/pkg/graph": true, "bethel/pkg/cache": true, "bethel/pkg/stage": true,
		"bethel/pkg/pipeline": true, "bethel/pkg/pos": true, "bethel/pkg/lineage": true,
		"bethel/pkg/provenance": true, "bethel/pkg/explain": true, "bethel/pkg/par": true,
		"bethel/pkg/tomlguard": true,
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "bethel/") && !allowed[p] {
			t.Errorf("pkg/graph depends on %s", p)
		}
	}
}
