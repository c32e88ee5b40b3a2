package pipeline

import (
	"reflect"
	"strings"
	"testing"

	"bethel/pkg/stage"
)

func names(ns []*Node) []string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.Name
	}
	return s
}

// TestLoadSample loads the reduced Grand Bethel sample and checks every
// field the engine relies on.
func TestLoadSample(t *testing.T) {
	p, err := Load("testdata/ws", "pipeline.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p.Root, "testdata/ws") || p.Root[0] != '/' {
		t.Errorf("Root = %q, want an absolute path", p.Root)
	}
	if p.File != "pipeline.toml" {
		t.Errorf("File = %q", p.File)
	}
	if got, want := names(p.Nodes), []string{"registrations", "badges", "attendance", "program", "report"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Nodes = %v, want %v", got, want)
	}
	if got, want := names(p.Order), []string{"registrations", "badges", "attendance", "program", "report"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Order = %v, want %v", got, want)
	}
	byName := map[string]*Node{}
	for _, n := range p.Nodes {
		byName[n.Name] = n
	}
	reg, badges, att, rep := byName["registrations"], byName["badges"], byName["attendance"], byName["report"]
	if want := []string{"patches/registrations/001-dup.toml", "patches/registrations/002-bethel.toml"}; !reflect.DeepEqual(reg.PatchFiles, want) {
		t.Errorf("registrations PatchFiles = %v, want %v (dot files skipped, sorted)", reg.PatchFiles, want)
	}
	if reg.Pos.String() != "pipeline.toml:3:1" {
		t.Errorf("registrations Pos = %v", reg.Pos)
	}
	if badges.Visibility != stage.Private {
		t.Errorf("badges reads a private output and declares nothing: Visibility = %q, want private", badges.Visibility)
	}
	if att.Visibility != stage.Internal {
		t.Errorf("attendance Visibility = %q, want the default internal", att.Visibility)
	}
	if att.Description != "Counts per bethel" {
		t.Errorf("attendance Description = %q", att.Description)
	}
	if want := map[string]any{"threshold": int64(5), "days": []any{"Friday", "Saturday"}}; !reflect.DeepEqual(att.Params, want) {
		t.Errorf("attendance Params = %#v, want %#v", att.Params, want)
	}
	if got := names(rep.Deps); !reflect.DeepEqual(got, []string{"attendance", "program"}) {
		t.Errorf("report Deps = %v", got)
	}
	if p.Producer["out/private/registrations.csv"] != reg {
		t.Errorf("Producer of registrations.csv is not the registrations node")
	}
	wantSrc := []string{"config/bethels.csv", "config/columns.toml", "config/schedule.toml", "inputs/program.csv", "inputs/registrations.csv",
		"patches/registrations/001-dup.toml", "patches/registrations/002-bethel.toml", "scripts/badges.py", "scripts/report.sh"}
	if !reflect.DeepEqual(p.Sources, wantSrc) {
		t.Errorf("Sources = %v\nwant %v", p.Sources, wantSrc)
	}
	if want := []string{"patches/program/*.toml", "patches/registrations/*.toml", "scripts/*.sh"}; !reflect.DeepEqual(p.Globs, want) {
		t.Errorf("Globs = %v, want %v", p.Globs, want)
	}
}
