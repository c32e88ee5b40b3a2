// Package remote shares bethel's cache through an HTTP cache server: the
// protocol bazel-remote, Bazel's --remote_cache=http://... and plain WebDAV
// servers (nginx with dav_methods PUT) share.
//
//	GET/HEAD/PUT <base>/cas/<sha256 of the body>        blobs
//	GET/HEAD/PUT <base>/ac/<sha256 of the action key>   action entries (entry.go)
//
// bethel keeps BLAKE3 locally; the server sees SHA-256 names only, so a
// server that verifies CAS bodies accepts the uploads. Everything fetched
// is verified twice (SHA-256 against its CAS name, then BLAKE3 against the
// manifest) before it enters the local store: a body that does not match
// is a miss with a warning, never used.
//
// Private nodes (their outputs, lineage and action entries) leave the
// machine only encrypted with age to the team's X25519 recipients, and
// are fetched only by a member holding one of their identities; with no
// recipients they are never uploaded. A remote that is down, slow or
// answering garbage never fails a build: each request has a timeout and a
// few retries with backoff, after which the client stops talking to it for
// the rest of the build and says so once.
package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"bethel/pkg/cache"
)

// Options configure a Client.
type Options struct {
	// URL is the cache's base URL (http or https, with an optional path
	// prefix). User information in it is used for basic authentication.
	URL string
	// Upload: send what this build ran (false: a read-only member).
	Upload bool
	// CAFile names PEM certificates trusted besides the system's roots.
	CAFile string
	// Token, when set, is sent as a bearer token; otherwise User and
	// Password (from the URL or ~/.netrc) as basic authentication.
	Token, User, Password string
	// Recipients receive private entries; none means private nodes are
	// never uploaded.
	Recipients []age.Recipient
	// Identities decrypt private entries; none means private nodes are
	// never restored from the remote (they run).
	Identities []age.Identity
	// Private reports whether a node's products hold private values.
	Private func(node string) bool
	// Root is the workspace root: an output whose blob is not yet in the
	// local store (it is copied in the background) is read from there,
	// and verified against its hash.
	Root string
	// Warn receives each warning (one line, no private value); it may be
	// called from several goroutines at once.
	Warn func(string)
	// Timeout is how long a request may go without a byte moving
	// (default 5s): a large body on a slow line gets through, a server
	// that stops answering is given up in seconds.
	Timeout time.Duration
	// Retries after the first attempt of a request (default 2).
	Retries int
	// Workers uploading at once (default 4).
	Workers int
}

// Client talks to one cache server for one build (or one watch session).
type Client struct {
	o    Options
	base *url.URL
	http *http.Client

	down     atomic.Bool
	warnDown sync.Once
	// noUpload: the server refused an upload (403).
	noUpload   atomic.Bool
	warnUpload sync.Once

	// The upload queue and its workers, started by the first Upload and
	// ended by Wait. The engine calls Upload from its workers at once;
	// qmu guards the queue's start and end.
	qmu    sync.Mutex
	queue  chan job
	wg     sync.WaitGroup
	cancel context.CancelFunc // stops the workers' requests
	given  atomic.Bool        // Wait's limit passed: the rest is given up

	mu    sync.Mutex
	stats Stats
}

// Stats counts what a client uploaded.
type Stats struct {
	// Uploaded entries (a node's action entry and its blobs), Present
	// entries the server already had, GivenUp entries that failed or were
	// still queued at the end of Wait, KeptLocal private entries not
	// uploaded for lack of recipients.
	Uploaded, Present, GivenUp, KeptLocal int
	// Blobs and Bytes sent.
	Blobs int
	Bytes int64
}

type job struct {
	node string
	key  cache.Hash
	m    *cache.Manifest
	st   *cache.Store
}

// New checks the options and returns a client; nothing is sent yet.
func New(o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(o.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("remote cache URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("remote cache URL %q: want http://HOST[/PREFIX] or https://HOST[/PREFIX]", Redact(o.URL))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("remote cache URL %q: a query or fragment is not allowed", Redact(o.URL))
	}
	if u.User != nil {
		if o.User == "" {
			o.User = u.User.Username()
			o.Password, _ = u.User.Password()
		}
		u.User = nil
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 2
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Private == nil {
		o.Private = func(string) bool { return true }
	}
	if o.Warn == nil {
		o.Warn = func(string) {}
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("remote cache CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("remote cache CA file %s: no PEM certificate in it", o.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: o.Timeout,
		// Only a backstop: the idle watchdog of each request (once) fires
		// first and says the server went silent. At the same length the
		// two raced, and a loaded machine got the transport's message.
		ResponseHeaderTimeout: 2 * o.Timeout,
		MaxIdleConnsPerHost:   o.Workers + 4,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &Client{o: o, base: u, http: &http.Client{Transport: tr}}, nil
}

// Redact returns a URL without its user information, for messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}

// String is the base URL without credentials.
func (c *Client) String() string { return c.base.String() }

// Down reports whether the client gave up on the server in this build.
func (c *Client) Down() bool { return c.down.Load() }

func shaName(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// acName is the name of an action key's entry: the SHA-256 of the key.
func acName(key cache.Hash) string { return shaName(key[:]) }

// errDown is returned once the client has given up on the server.
var errDown = errors.New("the shared cache is unreachable")

// statusError is a final HTTP answer that is not a success.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d", e.code) }

func isNotFound(err error) bool {
	var s *statusError
	return errors.As(err, &s) && s.code == http.StatusNotFound
}

// giveUp marks the server down for the rest of the build, with one warning.
func (c *Client) giveUp(err error) {
	c.down.Store(true)
	c.warnDown.Do(func() {
		c.o.Warn(fmt.Sprintf("shared cache %s: %v; building with the local cache only", c.base, err))
	})
}

// do sends one request with retries: a network error, a timeout, a 5xx or
// 429 is retried after a backoff; when retries run out the server is
// given up. It returns the body of a 2xx answer, or a statusError.
func (c *Client) do(ctx context.Context, method, kind, name string, body []byte) ([]byte, error) {
	return c.stream(ctx, method, kind, name, payload{b: body}, nil)
}

// payload is a request body: bytes, or n bytes of a file (a blob too
// large to hold in memory twice).
type payload struct {
	b []byte
	f *os.File
	n int64
}

func (p payload) reader() (io.Reader, int64) {
	switch {
	case p.f != nil:
		return io.NewSectionReader(p.f, 0, p.n), p.n
	case p.b != nil:
		return bytes.NewReader(p.b), int64(len(p.b))
	}
	return nil, 0
}

// stream is do with the body from a file, or the answer written to dst
// (from its start, again on every retry) instead of returned.
func (c *Client) stream(ctx context.Context, method, kind, name string, body payload, dst *os.File) ([]byte, error) {
	if c.down.Load() {
		return nil, errDown
	}
	u := *c.base
	u.Path = c.base.Path + "/" + kind + "/" + name
	var last error
	for attempt := 0; attempt <= c.o.Retries; attempt++ {
		if attempt > 0 {
			// 100 ms, 400 ms, ... with jitter, so that workers that failed
			// together do not retry together.
			d := time.Duration(100<<(2*(attempt-1))) * time.Millisecond
			d += time.Duration(rand.Int64N(int64(d) / 2))
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		b, err, retry := c.once(ctx, method, u.String(), body, dst)
		if err == nil {
			return b, nil
		}
		var idle *idleError
		if errors.As(err, &idle) {
			// A server that stopped answering will not answer the retry
			// sooner: waiting again would stall the build.
			c.giveUp(err)
			return nil, errDown
		}
		if !retry {
			c.refused(method, err)
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		last = err
	}
	c.giveUp(last)
	return nil, errDown
}

// refused handles a server that will not let this member in: without (or
// with wrong) credentials nothing will work for the rest of the build; a
// member whose credentials only read keeps downloading.
func (c *Client) refused(method string, err error) {
	var s *statusError
	if !errors.As(err, &s) {
		return
	}
	switch {
	case s.code == http.StatusUnauthorized:
		c.giveUp(fmt.Errorf("%w: the server wants credentials (~/.netrc or BETHEL_REMOTE_CACHE_TOKEN)", err))
	case s.code == http.StatusForbidden && method == http.MethodPut:
		c.noUpload.Store(true)
		c.warnUpload.Do(func() {
			c.o.Warn(fmt.Sprintf("shared cache %s refuses uploads (%v); downloading only (--remote-cache-upload=false says so)", c.base, err))
		})
	case s.code == http.StatusForbidden:
		c.giveUp(fmt.Errorf("%w: these credentials may not read it", err))
	}
}

// maxBody bounds what a GET may return (a corrupt server must not exhaust
// memory); preallocMax is the largest announced size read into a buffer
// allocated up front.
const (
	maxBody     = 1 << 30
	preallocMax = 256 << 20
)

// idleError is a request during which nothing moved for the timeout.
type idleError struct{ d time.Duration }

func (e *idleError) Error() string { return fmt.Sprintf("no answer for %v", e.d) }

// progress is a reader that tells the idle timer bytes are moving.
type progress struct {
	r     io.Reader
	alive func()
}

func (p *progress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.alive()
	}
	return n, err
}

func (c *Client) once(ctx context.Context, method, u string, body payload, dst *os.File) (b []byte, err error, retry bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timedOut atomic.Bool
	idle := time.AfterFunc(c.o.Timeout, func() { timedOut.Store(true); cancel() })
	defer idle.Stop()
	alive := func() { idle.Reset(c.o.Timeout) }
	defer func() {
		if err != nil && timedOut.Load() {
			err, retry = &idleError{c.o.Timeout}, false
		}
	}()
	var rd io.Reader
	r, n := body.reader()
	if r != nil {
		rd = &progress{r, alive}
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err, false
	}
	if r != nil {
		req.ContentLength = n
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	switch {
	case c.o.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.o.Token)
	case c.o.User != "":
		req.SetBasicAuth(c.o.User, c.o.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL in a url.Error carries no credentials (they are in
		// headers), but say only what failed.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err, true
	}
	defer resp.Body.Close()
	alive()
	respBody := &progress{resp.Body, alive}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		io.Copy(io.Discard, io.LimitReader(respBody, 1<<16))
		return nil, &statusError{resp.StatusCode}, true
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(respBody, 1<<16))
		return nil, &statusError{resp.StatusCode}, false
	}
	if method != http.MethodGet {
		io.Copy(io.Discard, io.LimitReader(respBody, 1<<16))
		return nil, nil, false
	}
	if dst != nil {
		if _, err := dst.Seek(0, io.SeekStart); err != nil {
			return nil, err, false
		}
		if err := dst.Truncate(0); err != nil {
			return nil, err, false
		}
		n, err := io.Copy(dst, io.LimitReader(respBody, maxBody+1))
		if err != nil {
			return nil, err, true
		}
		if n > maxBody {
			return nil, fmt.Errorf("answer larger than %d bytes", maxBody), false
		}
		return nil, nil, false
	}
	if n := resp.ContentLength; n > maxBody {
		return nil, fmt.Errorf("answer of %d bytes is larger than %d", n, maxBody), false
	} else if n >= 0 && n <= preallocMax {
		// One allocation of the announced size: growing a buffer to tens
		// of megabytes zeroes and copies it several times over. (Beyond
		// preallocMax the buffer grows with what actually arrives, so a
		// server announcing gigabytes it never sends costs nothing.)
		b = make([]byte, n)
		if _, err := io.ReadFull(respBody, b); err != nil {
			return nil, err, true
		}
		return b, nil, false
	}
	b, err = io.ReadAll(io.LimitReader(respBody, maxBody+1))
	if err != nil {
		return nil, err, true
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("answer larger than %d bytes", maxBody), false
	}
	return b, nil, false
}

// Ping reports whether the server answers (a HEAD of an entry nobody
// wrote: 404 is a healthy answer). It makes one attempt, without retries:
// `bethel status` must answer promptly.
func (c *Client) Ping(ctx context.Context) error {
	if c.down.Load() {
		return errDown
	}
	u := *c.base
	u.Path = c.base.Path + "/ac/" + acName(cache.Hash{})
	_, err, _ := c.once(ctx, http.MethodHead, u.String(), payload{}, nil)
	if err == nil || isNotFound(err) {
		return nil
	}
	return err
}

// MissError is a remote miss, with the reason (for --explain).
type MissError struct{ Reason string }

func (e *MissError) Error() string { return e.Reason }

func miss(format string, args ...any) error { return &MissError{Reason: fmt.Sprintf(format, args...)} }

// Fetch looks the node's action key up on the server; on a hit it puts
// every blob of the entry and then its manifest into st, each verified, so
// that the caller restores the node exactly like a local hit. Any failure
// is a miss (a MissError or the server's unreachability), never an error
// that fails the build.
func (c *Client) Fetch(ctx context.Context, node string, key cache.Hash, st *cache.Store) error {
	body, err := c.do(ctx, http.MethodGet, "ac", acName(key), nil)
	if err != nil {
		if isNotFound(err) {
			return miss("not in the shared cache")
		}
		return miss("shared cache: %v", err)
	}
	if sealed(body) {
		if len(c.o.Identities) == 0 {
			return miss("its shared cache entry is encrypted and no identity is configured")
		}
		body, err = open(body, c.o.Identities)
		if err != nil {
			return miss("its shared cache entry is encrypted to other recipients (%v)", err)
		}
	}
	e, err := decodeEntry(body)
	if err != nil {
		c.o.Warn(fmt.Sprintf("node %s: the shared cache's entry for action %s is unreadable (%v): not used", node, key.Short(), err))
		return miss("its shared cache entry is unreadable")
	}
	if e.Sealed && len(c.o.Identities) == 0 {
		return miss("its shared cache blobs are encrypted and no identity is configured")
	}
	// A node's blobs (its outputs and their lineage) come in parallel:
	// the node's dependents wait for all of them.
	seen := map[cache.Hash]bool{}
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
		slots = make(chan struct{}, fetchParallel)
	)
	for _, h := range e.Manifest.Blobs() {
		if seen[h] || st.HasBlob(h) {
			continue
		}
		seen[h] = true
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := c.fetchBlob(ctx, node, h, e.CAS[h], e.Sealed, st); err != nil {
				errMu.Lock()
				if first == nil {
					first = err
				}
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	// The server's word on file modes is not trusted beyond what bethel
	// itself would write.
	for i := range e.Manifest.Outputs {
		o := &e.Manifest.Outputs[i]
		o.Mode = o.Mode.Perm() & 0o644
		if c.o.Private(node) {
			o.Mode &= 0o600
		}
		if o.Mode&0o600 != 0o600 {
			o.Mode |= 0o600
		}
	}
	if err := st.PutManifest(key, e.Manifest); err != nil {
		return miss("storing the shared cache's entry: %v", err)
	}
	return nil
}

// fetchParallel bounds the blobs of one node fetched at once (an entry may
// name many).
const fetchParallel = 4

func (c *Client) fetchBlob(ctx context.Context, node string, h cache.Hash, name string, isSealed bool, st *cache.Store) error {
	// The body goes to a file, not to memory: a blob can be hundreds of
	// megabytes. It is encrypted if the blob is private, so the system's
	// temporary directory will do.
	body, err := os.CreateTemp("", "bethel-remote-*")
	if err != nil {
		return miss("shared cache: %v", err)
	}
	defer func() { body.Close(); os.Remove(body.Name()) }()
	if _, err := c.stream(ctx, http.MethodGet, "cas", name, payload{}, body); err != nil {
		if isNotFound(err) {
			return miss("blob %s is missing from the shared cache", h.Short())
		}
		return miss("shared cache: %v", err)
	}
	sum := sha256.New()
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return miss("shared cache: %v", err)
	}
	if _, err := io.Copy(sum, body); err != nil {
		return miss("shared cache: %v", err)
	}
	if hex.EncodeToString(sum.Sum(nil)) != name {
		c.o.Warn(fmt.Sprintf("node %s: blob %s from the shared cache does not match its hash: not used", node, name[:12]))
		return miss("blob %s from the shared cache does not match its hash", name[:12])
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return miss("shared cache: %v", err)
	}
	src := body.Name()
	if isSealed {
		// The clear bytes are private: they go next to the store's blobs,
		// named as bethel's temporary files so that a crash's leftovers
		// are swept with the store's own.
		r, err := age.Decrypt(body, c.o.Identities...)
		if err != nil {
			return miss("blob %s of the shared cache does not decrypt (%v)", name[:12], err)
		}
		plain, err := os.CreateTemp(filepath.Join(st.Dir(), "blobs"), tempPattern)
		if err != nil {
			return miss("shared cache: %v", err)
		}
		defer func() { plain.Close(); os.Remove(plain.Name()) }()
		if _, err := io.Copy(plain, r); err != nil {
			return miss("blob %s of the shared cache does not decrypt (%v)", name[:12], err)
		}
		src = plain.Name()
	}
	// The store names what it stores by its BLAKE3 hash, which is the
	// check: bytes that are not what the entry names land under another
	// name, which no entry refers to (gc removes them), and are not used.
	got, _, err := st.PutFile(src)
	if err != nil {
		return miss("storing blob %s: %v", h.Short(), err)
	}
	if got != h {
		c.o.Warn(fmt.Sprintf("node %s: blob %s from the shared cache is not the content its entry names: not used", node, name[:12]))
		return miss("blob %s from the shared cache is not the content its entry names", name[:12])
	}
	return nil
}

// tempPattern names the temporary files pkg/remote leaves among the
// store's blobs: cache.IsTemp recognises them, so the engine's sweep after
// a crash and gc remove them.
const tempPattern = ".remote.bethel-tmp-*"

// seal encrypts b to the recipients.
func seal(b []byte, rs []age.Recipient) ([]byte, error) {
	var out bytes.Buffer
	w, err := age.Encrypt(&out, rs...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// open decrypts an age body with the identities.
func open(b []byte, ids []age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(b), ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, errors.New("no identity matches")
		}
		return nil, err
	}
	return io.ReadAll(r)
}

// Upload queues the node's action entry and blobs for upload and returns
// at once; Wait waits for the queue. A private node goes up only
// encrypted, and not at all without recipients.
func (c *Client) Upload(node string, key cache.Hash, m *cache.Manifest, st *cache.Store) {
	if !c.o.Upload || c.down.Load() || c.noUpload.Load() {
		return
	}
	if c.o.Private(node) && len(c.o.Recipients) == 0 {
		c.count(func(s *Stats) { s.KeptLocal++ })
		return
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.queue == nil {
		c.queue = make(chan job, 1<<16)
		var ctx context.Context
		ctx, c.cancel = context.WithCancel(context.Background())
		c.given.Store(false)
		for w := 0; w < c.o.Workers; w++ {
			c.wg.Add(1)
			go c.worker(ctx, c.queue)
		}
	}
	select {
	case c.queue <- job{node, key, m, st}:
	default:
		c.count(func(s *Stats) { s.GivenUp++ })
	}
}

func (c *Client) count(f func(*Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func (c *Client) worker(ctx context.Context, queue <-chan job) {
	defer c.wg.Done()
	for j := range queue {
		if c.given.Load() {
			c.count(func(s *Stats) { s.GivenUp++ })
			continue
		}
		present, err := c.upload(ctx, j)
		switch {
		case err != nil:
			c.count(func(s *Stats) { s.GivenUp++ })
		case present:
			c.count(func(s *Stats) { s.Present++ })
		default:
			c.count(func(s *Stats) { s.Uploaded++ })
		}
	}
}

// upload sends one node's blobs, then its entry (last, so that an entry
// never names a blob the server lacks).
func (c *Client) upload(ctx context.Context, j job) (present bool, err error) {
	ac := acName(j.key)
	if _, err := c.do(ctx, http.MethodHead, "ac", ac, nil); err == nil {
		return true, nil
	} else if !isNotFound(err) {
		return false, err
	}
	private := c.o.Private(j.node)
	e := entry{Version: entryVersion, Manifest: j.m, CAS: map[cache.Hash]string{}, Sealed: private}
	for _, h := range j.m.Blobs() {
		if _, done := e.CAS[h]; done {
			continue
		}
		name, n, err := c.putBlob(ctx, j, h, private)
		if err != nil {
			return false, err
		}
		e.CAS[h] = name
		if n > 0 {
			c.count(func(s *Stats) { s.Blobs++; s.Bytes += n })
		}
	}
	body, err := json.Marshal(&e)
	if err != nil {
		return false, err
	}
	if private {
		if body, err = seal(body, c.o.Recipients); err != nil {
			return false, err
		}
	}
	_, err = c.do(ctx, http.MethodPut, "ac", ac, body)
	return false, err
}

// putBlob uploads blob h of the job (sealed when private) and returns its
// name on the server and the bytes sent (0: the server had it). The blob
// is streamed from a file, never held in memory: from the local store, or
// (an output still being copied there in the background) from the output
// file, verified against h on the way.
func (c *Client) putBlob(ctx context.Context, j job, h cache.Hash, private bool) (string, int64, error) {
	f, err := c.openBlob(j, h)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	src := f
	if private {
		sealedF, err := os.CreateTemp("", "bethel-remote-*")
		if err != nil {
			return "", 0, err
		}
		defer func() { sealedF.Close(); os.Remove(sealedF.Name()) }()
		w, err := age.Encrypt(sealedF, c.o.Recipients...)
		if err != nil {
			return "", 0, err
		}
		x := cache.NewHasher()
		if _, err := io.Copy(io.MultiWriter(w, x), f); err != nil {
			return "", 0, err
		}
		if err := w.Close(); err != nil {
			return "", 0, err
		}
		if x.Sum() != h {
			return "", 0, fmt.Errorf("blob %s changed while it was read", h.Short())
		}
		src = sealedF
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	sum, x := sha256.New(), cache.NewHasher()
	n, err := io.Copy(io.MultiWriter(sum, x), src)
	if err != nil {
		return "", 0, err
	}
	if !private && x.Sum() != h {
		return "", 0, fmt.Errorf("blob %s changed while it was read", h.Short())
	}
	name := hex.EncodeToString(sum.Sum(nil))
	if !private {
		if _, err := c.do(ctx, http.MethodHead, "cas", name, nil); err == nil {
			return name, 0, nil
		}
	}
	if _, err := c.stream(ctx, http.MethodPut, "cas", name, payload{f: src, n: n}, nil); err != nil {
		return "", 0, err
	}
	return name, n, nil
}

// openBlob opens blob h of the job for reading.
func (c *Client) openBlob(j job, h cache.Hash) (*os.File, error) {
	if f, err := os.Open(j.st.BlobPath(h)); err == nil {
		return f, nil
	}
	for _, o := range j.m.Outputs {
		if o.Hash == h {
			return os.Open(filepath.Join(c.o.Root, filepath.FromSlash(o.Path)))
		}
	}
	return nil, fmt.Errorf("blob %s is no longer available", h.Short())
}

// Wait waits up to limit for the queued uploads, gives up the rest, and
// returns what was done.
func (c *Client) Wait(limit time.Duration) Stats {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.queue != nil {
		close(c.queue)
		done := make(chan struct{})
		go func() { c.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(limit):
			c.given.Store(true)
			c.cancel()
			<-done
		}
		c.cancel()
		c.queue = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	c.stats = Stats{}
	return s
}
