package remote

import (
	"strings"
)

// netrcEntry is one machine's login in ~/.netrc.
type netrcEntry struct {
	machine, login, password string
}

// parseNetrc reads the netrc format (tokens separated by any white space:
// machine NAME, default, login NAME, password WORD, account and macdef,
// which is skipped to its terminating blank line). An unknown token is
// skipped, so that a file written for other tools never fails a build.
func parseNetrc(text string) []netrcEntry {
	var (
		out []netrcEntry
		cur *netrcEntry
	)
	lines := strings.Split(text, "\n")
	var toks []string
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if f := strings.Fields(line); len(f) > 0 && f[0] == "macdef" {
			// A macro runs to the next empty line.
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				i++
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		toks = append(toks, strings.Fields(line)...)
	}
	for i := 0; i < len(toks); i++ {
		next := func() string {
			if i+1 < len(toks) {
				i++
				return toks[i]
			}
			return ""
		}
		switch toks[i] {
		case "machine":
			out = append(out, netrcEntry{machine: next()})
			cur = &out[len(out)-1]
		case "default":
			out = append(out, netrcEntry{machine: ""})
			cur = &out[len(out)-1]
		case "login":
			if v := next(); cur != nil {
				cur.login = v
			}
		case "password":
			if v := next(); cur != nil {
				cur.password = v
			}
		case "account":
			next()
		}
	}
	return out
}

// netrcLogin returns the login and password for host: its machine entry,
// else the default entry.
func netrcLogin(text, host string) (login, password string, ok bool) {
	var def *netrcEntry
	entries := parseNetrc(text)
	for i, e := range entries {
		if e.machine == host {
			return e.login, e.password, true
		}
		if e.machine == "" && def == nil {
			def = &entries[i]
		}
	}
	if def != nil {
		return def.login, def.password, true
	}
	return "", "", false
}
