package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeFiveMinutes runs the README's five-minute path, command by
// command as written there, with the real binary in a fresh temporary
// folder: the organizer's own files (~/bethels.csv, the downloaded export)
// are the sample event's, and opening the site checks that it exists.
func TestReadmeFiveMinutes(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := fiveMinuteCommands(t, string(readme))
	if len(cmds) < 8 {
		t.Fatalf("the README's five-minute path has %d commands, want the whole path: %q", len(cmds), cmds)
	}
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	home := map[string]string{
		"~/bethels.csv":          filepath.Join(repo, "config", "bethels.csv"),
		"~/Downloads/export.csv": filepath.Join(repo, "inputs", "registrations.csv"),
	}
	dir := t.TempDir()
	var last runResult
	for _, line := range cmds {
		args := shellWords(t, line)
		switch args[0] {
		case "cd":
			dir = filepath.Join(dir, args[1])
		case "cp":
			src, ok := home[args[1]]
			if !ok {
				t.Fatalf("%s: unknown source file", line)
			}
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, args[2]), data, 0o644); err != nil {
				t.Fatal(err)
			}
		case "xdg-open":
			if _, err := os.Stat(filepath.Join(dir, args[1])); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
		case "bethel":
			last = runBethel(t, dir, args[1:]...)
			if last.code != 0 {
				t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", line, last.code, last.stdout, last.stderr)
			}
		default:
			t.Fatalf("%s: the test does not know this command", line)
		}
	}
	// The last command is `bethel why` on the corrected bethel's total:
	// the new patch is among its sources.
	if !strings.Contains(last.stdout, "set-R-10001-bethel") {
		t.Errorf("bethel why does not name the new patch:\n%s", last.stdout)
	}
}

// fiveMinuteCommands returns the command lines of the sh blocks in the
// README's five-minute section, comments dropped.
func fiveMinuteCommands(t *testing.T, readme string) []string {
	_, sec, ok := strings.Cut(readme, "\n## Five minutes")
	if !ok {
		t.Fatal("README has no five-minute section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var cmds []string
	in := false
	for _, l := range strings.Split(sec, "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			in = true
		case strings.HasPrefix(l, "```"):
			in = false
		case in:
			if i := strings.Index(l, " #"); i >= 0 {
				l = l[:i]
			}
			if l = strings.TrimSpace(l); l != "" {
				cmds = append(cmds, l)
			}
		}
	}
	return cmds
}

// shellWords splits a command line as sh would for the README's simple
// commands: words, single and double quotes.
func shellWords(t *testing.T, line string) []string {
	var words []string
	var cur strings.Builder
	var quote rune
	have := false
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, have = r, true
		case r == ' ' || r == '\t':
			if have || cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
		}
	}
	if quote != 0 {
		t.Fatalf("%s: unclosed quote", line)
	}
	if have || cur.Len() > 0 {
		words = append(words, cur.String())
	}
	return words
}
