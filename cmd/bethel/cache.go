package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"bethel/pkg/remote"
)

func init() {
	register(&command{
		name:    "cache",
		summary: "shared cache tools: keygen makes this member's identity, push uploads the current outputs",
		run:     runCache,
	})
}

func runCache(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "push" {
		return runCachePush(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] != "keygen" {
		return usagef("cache: want a subcommand: keygen or push")
	}
	fs := flag.NewFlagSet("cache keygen", flag.ContinueOnError)
	def, _ := remote.IdentityFile()
	out := fs.String("o", def, "write the identity to `FILE` (default: $"+remote.IdentityEnv+", else the user's configuration directory)")
	fs.Usage = usageFunc(fs, "bethel cache keygen [-o FILE]",
		"Writes a new age X25519 identity (mode 0600; an existing one is never overwritten) and\n"+
			"prints its recipient: add that line to recipients in "+remote.WorkspaceFile+" so that the\n"+
			"team's private cache entries are encrypted to this member too. Keep the identity out of\n"+
			"every workspace.")
	rest, err := parseFlags(fs, env, args[1:])
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("cache keygen: unexpected argument %q", rest[0])
	}
	if *out == "" {
		return usagef("cache keygen: no configuration directory: give -o FILE")
	}
	path := *out
	if !filepath.IsAbs(path) && env.Dir != "" {
		path = filepath.Join(env.Dir, path)
	}
	if ws := enclosingWorkspace(filepath.Dir(path)); ws != "" {
		return usagef("cache keygen: %s is inside the workspace %s; an identity is a secret and belongs outside it", *out, ws)
	}
	rec, err := remote.Keygen(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "bethel: identity written to %s; add its recipient to recipients in %s:\n", *out, remote.WorkspaceFile)
	fmt.Fprintln(env.Stdout, rec)
	return nil
}

// enclosingWorkspace returns the nearest directory at or above dir holding
// a pipeline.toml, or "".
func enclosingWorkspace(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(abs, "pipeline.toml")); err == nil {
			return abs
		}
		up := filepath.Dir(abs)
		if up == abs {
			return ""
		}
		abs = up
	}
}
