package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestScript runs the CLI behaviours in testdata/script, one behaviour per
// .txtar file, with the real binary TestMain built on PATH as `bethel`.
// Besides testscript's own commands a script may say `sample`, which copies
// the repository's synthetic sample event (pipeline.toml, inputs/, config/,
// patches/) into the current directory.
func TestScript(t *testing.T) {
	binDir := filepath.Dir(bethelBin)
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(e *testscript.Env) error {
			e.Setenv("PATH", binDir+string(os.PathListSeparator)+e.Getenv("PATH"))
			e.Setenv("BETHEL_DEBUG", "")
			e.Setenv("REPO", repo)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sample": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 0 {
					ts.Fatalf("usage: sample")
				}
				ts.Check(copySample(repo, ts.MkAbs(".")))
			},
		},
	})
}

// copySample copies the sample event's sources from repo into dir.
func copySample(repo, dir string) error {
	for _, name := range []string{"pipeline.toml", "inputs", "config", "patches"} {
		src := filepath.Join(repo, name)
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(repo, p)
			if err != nil {
				return err
			}
			target := filepath.Join(dir, rel)
			if d.IsDir() {
				return os.MkdirAll(target, 0o755)
			}
			if strings.HasPrefix(d.Name(), ".") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
