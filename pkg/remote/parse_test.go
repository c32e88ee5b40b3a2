package remote

import (
	"strings"
	"testing"

	"bethel/pkg/cache"
)

func TestNetrc(t *testing.T) {
	const file = `# team cache
machine cache.example.org
  login builder
  password s3cret#1
machine other.example.org login x password y

macdef init
cd /tmp
machine not.a.machine login no password no

default login anon password guest
`
	for _, tc := range []struct {
		host, login, password string
		ok                    bool
	}{
		{"cache.example.org", "builder", "s3cret#1", true},
		{"other.example.org", "x", "y", true},
		{"not.a.machine", "anon", "guest", true},
		{"unknown.example.org", "anon", "guest", true},
	} {
		l, p, ok := netrcLogin(file, tc.host)
		if l != tc.login || p != tc.password || ok != tc.ok {
			t.Errorf("%s: got %q %q %v, want %q %q %v", tc.host, l, p, ok, tc.login, tc.password, tc.ok)
		}
	}
	if _, _, ok := netrcLogin("machine a login b password c\n", "z"); ok {
		t.Error("a host without an entry or a default has a login")
	}
}

func TestDecodeEntry(t *testing.T) {
	const blob = "3f1a000000000000000000000000000000000000000000000000000000000000"
	const sha = "9d6c4dfa08df9149b4bc01cdc440f563d5d208179d4a190aacdb7d8f9152f382"
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"good", `{"bethel_remote":1,"manifest":{"outputs":[{"path":"out/a","size":1,"hash":"` + blob + `","mode":384}]},"cas":{"` + blob + `":"` + sha + `"},"sealed":false}`, true},
		{"no manifest", `{"bethel_remote":1,"cas":{}}`, false},
		{"other version", `{"bethel_remote":2,"manifest":{"outputs":[]},"cas":{}}`, false},
		{"blob without name", `{"bethel_remote":1,"manifest":{"outputs":[{"path":"out/a","size":1,"hash":"` + blob + `","mode":384}]},"cas":{}}`, false},
		{"upper-case name", `{"bethel_remote":1,"manifest":{"outputs":[{"path":"out/a","size":1,"hash":"` + blob + `","mode":384}]},"cas":{"` + blob + `":"9D6C4DFA08DF9149B4BC01CDC440F563D5D208179D4A190AACDB7D8F9152F382"}}`, false},
		{"not JSON", `<html>502 Bad Gateway</html>`, false},
	} {
		_, err := decodeEntry([]byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// FuzzDecodeEntry: whatever a server answers, decoding it returns an
// entry whose every blob has a well-formed name, or an error; never a
// panic.
func FuzzDecodeEntry(f *testing.F) {
	f.Add([]byte(`{"bethel_remote":1,"manifest":{"outputs":[]},"cas":{}}`))
	f.Add([]byte(`{"bethel_remote":1,"manifest":{"outputs":[{"path":"out/a","size":1,"hash":"3f1a000000000000000000000000000000000000000000000000000000000000","mode":384}]},"cas":{"3f1a000000000000000000000000000000000000000000000000000000000000":"9d6c4dfa08df9149b4bc01cdc440f563d5d208179d4a190aacdb7d8f9152f382"}}`))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 abc\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		for _, h := range e.Manifest.Blobs() {
			if _, err := parseSHA(e.CAS[h]); err != nil {
				t.Fatalf("accepted entry with bad name for %s", h.Short())
			}
		}
	})
}

// FuzzNetrc: any file parses, and a machine's entry is found again.
func FuzzNetrc(f *testing.F) {
	f.Add("machine h login u password p\n")
	f.Add("default login a password b\nmacdef x\nline\n\nmachine h\n")
	f.Add("# comment\nmachine h account a login u password")
	f.Fuzz(func(t *testing.T, text string) {
		for _, e := range parseNetrc(text) {
			if e.machine == "" {
				continue
			}
			if _, _, ok := netrcLogin(text, e.machine); !ok {
				t.Fatalf("machine %q listed but not found", e.machine)
			}
		}
	})
}

// TestTempPattern: the store's sweeps recognise the temporary files the
// shared cache leaves among its blobs.
func TestTempPattern(t *testing.T) {
	if !cache.IsTemp(strings.Replace(tempPattern, "*", "123456", 1)) {
		t.Fatalf("%q is not a name cache.IsTemp knows", tempPattern)
	}
}
