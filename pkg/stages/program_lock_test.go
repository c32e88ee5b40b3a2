package stages

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestLoadLockRefusesDamagedFiles: a lock file must say whether the
// program is locked and list its sessions; anything else is an error that
// names the file and line, never "unlocked".
func TestLoadLockRefusesDamagedFiles(t *testing.T) {
	const file = "config/program.lock.json"
	for _, c := range []struct {
		name, src, want string // want: "" for a valid file
	}{
		{"unlocked", string(UnlockedProgram()), ""},
		{"locked", `{"locked": true, "event": "gb", "sessions": [{"id": "S-1", "title": "t", "kind": "k", "day": "Friday", "start": "s", "end": "e", "room": "r", "bethels": "all"}]}`, ""},
		{"empty object", "{}", file + `:1: not a program lock file: no "locked" key`},
		{"null", "null", file + ":1: not a program lock file: want a JSON object"},
		{"null after blank lines", "\n\nnull\n", file + ":3: not a program lock file: want a JSON object"},
		{"array", "[]", file + ":1: not a program lock file: want a JSON object"},
		{"empty", "", file + ":1: not a program lock file: want a JSON object"},
		{"no sessions", `{"locked": false}`, file + `:1: not a program lock file: no "sessions" list`},
		{"null sessions", `{"locked": true, "sessions": null}`, file + `:1: not a program lock file: no "sessions" list`},
		{"null locked", `{"locked": null, "sessions": []}`, file + `:1: not a program lock file: no "locked" key`},
		{"two values", `{"locked": false, "sessions": []} {}`, file + ":1: not a program lock file: more than one JSON value"},
		{"unknown key", `{"locked": false, "sessions": [], "lockd": true}`, file + `:1: not a program lock file: json: unknown field "lockd"`},
		{"syntax error line", "{\n  \"locked\": false,\n  \"sessions\": [,]\n}", file + ":3: not a program lock file: invalid character ','"},
		{"wrong type", "{\n\"locked\": \"yes\", \"sessions\": []}", file + ":2: not a program lock file: json: cannot unmarshal string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := LoadLock(fstest.MapFS{file: {Data: []byte(c.src)}}, file)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("LoadLock: %v", err)
			case c.want == "" && l == nil:
				t.Fatal("LoadLock returned no lock")
			case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
				t.Fatalf("LoadLock = %+v, %v; want an error starting %q", l, err, c.want)
			}
		})
	}
}
