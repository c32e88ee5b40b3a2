package main

// End-to-end tests of the shared cache: the real binary against a real
// nginx with WebDAV (pkg/remote/remotetest), on clones of the sample event.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"bethel/pkg/pipeline"
	"bethel/pkg/remote"
	"bethel/pkg/remote/remotetest"
	"bethel/pkg/stages"
)

// sampleClone copies the sample event (inputs, config, patches and the
// pipeline, no state) into a new workspace.
func sampleClone(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join("..", "..")
	for _, d := range []string{"inputs", "config", "patches"} {
		wCopyTree(t, filepath.Join(root, d), filepath.Join(dir, d))
	}
	b, err := os.ReadFile(filepath.Join(root, "pipeline.toml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFileT(t, filepath.Join(dir, "pipeline.toml"), string(b))
	return dir
}

// runWith runs the binary in dir with extra environment; HOME and the
// configuration directory point at an empty directory unless env says
// otherwise, so that no identity or netrc of the machine is used.
func runWith(t *testing.T, dir string, env []string, args ...string) runResult {
	t.Helper()
	empty := t.TempDir()
	cmd := exec.Command(bethelBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BETHEL_DEBUG=", "HOME="+empty, "XDG_CONFIG_HOME="+empty,
		"BETHEL_IDENTITY=", "BETHEL_REMOTE_CACHE=", "NETRC=")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 30 * time.Second
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("bethel %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return runResult{out.String(), errb.String(), code}
}

// makeJSON is make --json's answer.
type makeJSON struct {
	Ran            []string `json:"ran"`
	Restored       []string `json:"restored"`
	RestoredRemote []string `json:"restored_remote"`
	UpToDate       []string `json:"uptodate"`
	Failed         []string `json:"failed"`
}

func makeRemote(t *testing.T, dir, url string, env ...string) (makeJSON, runResult) {
	t.Helper()
	r := runWith(t, dir, env, "make", "--json", "--remote-cache", url)
	if r.code != 0 {
		t.Fatalf("make in %s: exit %d\n%s%s", dir, r.code, r.stdout, r.stderr)
	}
	var j makeJSON
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		t.Fatalf("make --json: %v\n%s", err, r.stdout)
	}
	return j, r
}

// sameOutputs fails unless every declared output of b is byte-identical to
// a's.
func sameOutputs(t *testing.T, a, b string) {
	t.Helper()
	p, err := pipeline.Load(a, "pipeline.toml", stages.Registry().Names())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, node := range p.Nodes {
		for _, o := range node.Outputs {
			x, err := os.ReadFile(filepath.Join(a, o))
			if err != nil {
				t.Fatal(err)
			}
			y, err := os.ReadFile(filepath.Join(b, o))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(x, y) {
				t.Errorf("%s differs between the clones", o)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no outputs compared")
	}
}

// privateNodes lists the nodes of a built workspace whose outputs are
// private, as the engine classified them: it writes private outputs 0600.
func privateNodes(t *testing.T, dir string) []string {
	p, err := pipeline.Load(dir, "pipeline.toml", stages.Registry().Names())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range p.Order {
		fi, err := os.Stat(filepath.Join(dir, n.Outputs[0]))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() == 0o600 {
			names = append(names, n.Name)
		}
	}
	if len(names) == 0 {
		t.Fatal("the sample has no private node")
	}
	return names
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func keygen(t *testing.T) (idFile, recipient string) {
	t.Helper()
	idFile = filepath.Join(t.TempDir(), "identity.txt")
	r := runWith(t, t.TempDir(), nil, "cache", "keygen", "-o", idFile)
	if r.code != 0 {
		t.Fatalf("keygen: %s", r.stderr)
	}
	return idFile, strings.TrimSpace(r.stdout)
}

func writeRecipients(t *testing.T, dir string, recipients ...string) {
	t.Helper()
	q := make([]string, len(recipients))
	for i, r := range recipients {
		q[i] = `"` + r + `"`
	}
	writeFileT(t, filepath.Join(dir, remote.WorkspaceFile), "[remote_cache]\nrecipients = ["+strings.Join(q, ", ")+"]\n")
}

// TestSharedCacheTwoClones: A builds with the shared cache; B, with an empty
// cache and a team identity, runs nothing; C, without an identity, runs
// only the private nodes. All three have the same outputs.
func TestSharedCacheTwoClones(t *testing.T) {
	srv := remotetest.Start(t, "/bethel")
	idFile, rec := keygen(t)
	a, b, c := sampleClone(t), sampleClone(t), sampleClone(t)
	for _, d := range []string{a, b, c} {
		writeRecipients(t, d, rec)
	}
	ja, ra := makeRemote(t, a, srv.URL)
	if len(ja.Ran) == 0 || !strings.Contains(ra.stderr, "uploaded") {
		t.Fatalf("A: ran %v\n%s", ja.Ran, ra.stderr)
	}
	jb, rb := makeRemote(t, b, srv.URL, "BETHEL_IDENTITY="+idFile)
	if len(jb.Ran) != 0 || len(jb.RestoredRemote) != len(ja.Ran) {
		t.Errorf("B with an identity: ran %v, restored from the shared cache %v (want all %d)\n%s", jb.Ran, jb.RestoredRemote, len(ja.Ran), rb.stderr)
	}
	sameOutputs(t, a, b)
	jc, rc := makeRemote(t, c, srv.URL)
	if want := privateNodes(t, a); !equal(sorted(jc.Ran), sorted(want)) {
		t.Errorf("C without an identity ran %v, want the private nodes %v\n%s", jc.Ran, want, rc.stderr)
	}
	if len(jc.Ran)+len(jc.RestoredRemote) != len(ja.Ran) {
		t.Errorf("C: ran %v, restored from the shared cache %v", jc.Ran, jc.RestoredRemote)
	}
	sameOutputs(t, a, c)
	for _, r := range []runResult{ra, rb, rc} {
		if len(warningLines(r.stderr)) > 0 {
			t.Errorf("warnings:\n%s", r.stderr)
		}
	}
	// --explain says where a node came from; status sees the server.
	d := sampleClone(t)
	r := runWith(t, d, []string{"BETHEL_IDENTITY=" + idFile}, "make", "--explain", "--remote-cache", srv.URL)
	if r.code != 0 || !strings.Contains(r.stdout, "because restored from the shared cache") || !strings.Contains(r.stdout, "from the shared cache)") {
		t.Errorf("make --explain:\n%s%s", r.stdout, r.stderr)
	}
	st := runWith(t, a, []string{"BETHEL_REMOTE_CACHE=" + srv.URL}, "status")
	if !strings.Contains(st.stdout, "shared cache "+srv.URL+": reachable") || !strings.Contains(st.stdout, "last upload") {
		t.Errorf("status:\n%s%s", st.stdout, st.stderr)
	}
}

func equal(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

// sensitiveValues returns every value of the sample export's sensitive
// columns that identifies a person (names, emails, phones, birth dates,
// emergency contacts; dietary needs and allergies are counted by category
// in internal summaries, so their category words are not secrets).
func sensitiveValues(t *testing.T) []string {
	f, err := os.Open(filepath.Join("..", "..", "inputs", "registrations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string]bool{"First Name": true, "Last Name": true, "Preferred Name": true, "Email": true, "Phone": true,
		"Date of Birth": true, "Emergency Contact Name": true, "Emergency Contact Phone": true}
	var idx []int
	for i, h := range rows[0] {
		if cols[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] {
			idx = append(idx, i)
		}
	}
	if len(idx) != len(cols) {
		t.Fatalf("found %d of the %d sensitive columns", len(idx), len(cols))
	}
	// A first name that is also a town or a word of the program (a
	// bethel's city, a room) is not a secret where it appears.
	var public []byte
	for _, g := range []string{"config/*", "inputs/program.csv"} {
		files, _ := filepath.Glob(filepath.Join("..", "..", g))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			public = append(public, b...)
		}
	}
	seen := map[string]bool{}
	var vals []string
	for _, row := range rows[1:] {
		for _, i := range idx {
			v := strings.TrimSpace(row[i])
			// Names shorter than 4 letters are substrings of ordinary
			// words; the full names and contacts still cover them.
			if len(v) < 4 || seen[v] || bytes.Contains(public, []byte(v)) {
				continue
			}
			seen[v] = true
			vals = append(vals, v)
		}
	}
	return vals
}

// TestSharedCacheNoRecipients: without recipients nothing private reaches
// the server (every sensitive value of the sample is looked for in every
// file it stores), and a clone still restores every node that is not
// private.
func TestSharedCacheNoRecipients(t *testing.T) {
	srv := remotetest.Start(t, "")
	a, b := sampleClone(t), sampleClone(t)
	ja, ra := makeRemote(t, a, srv.URL)
	if !strings.Contains(ra.stderr, "private kept local") {
		t.Errorf("A did not say it kept private entries local:\n%s", ra.stderr)
	}
	vals := sensitiveValues(t)
	files := srv.Files(t)
	if len(files) == 0 {
		t.Fatal("nothing was uploaded")
	}
	for _, f := range files {
		body, err := os.ReadFile(filepath.Join(srv.Data, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if containsWord(body, v) {
				t.Errorf("server file %s holds a sensitive value of the sample %q", f, v)
				break
			}
		}
	}
	jb, rb := makeRemote(t, b, srv.URL)
	if want := privateNodes(t, a); !equal(sorted(jb.Ran), sorted(want)) || len(jb.Ran)+len(jb.RestoredRemote) != len(ja.Ran) {
		t.Errorf("B ran %v and restored %v from the shared cache, want only the private nodes %v run\n%s", jb.Ran, jb.RestoredRemote, want, rb.stderr)
	}
	sameOutputs(t, a, b)
}

// warningLines counts the shared cache's warnings on stderr.
func warningLines(stderr string) []string {
	var w []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "bethel: warning:") {
			w = append(w, l)
		}
	}
	return w
}

// TestSharedCacheFaults: a server answering 500, one that stops in the
// middle of a build, and one that returns a wrong body for a key: each
// build succeeds with the right outputs and one warning.
func TestSharedCacheFaults(t *testing.T) {
	ref := sampleClone(t)
	if r := runWith(t, ref, nil, "make"); r.code != 0 {
		t.Fatalf("reference build: %s", r.stderr)
	}
	t.Run("500", func(t *testing.T) {
		srv := remotetest.Start(t, "")
		srv.Restart(t, remotetest.Fail)
		d := sampleClone(t)
		_, r := makeRemote(t, d, srv.URL)
		if w := warningLines(r.stderr); len(w) != 1 || !strings.Contains(w[0], "HTTP 500") {
			t.Errorf("warnings %q, want one saying HTTP 500", w)
		}
		sameOutputs(t, ref, d)
	})
	t.Run("stopped mid-build", func(t *testing.T) {
		srv := remotetest.Start(t, "")
		d := sampleClone(t)
		// Stop the server as soon as the build has stored its first
		// blob there.
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				if m, _ := filepath.Glob(filepath.Join(srv.Data, "cas", "*")); len(m) > 0 {
					srv.Stop()
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		j, r := makeRemote(t, d, srv.URL)
		<-stopped
		if w := warningLines(r.stderr); len(w) != 1 || !strings.Contains(w[0], "local cache only") {
			t.Errorf("warnings %q, want one", w)
		}
		if len(j.Failed) != 0 {
			t.Errorf("failed: %v", j.Failed)
		}
		sameOutputs(t, ref, d)
	})
	t.Run("wrong body", func(t *testing.T) {
		srv := remotetest.Start(t, "")
		a, b := sampleClone(t), sampleClone(t)
		makeRemote(t, a, srv.URL)
		// Swap one blob's bytes for another's (both well-formed files
		// bethel wrote): only its hash tells them apart.
		blobs, _ := filepath.Glob(filepath.Join(srv.Data, "cas", "*"))
		if len(blobs) < 2 {
			t.Fatalf("server holds %d blobs", len(blobs))
		}
		other, err := os.ReadFile(blobs[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(blobs[0], other, 0o644); err != nil {
			t.Fatal(err)
		}
		j, r := makeRemote(t, b, srv.URL)
		if w := warningLines(r.stderr); len(w) != 1 || !strings.Contains(w[0], "does not match its hash") {
			t.Errorf("warnings %q, want one about the hash", w)
		}
		if len(j.Ran) == len(privateNodes(t, a)) {
			t.Errorf("ran %v: the node whose blob was wrong should have run", j.Ran)
		}
		sameOutputs(t, ref, b)
	})
}

// containsWord reports whether v occurs in b not as part of a longer word
// ("Beth" in "Bethel" is no leak).
func containsWord(b []byte, v string) bool {
	word := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte(v))
		if i < 0 {
			return false
		}
		i += off
		end := i + len(v)
		if (i == 0 || !word(b[i-1])) && (end == len(b) || !word(b[end])) {
			return true
		}
		off = i + 1
	}
}

// TestSharedCacheWatch: bethel watch restores from the shared cache too,
// and its JSON lines say which nodes came from there.
func TestSharedCacheWatch(t *testing.T) {
	srv := remotetest.Start(t, "")
	a, b := sampleClone(t), sampleClone(t)
	ja, _ := makeRemote(t, a, srv.URL)
	w := startWatch(t, b, "--remote-cache", srv.URL)
	rec := w.next()
	if want := len(ja.Ran) - len(privateNodes(t, a)); len(rec.RestoredRemote) != want || len(rec.Failed) != 0 {
		t.Errorf("watch's first build restored %v from the shared cache, want %d nodes (failed %v)", rec.RestoredRemote, want, rec.Failed)
	}
	w.stop()
	sameOutputs(t, a, b)
}

// TestSharedCacheDownloadOnly: --remote-cache-upload=false sends nothing.
func TestSharedCacheDownloadOnly(t *testing.T) {
	srv := remotetest.Start(t, "")
	a := sampleClone(t)
	r := runWith(t, a, nil, "make", "--remote-cache", srv.URL, "--remote-cache-upload=false")
	if r.code != 0 || strings.Contains(r.stderr, "uploaded") {
		t.Fatalf("make: exit %d\n%s", r.code, r.stderr)
	}
	if files := srv.Files(t); len(files) != 0 {
		t.Errorf("a download-only member uploaded %d files", len(files))
	}
}

// TestSharedCachePush: a workspace built before the shared cache was set
// up shares its results with bethel cache push; a clone then restores
// every node that is not private.
func TestSharedCachePush(t *testing.T) {
	srv := remotetest.Start(t, "")
	a, b := sampleClone(t), sampleClone(t)
	if r := runWith(t, a, nil, "make"); r.code != 0 {
		t.Fatalf("make: %s", r.stderr)
	}
	r := runWith(t, a, nil, "cache", "push", "--remote-cache", srv.URL)
	if r.code != 0 || !strings.Contains(r.stdout, "private kept local") || strings.Contains(r.stdout, "not pushed") {
		t.Fatalf("push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	private := privateNodes(t, a)
	jb, rb := makeRemote(t, b, srv.URL)
	if !equal(sorted(jb.Ran), sorted(private)) {
		t.Errorf("B ran %v, want only the private nodes %v\n%s", jb.Ran, private, rb.stderr)
	}
	sameOutputs(t, a, b)
	// Pushing again sends nothing new.
	r = runWith(t, a, nil, "cache", "push", "--remote-cache", srv.URL)
	if r.code != 0 || !strings.Contains(r.stdout, " 0 uploaded") {
		t.Errorf("second push:\n%s%s", r.stdout, r.stderr)
	}
}
