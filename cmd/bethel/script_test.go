package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/rogpeppe/go-internal/testscript"

	"bethel/pkg/sandbox"
)

// TestScript runs the CLI behaviours in testdata/script, one behaviour per
// .txtar file, with the real binary TestMain built on PATH as `bethel`.
// Besides testscript's own commands a script may say `sample`, which copies
// the repository's synthetic sample event (pipeline.toml, inputs/, config/,
// patches/) into the current directory, and `editline FILE PREFIX OLD NEW`,
// which replaces OLD by NEW in the one line of FILE that starts with PREFIX
// (a new export that changes one record), and `resave FILE FORMAT`, which
// writes a CSV file again as another spreadsheet would (see resave). The condition [landlock] holds
// where the kernel confines command nodes (pkg/sandbox).
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
		Condition: func(cond string) (bool, error) {
			if cond == "landlock" {
				return sandbox.Available() == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sample": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 0 {
					ts.Fatalf("usage: sample")
				}
				ts.Check(copySample(repo, ts.MkAbs(".")))
			},
			"editline": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 4 {
					ts.Fatalf("usage: editline FILE PREFIX OLD NEW")
				}
				file := ts.MkAbs(args[0])
				data, err := os.ReadFile(file)
				ts.Check(err)
				lines := strings.SplitAfter(string(data), "\n")
				n := 0
				for i, l := range lines {
					if strings.HasPrefix(l, args[1]) && strings.Contains(l, args[2]) {
						lines[i] = strings.Replace(l, args[2], args[3], 1)
						n++
					}
				}
				if n != 1 {
					ts.Fatalf("editline: %d lines start with %q and hold %q, want 1", n, args[1], args[2])
				}
				ts.Check(os.WriteFile(file, []byte(strings.Join(lines, "")), 0o644))
			},
			"resave": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: resave FILE semicolon|excel-sep|unicode-text|trailing-separator")
				}
				file := ts.MkAbs(args[0])
				data, err := os.ReadFile(file)
				ts.Check(err)
				out, err := resave(data, args[1])
				ts.Check(err)
				ts.Check(os.WriteFile(file, out, 0o644))
			},
		},
	})
}

// resave writes a CSV file again as another spreadsheet or platform
// would: semicolon-separated (where the decimal mark is a comma), the same
// with Excel's "sep=;" first line, Excel's "Unicode Text" (UTF-16LE with a
// byte order mark, tab-separated, CRLF), or with a separator at the end of
// every line (an unnamed empty last column).
func resave(data []byte, format string) ([]byte, error) {
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF"))))
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	switch format {
	case "semicolon":
		w.Comma = ';'
	case "excel-sep":
		w.Comma = ';'
		b.WriteString("sep=;\r\n")
	case "unicode-text":
		w.Comma, w.UseCRLF = '\t', true
	case "trailing-separator":
		for i := range rows {
			rows[i] = append(rows[i], "")
		}
	default:
		return nil, fmt.Errorf("resave: unknown format %q", format)
	}
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	if format != "unicode-text" {
		return b.Bytes(), nil
	}
	u := []byte{0xFF, 0xFE}
	for _, c := range utf16.Encode([]rune(b.String())) {
		u = append(u, byte(c), byte(c>>8))
	}
	return u, nil
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
