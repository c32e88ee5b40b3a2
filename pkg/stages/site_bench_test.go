package stages

import (
	"context"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"bethel/pkg/pipeline"
	"bethel/pkg/stage"
)

// BenchmarkSite100k times the site stage on a 100,000-row event built in
// process: "walk" is the whole stage, resolving every input cell's lineage
// to the raw records (pkg/explain over the lineage inputs, encoded from
// the in-memory recorders as the cache would hold them), merging the
// tables, rendering and encoding lineage.js. Setup (generating and
// building the event) is not timed.
//
//	go test ./pkg/stages -run '^$' -bench BenchmarkSite100k -benchtime 5x
func BenchmarkSite100k(b *testing.B) {
	dir := generatedWorkspace(b, 100000, 1)
	ws := buildWorkspace(b, dir)
	var n *pipeline.Node
	for _, x := range ws.p.Order {
		if x.Stage == "site" {
			n = x
		}
	}
	if n == nil {
		b.Fatal("no site node")
	}
	newRun := func() (*stage.Run, *int) {
		size := 0
		r := engineDecl(&stage.Run{Node: n.Name, Inputs: n.InputFiles, Outputs: n.Outputs, Visibility: n.Visibility,
			FS: overlay{mem: ws.outputs, disk: os.DirFS(dir)},
			Create: func(string) (io.Writer, error) {
				return writeCounter{&size}, nil
			}})
		engineInputs(ws, n, r)
		return r, &size
	}
	b.Run("walk", func(b *testing.B) {
		var size *int
		cpu := cpuTime()
		for b.Loop() {
			var r *stage.Run
			r, size = newRun()
			if err := (siteStage{}).Run(context.Background(), r); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
		b.ReportMetric(float64(*size), "site-bytes")
	})
}

// cpuTime is the process's user and system time so far: on a machine
// shared with other work, CPU time per operation varies much less than
// wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(cpuTime()-since)/float64(b.N)/1e6, "cpu-ms/op")
}

type writeCounter struct{ n *int }

func (w writeCounter) Write(p []byte) (int, error) {
	*w.n += len(p)
	return len(p), nil
}
