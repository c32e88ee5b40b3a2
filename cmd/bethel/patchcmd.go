package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"bethel/pkg/graph"
	"bethel/pkg/lazyre"
	"bethel/pkg/patch"
	"bethel/pkg/pipeline"
	"bethel/pkg/pos"
	"bethel/pkg/schema"
	"bethel/pkg/stages"
)

func init() {
	register(&command{
		name:    "patch",
		summary: "write a correction: set, drop or add a registration, or cancel, move or change a session",
		run:     runPatchCmd,
	})
}

// patchRequest is what the command line asks for, before bethel looks at
// the record.
type patchRequest struct {
	target string
	kind   patch.Kind
	verb   string // set, drop, add, cancel, move: names the patch id
	key    string // the record key (set, drop); "" for add
	values []patch.Field
}

// runPatchCmd writes one patch. It builds the target's node first (so the
// record's current values are those of the last build with every patch
// before this one), fills expect from them, evaluates the new patch with
// the node's real stage against the current inputs before writing anything,
// and refuses unless it would apply. Then it appends the entry to the patch
// file, loads the file back and prints the cells the patch will change.
func runPatchCmd(ctx context.Context, env *Env, args []string) error {
	fset := flag.NewFlagSet("patch", flag.ContinueOnError)
	ws := addWorkspaceFlags(fset)
	reason := fset.String("reason", "", "why the correction is right (required): who said so, and how")
	author := fset.String("author", "", "who makes the correction (default: $BETHEL_AUTHOR)")
	target := fset.String("target", "", "the table to correct (default: registrations, or program)")
	file := fset.String("file", "", "the patch `FILE` to append to (default: a dated file under patches/<target>/)")
	id := fset.String("id", "", "the patch id (default: made from the action, the key and the fields)")
	date := fset.String("date", "", "the date of the correction, YYYY-MM-DD (default: today)")
	dryRun := fset.Bool("dry-run", false, "print the TOML and what it would change; write nothing")
	showPrivate := fset.Bool("show-private", false, "print the values of sensitive fields")
	fset.Usage = usageFunc(fset, "bethel patch set KEY FIELD=VALUE... --reason TEXT\n"+
		"       bethel patch drop KEY --reason TEXT\n"+
		"       bethel patch add FIELD=VALUE... --reason TEXT\n"+
		"       bethel patch program cancel ID --reason TEXT\n"+
		"       bethel patch program move ID start=HH:MM end=HH:MM [day=DAY] [room=ROOM] --reason TEXT\n"+
		"       bethel patch program set ID FIELD=VALUE... --reason TEXT",
		"Writes a correction as a [[patch]] entry, with expect filled from what the record\n"+
			"holds now, so that an export that changes the record later makes the patch a\n"+
			"visible conflict. Values are checked against the field declarations before\n"+
			"anything is written.")
	rest, err := parseFlags(fset, env, args)
	if err != nil {
		return err
	}
	req, err := parsePatchArgs(rest, *target)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return usagef("patch: --reason is required: say why the correction is right (who said so, and how)")
	}
	if *author == "" {
		*author = os.Getenv("BETHEL_AUTHOR")
	}
	now := time.Now()
	if *date != "" {
		d, err := time.ParseInLocation("2006-01-02", *date, time.Local)
		if err != nil {
			return usagef("patch: --date %q: want YYYY-MM-DD", *date)
		}
		now = d
	}
	p, err := ws.load(env)
	if err != nil {
		return err
	}
	root := ws.root(env)
	node, table, err := patchNode(p, req.target)
	if err != nil {
		return err
	}

	// The record as the last build left it: build the node (restoring or
	// running what it needs), then read its table.
	opts := engineOptions(env, false)
	opts.Targets = []string{node.Name}
	if _, err := graph.Build(ctx, p, opts); err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("patch: node %s does not build, so the record's current values are unknown; fix that first:\n%w", node.Name, err)}
	}
	cur, err := readTable(root, table)
	if err != nil {
		return err
	}
	if err := checkFields(req, cur, table); err != nil {
		return err
	}
	if err := canonicalValues(req, root, p.Fields); err != nil {
		return err
	}
	entry := &newPatch{req: req, reason: *reason, author: *author, date: now.Format("2006-01-02")}
	switch req.kind {
	case patch.Set, patch.Drop:
		rec, ok := cur.find(req.key)
		if !ok {
			return &ExitError{Code: 1, Err: fmt.Errorf("patch: %s has no record %s in %s%s", req.target, req.key, table, cur.closestKey(req.key))}
		}
		entry.match = patch.Field{Name: cur.header[0], Value: patch.Value{Scalar: req.key}}
		entry.expect = expectFor(req, cur, rec)
	case patch.Add:
		entry.match = patch.Field{}
	}

	// Which file, and the patches already in it.
	rel := *file
	if rel == "" {
		rel = defaultPatchFile(root, req.target, now)
	} else if r, ok := workspaceRel(root, env, rel); ok {
		rel = r
	} else {
		return usagef("patch: --file %s is outside the workspace", rel)
	}
	if !matchesAny(node.Patches, rel) {
		return usagef("patch: %s is not among node %s's patches (%s): the build would not read it", rel, node.Name, strings.Join(node.Patches, ", "))
	}
	old, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	taken, err := patchIDs(root, node, rel, old)
	if err != nil {
		return err
	}
	entry.id = *id
	if entry.id == "" {
		entry.id = uniqueID(entry.defaultID(), taken)
	} else if taken[entry.id] {
		return usagef("patch: the id %q is taken", entry.id)
	}
	text := entry.toml()
	data := appendEntry(old, text)
	if _, err := patch.Parse(rel, data); err != nil {
		return fmt.Errorf("patch: the entry does not read back (please report this):\n%w", err)
	}

	// Evaluate with the node's stage as the next build will, the new file
	// in place in memory only.
	files := withFile(node.PatchFiles, rel)
	ov := &overlayFS{base: os.DirFS(root), name: rel, data: data}
	rep, err := evalNodePatches(ctx, p, node, ov, files, patch.Options{ShowPrivate: *showPrivate})
	if err != nil {
		return err
	}
	e := findEntry(rep, entry.id)
	if e == nil {
		return fmt.Errorf("patch: node %s did not report the new patch %q", node.Name, entry.id)
	}
	if e.Status != patch.StatusApplied {
		msg := e.Message
		if msg == "" {
			msg = string(e.Status)
		}
		return &ExitError{Code: 1, Err: fmt.Errorf("patch: refused, nothing written: %s", msg)}
	}
	if *dryRun {
		shown := text
		if !*showPrivate {
			// The terminal gets no private value the organizer did not
			// type: a sensitive field's current value in expect (and,
			// alike, its new one) is withheld unless asked for.
			shown = entry.withhold(sensitiveFields(root, p.Fields)).toml()
		}
		fmt.Fprintf(env.Stdout, "# would append to %s:\n\n%s\n", rel, shown)
		printChanges(env.Stdout, e, *showPrivate)
		return nil
	}
	if err := writeFileAtomic(filepath.Join(root, filepath.FromSlash(rel)), data); err != nil {
		return err
	}

	// Load the written file back and say what it will change.
	back, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	ps, err := patch.Parse(rel, back)
	if err != nil {
		return err
	}
	line := 0
	for _, q := range ps {
		if q.ID == entry.id {
			line = q.Pos.Line
		}
	}
	fmt.Fprintf(env.Stdout, "wrote patch %q to %s:%d\n", entry.id, rel, line)
	printChanges(env.Stdout, e, *showPrivate)
	fmt.Fprintln(env.Stdout, "run `bethel make` to apply it")
	return nil
}

// parsePatchArgs reads the positional arguments: a verb, then a key and
// FIELD=VALUE pairs as the verb needs them.
func parsePatchArgs(args []string, target string) (*patchRequest, error) {
	if len(args) == 0 {
		return nil, usagef("patch: want set, drop, add or program (bethel patch -h)")
	}
	req := &patchRequest{target: target}
	verb := args[0]
	args = args[1:]
	program := verb == "program"
	if program {
		if len(args) == 0 {
			return nil, usagef("patch program: want cancel, move or set")
		}
		verb = args[0]
		args = args[1:]
		if req.target == "" {
			req.target = "program"
		}
	} else if req.target == "" {
		req.target = "registrations"
	}
	req.verb = verb
	needKey := func() error {
		if len(args) == 0 || strings.Contains(args[0], "=") {
			return usagef("patch %s: want the record's key first (e.g. R-1043 or S-014)", verb)
		}
		req.key = args[0]
		args = args[1:]
		return nil
	}
	switch {
	case verb == "set":
		req.kind = patch.Set
		if err := needKey(); err != nil {
			return nil, err
		}
	case verb == "drop" && !program, verb == "cancel" && program:
		req.kind = patch.Drop
		if err := needKey(); err != nil {
			return nil, err
		}
		if len(args) > 0 {
			return nil, usagef("patch %s takes only the key, have %q", verb, args)
		}
	case verb == "add" && !program:
		req.kind = patch.Add
	case verb == "move" && program:
		req.kind = patch.Set
		if err := needKey(); err != nil {
			return nil, err
		}
	default:
		if program {
			return nil, usagef("patch program: unknown action %q: want cancel, move or set", verb)
		}
		return nil, usagef("patch: unknown action %q: want set, drop, add or program", verb)
	}
	seen := map[string]bool{}
	for _, a := range args {
		name, val, ok := strings.Cut(a, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, usagef("patch %s: want FIELD=VALUE, have %q", verb, a)
		}
		if seen[name] {
			return nil, usagef("patch %s: field %s given twice", verb, name)
		}
		seen[name] = true
		req.values = append(req.values, patch.Field{Name: name, Value: patch.Value{Scalar: val}})
	}
	if req.kind != patch.Drop && len(req.values) == 0 {
		return nil, usagef("patch %s: want at least one FIELD=VALUE", verb)
	}
	if verb == "move" {
		for _, f := range req.values {
			switch f.Name {
			case "start", "end", "day", "room":
			default:
				return nil, usagef("patch program move: %s is not a time or place (start, end, day, room); use patch program set", f.Name)
			}
		}
	}
	return req, nil
}

// patchNode finds the stage node that applies the target's patches: the
// first, in build order, whose patch globs take a file under
// patches/<target>/ and whose stage evaluates patches. table is its first
// CSV output, which holds the patched records.
func patchNode(p *pipeline.Pipeline, target string) (*pipeline.Node, string, error) {
	probe := "patches/" + target + "/x.toml"
	reg := stages.Registry()
	for _, n := range p.Order {
		if !n.IsStage() || !matchesAny(n.Patches, probe) {
			continue
		}
		s, ok := reg.Lookup(n.Stage)
		if !ok {
			continue
		}
		if _, ok := s.(patch.Reporter); !ok {
			continue
		}
		for _, o := range n.Outputs {
			if strings.HasSuffix(o, ".csv") {
				return n, o, nil
			}
		}
	}
	return nil, "", usagef("patch: no node applies patches from patches/%s/ (a node with patches = [\"patches/%s/*.toml\"] in pipeline.toml)", target, target)
}

func matchesAny(globs []string, file string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, file); ok || g == file {
			return true
		}
	}
	return false
}

// expectFor is what the patch expects the record to hold. A session's
// title alone: it catches a wrong id, and the times of the built schedule
// are not written as a patch writes them. For a registration: for a set,
// the current values of the fields it sets; for a drop, the fields that
// identify the record and are not private.
func expectFor(req *patchRequest, cur *csvTable, rec []string) []patch.Field {
	var names []string
	switch {
	case cur.col("title") >= 0:
		names = []string{"title"}
	case req.kind == patch.Set:
		for _, f := range req.values {
			names = append(names, f.Name)
		}
	case req.kind == patch.Drop:
		names = []string{"submitted_at", "bethel", "member_type"}
	}
	var out []patch.Field
	for _, n := range names {
		if i := cur.col(n); i >= 0 {
			out = append(out, patch.Field{Name: n, Value: patch.Value{Scalar: rec[i]}})
		}
	}
	return out
}

// checkFields refuses a field the table does not have, naming the closest.
func checkFields(req *patchRequest, cur *csvTable, table string) error {
	for _, f := range req.values {
		if cur.col(f.Name) >= 0 {
			continue
		}
		best := closestName(f.Name, cur.header)
		hint := ""
		if best != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", best)
		}
		return &ExitError{Code: 1, Err: fmt.Errorf("patch: %s has no field %q%s; the fields are the columns of %s: %s",
			req.target, f.Name, hint, table, strings.Join(cur.header, ", "))}
	}
	return nil
}

func hasField(fs []patch.Field, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

// canonicalValues turns each value into its field's canonical form by the
// field declarations (tshirt_size=xl is XL, a date in any form the export
// takes is YYYY-MM-DD), before anything is written; a value the field does
// not allow is refused with the allowed ones and the closest. Fields the
// declarations do not have (a session's) and directory lookups are left to
// the stage's own check, which evaluates the entry next.
func canonicalValues(req *patchRequest, root, fieldsFile string) error {
	if fieldsFile == "" {
		return nil
	}
	sc, err := schema.Load(os.DirFS(root), fieldsFile)
	if err != nil {
		return err
	}
	for i, v := range req.values {
		f := sc.Field(v.Name)
		if f == nil || f.Reference != nil {
			continue
		}
		c, err := f.Canonical(v.Value.Scalar)
		if err != nil {
			return &ExitError{Code: 1, Err: fmt.Errorf("patch: refused, nothing written: %s: %w", v.Name, err)}
		}
		req.values[i].Value.Scalar = c
	}
	return nil
}

// sensitiveFields are the fields the declarations mark sensitive.
func sensitiveFields(root, fieldsFile string) map[string]bool {
	out := map[string]bool{}
	if fieldsFile == "" {
		return out
	}
	sc, err := schema.Load(os.DirFS(root), fieldsFile)
	if err != nil {
		return out
	}
	for _, n := range sc.Sensitive() {
		out[n] = true
	}
	return out
}

// withhold is a copy of the entry with sensitive values replaced, for
// printing.
func (n *newPatch) withhold(sensitive map[string]bool) *newPatch {
	hide := func(fs []patch.Field) []patch.Field {
		out := append([]patch.Field(nil), fs...)
		for i := range out {
			if sensitive[out[i].Name] {
				out[i].Value = patch.Value{Scalar: patch.Withheld}
			}
		}
		return out
	}
	c := *n
	req := *n.req
	req.values = hide(req.values)
	c.req = &req
	c.expect = hide(n.expect)
	return &c
}

// closestName is the name nearest to a mistyped one (a few edits away, or
// containing it, as meal in banquet_meal), or "".
func closestName(typed string, names []string) string {
	typed = strings.ToLower(typed)
	best, bestD := "", max(2, len(typed)/3)+1
	for _, n := range names {
		d := pos.Distance(typed, strings.ToLower(n))
		if len(typed) >= 3 && strings.Contains(strings.ToLower(n), typed) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// newPatch is the entry the command writes.
type newPatch struct {
	req            *patchRequest
	id             string
	match          patch.Field
	expect         []patch.Field
	reason, author string
	date           string
}

var idUnsafe = lazyre.New(`[^A-Za-z0-9._:-]+`)

// defaultID names the patch after what it does: set-R-1043-bethel,
// drop-R-1043, cancel-S-014, move-S-008, add-W-1.
func (n *newPatch) defaultID() string {
	parts := []string{n.req.verb}
	switch {
	case n.req.key != "":
		parts = append(parts, n.req.key)
	case n.req.kind == patch.Add:
		parts = append(parts, n.req.values[0].Value.Scalar)
	}
	if n.req.verb == "set" {
		for _, f := range n.req.values {
			parts = append(parts, f.Name)
		}
	}
	id := strings.Trim(idUnsafe().ReplaceAllString(strings.Join(parts, "-"), "-"), "-._:")
	if len(id) > 60 {
		id = id[:60]
	}
	return id
}

func uniqueID(id string, taken map[string]bool) string {
	if !taken[id] {
		return id
	}
	for i := 2; ; i++ {
		c := id + "-" + strconv.Itoa(i)
		if !taken[c] {
			return c
		}
	}
}

// toml renders the entry in the layout of the sample's hand-written
// patches: aligned keys, inline tables, a TOML date.
func (n *newPatch) toml() string {
	var b strings.Builder
	b.WriteString("[[patch]]\n")
	kv := func(k, v string) { fmt.Fprintf(&b, "%-6s = %s\n", k, v) }
	kv("id", tomlString(n.id))
	kv("target", tomlString(n.req.target))
	if n.match.Name != "" {
		kv("match", inlineTable([]patch.Field{n.match}))
	}
	if len(n.expect) > 0 {
		kv("expect", inlineTable(n.expect))
	}
	switch n.req.kind {
	case patch.Set:
		kv("set", inlineTable(n.req.values))
	case patch.Drop:
		kv("drop", "true")
	case patch.Add:
		kv("add", inlineTable(n.req.values))
	}
	kv("reason", tomlString(n.reason))
	if n.author != "" {
		kv("author", tomlString(n.author))
	}
	kv("date", n.date)
	return b.String()
}

func inlineTable(fs []patch.Field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		k := f.Name
		if !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(k) {
			k = tomlString(k)
		}
		parts[i] = k + " = " + tomlString(f.Value.Scalar)
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// appendEntry appends a TOML entry to a patch file's bytes, one blank line
// between entries.
func appendEntry(old []byte, entry string) []byte {
	if len(old) == 0 {
		return []byte("# Corrections written by `bethel patch`; edit them as any patch file.\n\n" + entry)
	}
	s := strings.TrimRight(string(old), "\n") + "\n\n" + entry
	return []byte(s)
}

var leadingNumber = lazyre.New(`^(\d+)-`)

// defaultPatchFile is patches/<target>/NN-YYYY-MM-DD.toml: today's file
// when it is already the last, otherwise a new one numbered after every
// existing file, so that it applies after them (patches apply in file-name
// order) and sees the records as the organizer sees them now.
func defaultPatchFile(root, target string, now time.Time) string {
	dir := "patches/" + target
	date := now.Format("2006-01-02")
	ents, _ := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
	var names []string
	maxN := 0
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") {
			continue
		}
		names = append(names, e.Name())
		if m := leadingNumber().FindStringSubmatch(e.Name()); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n > maxN && n < 1e6 {
				maxN = n
			}
		}
	}
	sort.Strings(names)
	if len(names) > 0 && strings.HasSuffix(names[len(names)-1], date+".toml") {
		return dir + "/" + names[len(names)-1]
	}
	if maxN == 0 {
		name := date + ".toml"
		if len(names) == 0 || name > names[len(names)-1] {
			return dir + "/" + name
		}
	}
	return fmt.Sprintf("%s/%02d-%s.toml", dir, (maxN/10+1)*10, date)
}

// workspaceRel turns a --file argument (relative to where bethel runs, or
// absolute) into a workspace-relative slash path.
func workspaceRel(root string, env *Env, file string) (string, bool) {
	abs := file
	if !filepath.IsAbs(abs) {
		base := env.Dir
		if base == "" {
			base, _ = os.Getwd()
		}
		abs = filepath.Join(base, file)
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(absRoot, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// patchIDs are the ids of every patch the node reads, and of the file
// about to be written (which may be new), so a new id is unique.
func patchIDs(root string, n *pipeline.Node, rel string, relData []byte) (map[string]bool, error) {
	taken := map[string]bool{}
	for _, f := range n.PatchFiles {
		if f == rel {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		ps, _ := patch.Parse(f, data)
		for _, q := range ps {
			taken[q.ID] = true
		}
	}
	if len(relData) > 0 {
		ps, err := patch.Parse(rel, relData)
		if err != nil {
			return nil, fmt.Errorf("patch: %s does not load; fix it first or write to another --file:\n%w", rel, err)
		}
		for _, q := range ps {
			taken[q.ID] = true
		}
	}
	return taken, nil
}

func withFile(files []string, f string) []string {
	out := append([]string(nil), files...)
	for _, g := range out {
		if g == f {
			return out
		}
	}
	out = append(out, f)
	sort.Strings(out)
	return out
}

// evalNodePatches evaluates a node's patches with its stage, as `bethel
// patches` does, on fsys and the given patch files, with the workspace's
// privacy declaration as the engine hands it to every node.
func evalNodePatches(ctx context.Context, p *pipeline.Pipeline, n *pipeline.Node, fsys stageFS, files []string, opt patch.Options) (*patch.Report, error) {
	s, _ := stages.Registry().Lookup(n.Stage)
	rep := s.(patch.Reporter)
	// The run a build would give the stage, over the overlay and with
	// the patch files given, with its guard on undeclared reads; the
	// report may redo upstream work.
	run, err := graph.QueryRun(p, n, graph.Query{FS: fsys, Patches: files, Upstream: true})
	if err != nil {
		return nil, err
	}
	r, err := rep.PatchReport(ctx, run, opt)
	if r == nil {
		if err == nil {
			err = fmt.Errorf("node %s: no patch report", n.Name)
		}
		return nil, fmt.Errorf("patch: node %s cannot evaluate its patches:\n%w", n.Name, err)
	}
	return r, nil
}

func findEntry(r *patch.Report, id string) *patch.Entry {
	for i := range r.Patches {
		if r.Patches[i].ID == id {
			return &r.Patches[i]
		}
	}
	return nil
}

// printChanges lists the cells the patch changes, a sensitive value
// withheld unless asked for.
func printChanges(w io.Writer, e *patch.Entry, showPrivate bool) {
	val := func(c patch.Change, v string) string {
		if c.Sensitive && !showPrivate {
			return patch.Withheld
		}
		return strconv.Quote(v)
	}
	for _, c := range e.Changes {
		switch c.Op {
		case patch.Drop:
			fmt.Fprintf(w, "  %s: dropped\n", c.Key)
		case patch.Add:
			fmt.Fprintf(w, "  %s: %s = %s (added)\n", c.Key, c.Field, val(c, c.New))
		default:
			fmt.Fprintf(w, "  %s: %s %s -> %s\n", c.Key, c.Field, val(c, c.Old), val(c, c.New))
		}
	}
}
