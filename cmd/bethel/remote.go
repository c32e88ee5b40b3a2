package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"bethel/pkg/cache"
	"bethel/pkg/graph"
	"bethel/pkg/pipeline"
	"bethel/pkg/remote"
)

// remoteFlags are the shared cache flags of make and watch.
type remoteFlags struct {
	url    string
	upload boolFlag
	wait   time.Duration
}

// boolFlag is a bool flag that remembers whether it was given, so that the
// command line wins over the workspace file only when it says something.
type boolFlag struct {
	set, v bool
}

func (b *boolFlag) String() string { return strconv.FormatBool(b.v) }
func (b *boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.v = true, v
	return nil
}
func (b *boolFlag) IsBoolFlag() bool { return true }

func addRemoteFlags(fs *flag.FlagSet) *remoteFlags {
	r := &remoteFlags{upload: boolFlag{v: true}}
	fs.StringVar(&r.url, "remote-cache", "", "share the cache through the HTTP cache server at `URL` (default: $BETHEL_REMOTE_CACHE, else "+remote.WorkspaceFile+")")
	fs.Var(&r.upload, "remote-cache-upload", "upload what this build runs to the shared cache (false: only download)")
	fs.DurationVar(&r.wait, "remote-cache-wait", 30*time.Second, "how long a build waits at its end for uploads to the shared cache")
	return r
}

// sharedCache is the shared cache as one command uses it: the settings
// resolved once, a client per build.
type sharedCache struct {
	opts remote.Options
	wait time.Duration
	root string
}

// remoteEnv names the shared cache's URL when no flag does.
const remoteEnv = "BETHEL_REMOTE_CACHE"

// sharedCacheFor resolves the shared cache settings of a workspace: the
// URL from the flag, the environment or the workspace file (nil when none
// says one); recipients and the CA file from the workspace file;
// credentials from the environment or ~/.netrc; the identity from
// $BETHEL_IDENTITY or the user's configuration directory.
func sharedCacheFor(rf *remoteFlags, p *pipeline.Pipeline, warnw io.Writer) (*sharedCache, error) {
	f, err := remote.LoadFile(p.Root)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	url := ""
	if rf != nil {
		url = rf.url
	}
	if url == "" {
		url = os.Getenv(remoteEnv)
	}
	if url == "" && f != nil {
		url = f.URL
	}
	if url == "" {
		return nil, nil
	}
	o := remote.Options{URL: url, Upload: true, Root: p.Root, Private: remote.PrivateNodes(p)}
	if f != nil {
		o.Recipients, o.CAFile = f.Recipients, f.CAFile
		if f.Upload != nil {
			o.Upload = *f.Upload
		}
	}
	if c := os.Getenv("BETHEL_REMOTE_CACHE_CA"); c != "" {
		o.CAFile = c
	}
	if rf != nil && rf.upload.set {
		o.Upload = rf.upload.v
	}
	o.Token, o.User, o.Password = remote.Credentials(url)
	idFile, explicit := remote.IdentityFile()
	if o.Identities, err = remote.LoadIdentities(idFile, explicit); err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	var mu sync.Mutex
	o.Warn = func(s string) {
		mu.Lock()
		fmt.Fprintf(warnw, "bethel: warning: %s\n", s)
		mu.Unlock()
	}
	// A bad URL or CA file is a usage error now, not at the first node.
	if _, err := remote.New(o); err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	sc := &sharedCache{opts: o, root: p.Root, wait: 30 * time.Second}
	if rf != nil {
		sc.wait = rf.wait
	}
	return sc, nil
}

// client returns a new client for one build (a watch session's builds
// each get one, so a server that was down is tried again).
func (sc *sharedCache) client() *remote.Client {
	c, _ := remote.New(sc.opts)
	return c
}

// finish waits for the build's uploads, says what became of them and
// records it for `bethel status`.
func (sc *sharedCache) finish(c *remote.Client, w io.Writer) {
	s := c.Wait(sc.wait)
	if s.Uploaded+s.GivenUp+s.KeptLocal > 0 {
		msg := fmt.Sprintf("bethel: shared cache: %d uploaded", s.Uploaded)
		if s.GivenUp > 0 {
			msg += fmt.Sprintf(", %d given up", s.GivenUp)
		}
		if s.KeptLocal > 0 {
			msg += fmt.Sprintf(", %d private kept local (no recipients in %s)", s.KeptLocal, remote.WorkspaceFile)
		}
		fmt.Fprintln(w, msg)
	}
	if s.Uploaded+s.Present+s.GivenUp+s.KeptLocal > 0 || c.Down() {
		saveRemoteStatus(sc.root, remoteStatus{
			URL: c.String(), At: time.Now().UTC().Format(time.RFC3339), Uploaded: s.Uploaded,
			Present: s.Present, GivenUp: s.GivenUp, KeptLocal: s.KeptLocal, Unreachable: c.Down(),
		})
	}
}

// remoteStatus is the last build's upload result, in
// .bethel/state/remote.json, for `bethel status`.
type remoteStatus struct {
	URL         string `json:"url"`
	At          string `json:"at"`
	Uploaded    int    `json:"uploaded"`
	Present     int    `json:"present"`
	GivenUp     int    `json:"given_up"`
	KeptLocal   int    `json:"kept_local"`
	Unreachable bool   `json:"unreachable"`
}

func remoteStatusPath(root string) string {
	return filepath.Join(root, graph.StateDir, "state", "remote.json")
}

func saveRemoteStatus(root string, s remoteStatus) {
	b, _ := json.Marshal(s)
	os.MkdirAll(filepath.Dir(remoteStatusPath(root)), 0o700)
	cache.WriteFile(remoteStatusPath(root), append(b, '\n'), 0o600)
}

// printRemoteStatus says whether the shared cache answers and what the last
// build uploaded (status reads only: the check is one HEAD request).
func printRemoteStatus(ctx context.Context, w io.Writer, p *pipeline.Pipeline) error {
	sc, err := sharedCacheFor(nil, p, io.Discard)
	if err != nil || sc == nil {
		return err
	}
	c := sc.client()
	reach := "reachable"
	if err := c.Ping(ctx); err != nil {
		reach = "unreachable (" + err.Error() + ")"
	}
	fmt.Fprintf(w, "shared cache %s: %s\n", c, reach)
	var s remoteStatus
	if b, err := os.ReadFile(remoteStatusPath(p.Root)); err == nil && json.Unmarshal(b, &s) == nil {
		fmt.Fprintf(w, "    last upload %s: %d uploaded, %d already there, %d given up", s.At, s.Uploaded, s.Present, s.GivenUp)
		if s.KeptLocal > 0 {
			fmt.Fprintf(w, ", %d private kept local", s.KeptLocal)
		}
		if s.Unreachable {
			fmt.Fprint(w, "; the server was unreachable")
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "    no upload recorded yet")
	}
	return nil
}
