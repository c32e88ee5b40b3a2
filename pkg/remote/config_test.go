package remote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeWorkspaceFile(t testing.TB, text string) string {
	root := t.TempDir()
	p := filepath.Join(root, filepath.FromSlash(WorkspaceFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestLoadFile(t *testing.T) {
	const rec = "age1lvyvwawkr0mcnnnncaghunadrqkmuf9e6507x9y920xxpp866cnql7dp2z"
	for _, tc := range []struct {
		name, text, err string
	}{
		{"full", "[remote_cache]\nurl = \"https://cache.example.org/b\"\nupload = false\nca_file = \"ca.pem\"\nrecipients = [\"" + rec + "\"]\n", ""},
		{"empty", "", ""},
		{"credentials", "[remote_cache]\nurl = \"https://u:p@cache.example.org/\"\n", "config/remote-cache.toml:2: url holds credentials"},
		{"unknown key", "[remote_cache]\n\ntoken = \"x\"\n", "config/remote-cache.toml:3: unknown key \"remote_cache.token\""},
		{"upper case", "[remote_cache]\nURL = \"https://cache.example.org/\"\n", "config/remote-cache.toml:2: key \"remote_cache.URL\" must be lower case"},
		{"bad recipient", "[remote_cache]\nrecipients = [\"age1nope\"]\n", "config/remote-cache.toml:2: recipients[0]: not an age X25519 recipient"},
		{"syntax", "[remote_cache\n", "config/remote-cache.toml:"},
		{"wrong type", "[remote_cache]\nupload = \"yes\"\n", "config/remote-cache.toml"},
	} {
		f, err := LoadFile(writeWorkspaceFile(t, tc.text))
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if tc.name == "full" && (f.URL == "" || f.Upload == nil || *f.Upload || len(f.Recipients) != 1 || !filepath.IsAbs(f.CAFile)) {
				t.Errorf("%s: %+v", tc.name, f)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
	if f, err := LoadFile(t.TempDir()); f != nil || err != nil {
		t.Errorf("a workspace without the file: %v %v", f, err)
	}
}

// FuzzLoadFile: any file loads or fails with an error naming the file,
// and an error never quotes a credential from the URL.
func FuzzLoadFile(f *testing.F) {
	f.Add("[remote_cache]\nurl = \"https://cache.example.org/b\"\nupload = true\n")
	f.Add("[remote_cache]\nurl = \"https://u:s3cret@h/\"\n")
	f.Add("[remote_cache]\nrecipients = [\"age1\", 3]\n")
	f.Add("x = 1\n[[remote_cache]]\n")
	f.Fuzz(func(t *testing.T, text string) {
		root := writeWorkspaceFile(t, text)
		_, err := LoadFile(root)
		if err == nil {
			return
		}
		if !strings.HasPrefix(err.Error(), WorkspaceFile) {
			t.Fatalf("error %q does not name the file", err)
		}
		if strings.Contains(text, "s3cret") && strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error %q quotes the password", err)
		}
	})
}
