package tomlguard

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestCheck(t *testing.T) {
	deep := func(open, close string, n int) string {
		return "a = " + strings.Repeat(open, n) + "1" + strings.Repeat(close, n) + "\n"
	}
	for _, c := range []struct {
		name, src, want string // want: "" for no error, else the error's text
	}{
		{"plain", "a = 1\n[t]\nb = { c = [1, 2, { d = 3 }] }\n[[n]]\nx = 'y'\n", ""},
		{"inline at the limit", deep("{b=", "}", MaxDepth), ""},
		{"inline too deep", deep("{b=", "}", MaxDepth+1), "f.toml:1:29: arrays and inline tables nest more than 8 deep"},
		{"array too deep", "\n\nx = 1\na = " + strings.Repeat("[", 40), "f.toml:4:13: arrays and inline tables nest more than 8 deep"},
		{"brackets in strings", "a = \"" + strings.Repeat("{[", 100) + "\"\nb = '" + strings.Repeat("[", 100) + "'\n", ""},
		{"brackets in comments", "# " + strings.Repeat("{", 100) + "\na = 1\n", ""},
		{"multi-line strings", "a = \"\"\"\n" + strings.Repeat("{", 100) + "\n\\\"\"\"\n\"\"\"\"\nb = '''\n" + strings.Repeat("[", 100) + "'''''\nc = [[[[1]]]]\n", ""},
		{"escaped quote", `a = "x\"{{{{" ` + "\n", ""},
		{"line count through strings", "a = \"\"\"\n\n\n\"\"\"\n" + strings.Repeat("[", 9), "f.toml:5:9: arrays and inline tables nest more than 8 deep"},
		{"dotted key at the limit", "a" + strings.Repeat(".b", MaxDots) + " = 1\n", ""},
		{"dotted key too long", "a" + strings.Repeat(".b", MaxDots+1) + " = 1\n", "f.toml:1:18: a dotted key has more than 9 parts"},
		{"dotted header too long", "[a" + strings.Repeat(".b", MaxDots+1) + "]\n", "f.toml:1:19: a dotted key has more than 9 parts"},
		{"floats", "a = [" + strings.Repeat("1.5, ", 100) + "]\n", ""},
		{"unterminated string", "a = \"" + strings.Repeat("{", 100), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Check("f.toml", []byte(c.src))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Fatalf("Check = %q, want %q", got, c.want)
			}
		})
	}
}

func TestCheckSize(t *testing.T) {
	err := Check("patches/big.toml", make([]byte, MaxSize+1))
	if err == nil || !strings.HasPrefix(err.Error(), "patches/big.toml: file is 8388609 bytes, more than the 8388608") {
		t.Fatalf("Check of an oversized file: %v", err)
	}
}

// TestWorkspaceFilesPass: every TOML file of the sample event and of the
// tests passes the guard, but the error cases written to fail it.
func TestWorkspaceFilesPass(t *testing.T) {
	root := filepath.Join("..", "..")
	n := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == ".git" || d.Name() == "out" || d.Name() == ".bethel" || d.Name() == "fuzz") {
			return fs.SkipDir
		}
		if !strings.HasSuffix(p, ".toml") || strings.Contains(filepath.ToSlash(p), "testdata/errors/") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(p, b); err != nil {
			t.Errorf("%v", err)
		}
		n++
		return nil
	})
	if n < 5 {
		t.Fatalf("found only %d TOML files", n)
	}
}

// TestNestBudget: many nests at the depth limit are refused as a whole;
// a large file of ordinary patches is not.
func TestNestBudget(t *testing.T) {
	var deep, patches strings.Builder
	for i := 0; deep.Len() < 1<<20; i++ {
		fmt.Fprintf(&deep, "[[p]]\nk = %s1%s\n", strings.Repeat("{b=", MaxDepth-2), strings.Repeat("}", MaxDepth-2))
	}
	err := Check("f.toml", []byte(deep.String()))
	if err == nil || !strings.Contains(err.Error(), "too many nested arrays and inline tables for a file of") {
		t.Fatalf("Check of 1 MB of deep nests: %v", err)
	}
	for i := 0; patches.Len() < MaxSize-1024; i++ {
		fmt.Fprintf(&patches, "[[patch]]\nid = \"p%d\"\ntarget = \"registrations\"\nmatch = { registration_id = \"R-%d\" }\nset = { days_attending = [\"Friday\", \"Saturday\"] }\nreason = \"x\"\n", i, i)
	}
	if err := Check("f.toml", []byte(patches.String())); err != nil {
		t.Fatalf("Check of %d bytes of patches: %v", patches.Len(), err)
	}
}

// TestGuardBoundsDecoding decodes the worst file the guard lets through:
// nests at the depth limit, as many as the budget allows. It must finish
// (the test binary's timeout catches a decoder that runs for minutes, as
// it did on nesting the guard refuses).
func TestGuardBoundsDecoding(t *testing.T) {
	var b strings.Builder
	work := 0
	for i := 0; ; i++ {
		line := fmt.Sprintf("k%d%s = %s1%s\n", i, strings.Repeat(".b", MaxDots), strings.Repeat("{b=", MaxDepth), strings.Repeat("}", MaxDepth))
		cost := MaxDepth * (MaxDepth + 1) / 2
		if work+cost > nestBudget(b.Len()+len(line)) {
			break
		}
		work += cost
		b.WriteString(line)
	}
	src := b.String()
	if err := Check("f.toml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if _, err := toml.Decode(src, &m); err != nil {
		t.Fatal(err)
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"a = 1\n", "a = {b = [1, {c = 'x'}]}\n", "a = \"\"\"\n{\n\"\"\"\n", "[a.b.c]\nx = 1.5\n", "# {\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check("f.toml", data)
		if err != nil && !strings.HasPrefix(err.Error(), "f.toml") {
			t.Fatalf("error without the file's name: %v", err)
		}
	})
}
