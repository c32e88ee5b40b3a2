package browser_test

// Checks of the built site that need no browser: every link resolves
// inside the site, nothing points outside it, no private value of the
// sample appears in any file, and the whole site is small.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// siteRef is one link or source found in a file of the site.
type siteRef struct {
	file  string // slash path relative to the site root
	attr  string // href, src, srcset, xlink:href, url()
	value string // as written, entities decoded
}

// siteIDs is, per HTML file, the ids and anchor names it defines.
type siteIDs map[string]map[string]bool

// scanTags walks the start tags of an HTML document and calls fn with each
// tag's lower-case name and attributes (entities decoded). It is a small
// tokenizer, enough for generated HTML: comments, doctypes and the raw text
// of script and style elements are skipped.
func scanTags(doc string, fn func(tag string, attrs [][2]string)) {
	i := 0
	for {
		lt := strings.IndexByte(doc[i:], '<')
		if lt < 0 {
			return
		}
		i += lt
		switch {
		case strings.HasPrefix(doc[i:], "<!--"):
			end := strings.Index(doc[i+4:], "-->")
			if end < 0 {
				return
			}
			i += 4 + end + 3
			continue
		case strings.HasPrefix(doc[i:], "<!"), strings.HasPrefix(doc[i:], "<?"), strings.HasPrefix(doc[i:], "</"):
			end := strings.IndexByte(doc[i:], '>')
			if end < 0 {
				return
			}
			i += end + 1
			continue
		}
		j := i + 1
		for j < len(doc) && (isNameByte(doc[j])) {
			j++
		}
		if j == i+1 { // a lone "<" in text
			i++
			continue
		}
		tag := strings.ToLower(doc[i+1 : j])
		attrs, end := scanAttrs(doc, j)
		fn(tag, attrs)
		i = end
		if tag == "script" || tag == "style" {
			close := strings.Index(strings.ToLower(doc[i:]), "</"+tag)
			if close < 0 {
				return
			}
			i += close
		}
	}
}

func isNameByte(c byte) bool {
	return c == '-' || c == ':' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// scanAttrs reads attributes from doc[i:] up to the end of the tag and
// returns them with the index just past the tag.
func scanAttrs(doc string, i int) ([][2]string, int) {
	var attrs [][2]string
	for i < len(doc) {
		for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r' || doc[i] == '/') {
			i++
		}
		if i >= len(doc) {
			break
		}
		if doc[i] == '>' {
			return attrs, i + 1
		}
		start := i
		for i < len(doc) && !strings.ContainsRune(" \t\r\n/>=", rune(doc[i])) {
			i++
		}
		name := strings.ToLower(doc[start:i])
		if name == "" { // stray byte: skip it
			i++
			continue
		}
		val := ""
		for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
			i++
		}
		if i < len(doc) && doc[i] == '=' {
			i++
			for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
				i++
			}
			if i < len(doc) && (doc[i] == '"' || doc[i] == '\'') {
				q := doc[i]
				end := strings.IndexByte(doc[i+1:], q)
				if end < 0 {
					return attrs, len(doc)
				}
				val = doc[i+1 : i+1+end]
				i += end + 2
			} else {
				s := i
				for i < len(doc) && !strings.ContainsRune(" \t\r\n>", rune(doc[i])) {
					i++
				}
				val = doc[s:i]
			}
		}
		attrs = append(attrs, [2]string{name, html.UnescapeString(val)})
	}
	return attrs, len(doc)
}

var cssURLRE = regexp.MustCompile(`url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)|@import\s+(?:"([^"]*)"|'([^']*)')`)

// cssRefs returns the url() and @import references of a style sheet.
func cssRefs(css string) []string {
	var out []string
	for _, m := range cssURLRE.FindAllStringSubmatch(css, -1) {
		for _, g := range m[1:] {
			if g != "" {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// collectRefs reads every HTML, SVG and CSS file under root and returns
// their references and the ids each HTML file defines.
func collectRefs(root string) ([]siteRef, siteIDs, error) {
	var refs []siteRef
	ids := siteIDs{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		ext := strings.ToLower(path.Ext(rel))
		if ext != ".html" && ext != ".htm" && ext != ".svg" && ext != ".css" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		doc := string(b)
		if ext == ".css" {
			for _, u := range cssRefs(doc) {
				refs = append(refs, siteRef{rel, "url()", u})
			}
			return nil
		}
		own := map[string]bool{}
		ids[rel] = own
		scanTags(doc, func(tag string, attrs [][2]string) {
			for _, a := range attrs {
				switch a[0] {
				case "id":
					own[a[1]] = true
				case "name":
					if tag == "a" {
						own[a[1]] = true
					}
				case "href", "src", "xlink:href", "action", "formaction", "poster", "data", "cite", "background":
					refs = append(refs, siteRef{rel, a[0], a[1]})
				case "srcset":
					for _, part := range strings.Split(a[1], ",") {
						if f := strings.Fields(part); len(f) > 0 {
							refs = append(refs, siteRef{rel, a[0], f[0]})
						}
					}
				case "style":
					for _, u := range cssRefs(a[1]) {
						refs = append(refs, siteRef{rel, "style url()", u})
					}
				}
			}
		})
		// Inline style sheets: their text is skipped by scanTags.
		for _, m := range regexp.MustCompile(`(?is)<style[^>]*>(.*?)</style`).FindAllStringSubmatch(doc, -1) {
			for _, u := range cssRefs(m[1]) {
				refs = append(refs, siteRef{rel, "style url()", u})
			}
		}
		return nil
	})
	return refs, ids, err
}

// checkLinks returns every reference under root that points outside the
// site or to nothing inside it. Allowed: relative paths to files of the
// site (a directory means its index.html), fragments naming an id of the
// target page, and data: URLs.
func checkLinks(root string) ([]string, int, error) {
	refs, ids, err := collectRefs(root)
	if err != nil {
		return nil, 0, err
	}
	var bad []string
	for _, r := range refs {
		if msg := checkRef(root, ids, r); msg != "" {
			bad = append(bad, fmt.Sprintf("%s: %s=%q: %s", r.file, r.attr, r.value, msg))
		}
	}
	sort.Strings(bad)
	return bad, len(refs), nil
}

func checkRef(root string, ids siteIDs, r siteRef) string {
	v := strings.TrimSpace(r.value)
	low := strings.ToLower(v)
	switch {
	case v == "":
		return "empty reference"
	case strings.HasPrefix(low, "data:"):
		return ""
	case strings.HasPrefix(v, "//"):
		return "an absolute external URL (scheme-relative)"
	}
	u, err := url.Parse(v)
	if err != nil {
		return "not a URL: " + err.Error()
	}
	if u.Scheme != "" {
		if u.Scheme == "http" || u.Scheme == "https" {
			return "an absolute external URL"
		}
		return "a URL with scheme " + u.Scheme + ": the site may only link to its own files"
	}
	if u.Host != "" {
		return "an absolute external URL"
	}
	target := r.file
	if u.Path != "" {
		if strings.HasPrefix(u.Path, "/") {
			return "a root-relative path: it breaks from file://"
		}
		target = path.Clean(path.Join(path.Dir(r.file), u.Path))
		if target == ".." || strings.HasPrefix(target, "../") {
			return "points outside out/site/"
		}
		fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(target)))
		if err != nil {
			return "no such file in the site (" + target + ")"
		}
		if fi.IsDir() {
			target = path.Join(target, "index.html")
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); err != nil {
				return "a directory without index.html (" + target + ")"
			}
		}
	}
	if u.Fragment != "" {
		own, isHTML := ids[target]
		if isHTML && !own[u.Fragment] {
			return "no element with id " + strconvQuote(u.Fragment) + " in " + target
		}
	}
	return ""
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// siteSize returns the total size of the files under root.
func siteSize(root string) (int64, int, error) {
	var total int64
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		total += fi.Size()
		n++
		return nil
	})
	return total, n, err
}

// privateValue is one sensitive value of the sample, and where it came
// from (for the failure message, which never shows the value itself).
type privateValue struct {
	value string
	field string
	where string // file:line and record key
}

// placeholders are "no value" answers of the form, not data.
var placeholders = map[string]bool{
	"none": true, "n/a": true, "na": true, "no": true, "yes": true, "nil": true, "null": true,
	"unknown": true, "-": true, "--": true, "nothing": true, "no allergies": true,
}

// minValueRunes: shorter values (e.g. "Ivy", "Soy") are common words or
// parts of words, and match by chance.
const minValueRunes = 4

// sensitiveValues reads the registration export of the workspace ws and
// returns the values of its sensitive fields worth searching for.
//
// Rule: a value is searched for when, trimmed, it has at least
// minValueRunes characters, is not a placeholder ("None", "N/A"...), and
// fewer than min_cell registrations (config/privacy.toml, the small-cell
// threshold) give it for that field: a value that many people share (a
// common first name, "Peanuts", "Gluten free") singles nobody out and is a
// legitimate category label on the site. Full names ("First Last",
// "Preferred Last", the emergency contact) are searched for as such, so
// that a common first or last name is still covered in combination. The
// values that patches add or set for sensitive fields (walk-ins) are
// searched for too. A value that occurs in the event's non-private
// sources (config/, inputs/program.csv, the program patches,
// pipeline.toml: bethel names, cities, session titles, rooms) is public
// vocabulary the site shows by right, such as a preferred name "Willow"
// and the bethel "Willow Bend", and is not searched for alone.
func sensitiveValues(ws string) ([]privateValue, error) {
	var privacy struct {
		Sensitive []string
		MinCell   int `toml:"min_cell"`
	}
	if _, err := toml.DecodeFile(filepath.Join(ws, "config", "privacy.toml"), &privacy); err != nil {
		return nil, err
	}
	if privacy.MinCell <= 0 {
		privacy.MinCell = 5
	}
	var decl struct {
		Fields []struct {
			Name      string   `toml:"name"`
			Headers   []string `toml:"headers"`
			Sensitive bool     `toml:"sensitive"`
		} `toml:"fields"`
	}
	if _, err := toml.DecodeFile(filepath.Join(ws, "config", "fields.toml"), &decl); err != nil {
		return nil, err
	}
	byHeader := map[string]string{}
	sensitive := map[string]bool{}
	for _, f := range decl.Fields {
		for _, h := range f.Headers {
			byHeader[strings.ToLower(strings.TrimSpace(h))] = f.Name
		}
		if f.Sensitive {
			sensitive[f.Name] = true
			privacy.Sensitive = append(privacy.Sensitive, f.Name)
		}
	}
	if len(privacy.Sensitive) == 0 {
		return nil, fmt.Errorf("config/fields.toml declares no sensitive fields")
	}
	header, rows, err := readCSV(filepath.Join(ws, "inputs", "registrations.csv"))
	if err != nil {
		return nil, err
	}
	field := make([]string, len(header))
	for i, h := range header {
		field[i] = byHeader[strings.ToLower(strings.TrimSpace(h))]
	}
	var found []string
	for _, f := range field {
		if sensitive[f] {
			found = append(found, f)
		}
	}
	if len(found) < len(privacy.Sensitive) {
		return nil, fmt.Errorf("only %v of the sensitive fields %v are columns of inputs/registrations.csv", found, privacy.Sensitive)
	}

	type rec = map[string]string
	var recs []rec
	var places []string
	for n, row := range rows {
		r := rec{}
		for i, v := range row {
			if i < len(field) && field[i] != "" {
				r[field[i]] = strings.TrimSpace(v)
			}
		}
		recs = append(recs, r)
		places = append(places, fmt.Sprintf("inputs/registrations.csv:%d (%s)", n+2, r["registration_id"]))
	}
	patchRecs, patchPlaces, err := patchValues(ws, sensitive)
	if err != nil {
		return nil, err
	}
	recs = append(recs, patchRecs...)
	places = append(places, patchPlaces...)

	// Composite values: full names.
	for _, r := range recs {
		if r["last_name"] != "" {
			if r["first_name"] != "" {
				r["first_name+last_name"] = r["first_name"] + " " + r["last_name"]
			}
			if r["preferred_name"] != "" {
				r["preferred_name+last_name"] = r["preferred_name"] + " " + r["last_name"]
			}
		}
	}
	fields := append([]string{"first_name+last_name", "preferred_name+last_name"}, privacy.Sensitive...)

	vocabulary, err := publicVocabulary(ws)
	if err != nil {
		return nil, err
	}
	var out []privateValue
	for _, f := range fields {
		uses := map[string]int{}
		for _, r := range recs {
			uses[strings.ToLower(r[f])]++
		}
		seen := map[string]bool{}
		for i, r := range recs {
			v := r[f]
			k := strings.ToLower(v)
			if seen[k] || utf8.RuneCountInString(v) < minValueRunes || placeholders[k] || uses[k] >= privacy.MinCell ||
				strings.Contains(vocabulary, k) {
				continue
			}
			seen[k] = true
			out = append(out, privateValue{value: v, field: f, where: places[i]})
		}
	}
	return out, nil
}

// publicVocabulary returns the text of the workspace's non-private
// sources, lower-cased.
func publicVocabulary(ws string) (string, error) {
	var files []string
	for _, g := range []string{"config/*", "inputs/program.csv", "patches/program/*.toml", "pipeline.toml"} {
		m, err := filepath.Glob(filepath.Join(ws, filepath.FromSlash(g)))
		if err != nil {
			return "", err
		}
		files = append(files, m...)
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		b.Write(bytes.ToLower(data))
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// patchValues returns the sensitive fields that patches add or set, as
// records, with their places.
func patchValues(ws string, sensitive map[string]bool) ([]map[string]string, []string, error) {
	files, err := filepath.Glob(filepath.Join(ws, "patches", "*", "*.toml"))
	if err != nil {
		return nil, nil, err
	}
	var recs []map[string]string
	var places []string
	for _, f := range files {
		var doc struct {
			Patch []struct {
				ID  string         `toml:"id"`
				Set map[string]any `toml:"set"`
				Add map[string]any `toml:"add"`
			} `toml:"patch"`
		}
		if _, err := toml.DecodeFile(f, &doc); err != nil {
			return nil, nil, err
		}
		rel, _ := filepath.Rel(ws, f)
		for _, p := range doc.Patch {
			r := map[string]string{}
			for _, m := range []map[string]any{p.Set, p.Add} {
				for k, v := range m {
					if s, ok := v.(string); ok && (sensitive[k] || k == "registration_id") {
						r[k] = strings.TrimSpace(s)
					}
				}
			}
			if len(r) > 0 {
				recs = append(recs, r)
				places = append(places, fmt.Sprintf("%s (patch %s)", filepath.ToSlash(rel), p.ID))
			}
		}
	}
	return recs, places, nil
}

// encodings returns the forms a value can take in a generated file: as
// is, HTML-escaped, and inside a JSON string; all lower-cased.
func encodings(v string) []string {
	forms := []string{strings.ToLower(v)}
	if e := html.EscapeString(v); e != v {
		forms = append(forms, strings.ToLower(e))
	}
	j, _ := json.Marshal(v)
	if js := string(j[1 : len(j)-1]); js != v {
		forms = append(forms, strings.ToLower(js))
	}
	return forms
}

// findPrivate returns, for every file under root that holds one of the
// values, which field of which record leaks where. It never returns the
// values themselves. A value counts where it is a whole word (see
// wordAt). Every value has at least minValueRunes characters,
// so the files are scanned once, looking up each 4-byte window in an index
// of the values' first 4 bytes (thousands of values, one pass per file).
func findPrivate(root string, values []privateValue) ([]string, error) {
	var forms [][]byte
	var owner []int
	index := map[uint32][]int{}
	for i, v := range values {
		for _, f := range encodings(v.value) {
			if len(f) < 4 {
				continue
			}
			index[prefix4([]byte(f))] = append(index[prefix4([]byte(f))], len(forms))
			forms = append(forms, []byte(f))
			owner = append(owner, i)
		}
	}
	var leaks []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		low := bytes.ToLower(b)
		rel, _ := filepath.Rel(root, p)
		found := map[int]bool{}
		for j := 0; j+4 <= len(low); j++ {
			for _, k := range index[prefix4(low[j:])] {
				if v := owner[k]; !found[v] && bytes.HasPrefix(low[j:], forms[k]) && wordAt(low, j, j+len(forms[k])) {
					found[v] = true
					leaks = append(leaks, fmt.Sprintf("%s at byte %d holds the %s of %s", filepath.ToSlash(rel), j, values[v].field, values[v].where))
				}
			}
		}
		return nil
	})
	return leaks, err
}

// wordAt reports whether b[i:j] is a whole word: no letter or digit
// right before or after it ("Ella" is not in "cancellations"). A byte of
// a multi-byte UTF-8 character counts as a letter.
func wordAt(b []byte, i, j int) bool {
	isWord := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
	}
	return (i == 0 || !isWord(b[i-1])) && (j == len(b) || !isWord(b[j]))
}

func prefix4(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
