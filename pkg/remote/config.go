package remote

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"github.com/BurntSushi/toml"

	"bethel/pkg/cache"
	"bethel/pkg/pipeline"
	"bethel/pkg/pos"
	"bethel/pkg/stage"
	"bethel/pkg/tomlguard"
)

// WorkspaceFile is the workspace's shared cache settings, relative to its
// root. It is not part of pipeline.toml's DAG and no node reads it, so
// changing the server or the recipients makes nothing stale:
//
//	[remote_cache]
//	url        = "https://cache.example.org/bethel"   # optional: BETHEL_REMOTE_CACHE or --remote-cache win
//	upload     = true                                  # optional (default true)
//	ca_file    = "cache-ca.pem"                        # optional, relative to the workspace root
//	recipients = ["age1...", "age1..."]                # the team's X25519 public keys
//
// Credentials never go here: they come from the environment or ~/.netrc.
const WorkspaceFile = "config/remote-cache.toml"

// File is the decoded WorkspaceFile.
type File struct {
	URL        string
	Upload     *bool
	CAFile     string // absolute once loaded
	Recipients []age.Recipient
}

// LoadFile reads the WorkspaceFile under root; a missing file is (nil, nil).
// Errors name file:line.
func LoadFile(root string) (*File, error) {
	path := filepath.Join(root, filepath.FromSlash(WorkspaceFile))
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		RemoteCache struct {
			URL        string   `toml:"url"`
			Upload     *bool    `toml:"upload"`
			CAFile     string   `toml:"ca_file"`
			Recipients []string `toml:"recipients"`
		} `toml:"remote_cache"`
	}
	at := func(key string) pos.Pos { return pos.Pos{File: WorkspaceFile, Line: keyLine(data, key)} }
	if err := tomlguard.Check(WorkspaceFile, data); err != nil {
		return nil, err
	}
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, pos.Errorf(pos.Pos{File: WorkspaceFile, Line: pe.Position.Line, Col: pe.Position.Col}, "%s", pe.Message)
		}
		return nil, fmt.Errorf("%s: %w", WorkspaceFile, err)
	}
	for _, k := range md.Undecoded() {
		return nil, pos.Errorf(at(k[len(k)-1]), "unknown key %q (see docs/shared-cache.md)", k.String())
	}
	for _, k := range md.Keys() {
		if last := k[len(k)-1]; last != strings.ToLower(last) {
			return nil, pos.Errorf(at(last), "key %q must be lower case", k.String())
		}
	}
	rc := doc.RemoteCache
	f := &File{URL: rc.URL, Upload: rc.Upload}
	if rc.URL != "" {
		u, err := url.Parse(rc.URL)
		if err != nil {
			return nil, pos.Errorf(at("url"), "url: %v", err)
		}
		if u.User != nil {
			return nil, pos.Errorf(at("url"), "url holds credentials: a workspace file is shared with the team; give them in ~/.netrc or BETHEL_REMOTE_CACHE_TOKEN instead")
		}
	}
	if rc.CAFile != "" {
		f.CAFile = rc.CAFile
		if !filepath.IsAbs(f.CAFile) {
			f.CAFile = filepath.Join(root, filepath.FromSlash(rc.CAFile))
		}
	}
	for i, r := range rc.Recipients {
		rec, err := age.ParseX25519Recipient(strings.TrimSpace(r))
		if err != nil {
			return nil, pos.Errorf(at("recipients"), "recipients[%d]: not an age X25519 recipient (age1...): %v", i, err)
		}
		f.Recipients = append(f.Recipients, rec)
	}
	return f, nil
}

// keyLine is the 1-based line where key is first assigned (0 if not found).
func keyLine(data []byte, key string) int {
	for i, line := range bytes.Split(data, []byte("\n")) {
		l := bytes.TrimSpace(line)
		if rest, ok := bytes.CutPrefix(l, []byte(key)); ok {
			rest = bytes.TrimSpace(rest)
			if len(rest) > 0 && rest[0] == '=' {
				return i + 1
			}
		}
		if bytes.Equal(l, []byte("["+key+"]")) {
			return i + 1
		}
	}
	return 0
}

// IdentityEnv names the identity file when set; otherwise DefaultIdentityFile.
const IdentityEnv = "BETHEL_IDENTITY"

// DefaultIdentityFile is where `bethel cache keygen` writes the member's
// identity: bethel/identity.txt in the user's configuration directory
// (outside every workspace).
func DefaultIdentityFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "bethel", "identity.txt")
}

// IdentityFile is the identity file in use and whether it was named
// explicitly (BETHEL_IDENTITY).
func IdentityFile() (string, bool) {
	if p := os.Getenv(IdentityEnv); p != "" {
		return p, true
	}
	return DefaultIdentityFile(), false
}

// LoadIdentities reads an age identity file (one AGE-SECRET-KEY-1... per
// line, # comments). A missing file that was not named explicitly means no
// identity.
func LoadIdentities(path string, explicit bool) ([]age.Identity, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("identity file: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(bufio.NewReader(f))
	if err != nil {
		// age's message quotes no key material, but say only where.
		return nil, fmt.Errorf("identity file %s: not an age identity file", path)
	}
	return ids, nil
}

// Keygen writes a new X25519 identity to path (mode 0600, refusing to
// overwrite one) and returns its recipient, the line teammates add to the
// workspace's recipients.
func Keygen(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return "", fmt.Errorf("%s exists: bethel does not overwrite an identity (its private entries would no longer open)", path)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	rec := id.Recipient().String()
	text := "# bethel shared cache identity; keep it secret.\n# public key: " + rec + "\n" + id.String() + "\n"
	if err := cache.WriteFile(path, []byte(text), 0o600); err != nil {
		return "", err
	}
	return rec, nil
}

// Credentials for the server, never from the workspace: a bearer token from
// BETHEL_REMOTE_CACHE_TOKEN, else user and password from the URL (given in
// the environment or on the command line), else from the netrc file
// ($NETRC, or ~/.netrc) entry for the URL's host.
func Credentials(rawURL string) (token, user, password string) {
	if t := os.Getenv("BETHEL_REMOTE_CACHE_TOKEN"); t != "" {
		return t, "", ""
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", ""
	}
	if u.User != nil {
		p, _ := u.User.Password()
		return "", u.User.Username(), p
	}
	path := os.Getenv("NETRC")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", "", ""
		}
		path = filepath.Join(home, ".netrc")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", ""
	}
	if l, p, ok := netrcLogin(string(b), u.Hostname()); ok {
		return "", l, p
	}
	return "", "", ""
}

// PrivateNodes returns which nodes' products only leave the machine
// encrypted: the nodes whose visibility is private. The engine computes
// each node's level from what it reads (the workspace's privacy
// declaration, declassifying stages, a command's declassify reason) when a
// build starts, in place on the pipeline's nodes, so the answer is taken
// when asked, during the build. An unknown node is private.
func PrivateNodes(p *pipeline.Pipeline) func(node string) bool {
	byName := make(map[string]*pipeline.Node, len(p.Nodes))
	for _, n := range p.Nodes {
		byName[n.Name] = n
	}
	return func(node string) bool {
		n := byName[node]
		return n == nil || n.Visibility == stage.Private
	}
}
