package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bethel/pkg/cache"
	"bethel/pkg/graph"
	"bethel/pkg/pipeline"
	"bethel/pkg/provenance"
	"bethel/pkg/scrub"
)

// The build report holds what no artifact may: when the last build ran and
// what each node did in it, with every current output's provenance record
// (which carries its own time). It is written after every build (make,
// each watch rebuild) to the pipeline's top-level `report` path, so that
// the review site, whose pages stay deterministic, can show it beside
// them: a `.js` report is a script setting window.bethelBuild, which a page
// opened from file:// can load where it could not fetch JSON.

// buildReport is the report's JSON.
type buildReport struct {
	Built  string       `json:"built"`
	Bethel string       `json:"bethel_version"`
	OK     bool         `json:"ok"`
	Nodes  []reportNode `json:"nodes"`
}

type reportNode struct {
	Node string `json:"node"`
	// Status is this build's verdict: ran, restored, fresh (up to date),
	// failed or skipped.
	Status  string         `json:"status"`
	Error   string         `json:"error,omitempty"`
	Outputs []reportOutput `json:"outputs"`
}

type reportOutput struct {
	Path string `json:"path"`
	Hash string `json:"hash,omitempty"`
	// Record is the output's provenance record; absent when the file is
	// missing or has none (edited by hand, never built).
	Record *provenance.Record `json:"record,omitempty"`
}

var reportStatus = map[graph.Status]string{
	graph.Ran: "ran", graph.Restored: "restored", graph.UpToDate: "fresh",
	graph.Failed: "failed", graph.Skipped: "skipped",
}

// writeReport writes the build report of res, atomically; nothing when the
// pipeline names no report, there is no result (the build never started),
// or every node was up to date and a report is there already.
func writeReport(p *pipeline.Pipeline, res *graph.Result, version string, now time.Time) error {
	if p.Report == "" || res == nil {
		return nil
	}
	root := p.Root
	abs := filepath.Join(root, filepath.FromSlash(p.Report))
	if len(res.UpToDate) == len(res.Nodes) && reportOK(abs) {
		// Nothing ran, was restored or failed: the outputs are exactly
		// what the last report describes, and a no-op stays a few stats.
		// After a failed build it is written anew: the failure is over.
		return nil
	}
	recs := graph.OpenRecords(p)
	rep := buildReport{Built: provenance.Stamp(now), Bethel: version, OK: len(res.Failed) == 0, Nodes: []reportNode{}}
	byName := map[string]*pipeline.Node{}
	for _, n := range p.Nodes {
		byName[n.Name] = n
	}
	// An error may quote what a command printed or a value a stage read:
	// the report is internal, so it goes through the scrubber. The sets
	// are read only when some node failed.
	var set *scrub.Set
	if len(res.Failed) > 0 {
		set, _ = builtScrubSet(p, root) // unreadable: the patterns still apply
	}
	for _, nr := range res.Nodes {
		n := byName[nr.Name]
		if n == nil {
			continue
		}
		rn := reportNode{Node: nr.Name, Status: reportStatus[nr.Status], Outputs: []reportOutput{}}
		if nr.Err != nil {
			rn.Error, _ = set.Scrub(nr.Err.Error())
		}
		for _, o := range n.Outputs {
			ro := reportOutput{Path: o}
			if h, rec, err := recs.Built(o); err == nil {
				ro.Hash, ro.Record = h.String(), rec
			}
			rn.Outputs = append(rn.Outputs, ro)
		}
		rep.Nodes = append(rep.Nodes, rn)
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if strings.HasSuffix(p.Report, ".js") {
		// "</" cannot end a script early here: json.Marshal escapes < as \u003c.
		b.WriteString("window.bethelBuild = ")
		b.Write(body)
		b.WriteString(";\n")
	} else {
		b.Write(body)
		b.WriteByte('\n')
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return err
	}
	f, err := cache.Create(abs, 0o644)
	if err != nil {
		return err
	}
	// No fsync: the report is written anew after every build, and a power
	// cut that loses it loses nothing the next build does not rewrite (the
	// pages then say to ask `bethel status`). The fsync was the build's
	// first and waited for the file system to write out everything the
	// build wrote: 47-55 ms per rebuild at 100,000 rows (strace).
	f.NoSync = true
	defer f.Abort()
	if _, err := f.Write(b.Bytes()); err != nil {
		return err
	}
	return f.Commit()
}

// reportOK reports whether the report at abs exists and says its build
// succeeded. "ok" comes third in the report, within its first bytes.
func reportOK(abs string) bool {
	f, err := os.Open(abs)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	return bytes.Contains(head[:n], []byte(`"ok":true`))
}
