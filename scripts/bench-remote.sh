#!/usr/bin/env bash
# bench-remote.sh: a new member's first build, restoring from the shared
# cache, against a full local build, on the sample pipeline over N
# generated registrations, in one run.
#
# Cases (each on a fresh clone: no out/, no .bethel/):
#   local       a full build without the shared cache
#   upload      a full build that also uploads everything (private nodes
#               encrypted to the team's recipient); make waits for the uploads
#   remote      the same clone's state wiped, built again with the shared
#               cache and the team identity: every node restored
#   remote-noid the same without an identity: the private nodes run, the
#               rest is restored
# The server is Debian's nginx with WebDAV on a loopback port, as in the
# tests. Each case reports the median over RUNS runs of the wall seconds
# and of the CPU seconds (user+sys) of bethel: on a loaded machine the wall
# time says more about the neighbours than about bethel.
#
#   bash scripts/bench-remote.sh          # ROWS=100000 RUNS=5
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
ROWS=${ROWS:-100000}
RUNS=${RUNS:-5}
export BETHEL_DEBUG= BETHEL_REMOTE_CACHE= NETRC=/dev/null

if ! [ -x /usr/bin/time ]; then
	echo "bench-remote: /usr/bin/time is missing (Debian: apt-get install time)" >&2
	exit 1
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if ! [ -x "$nginx_bin" ]; then
	echo "bench-remote: nginx is missing (Debian: apt-get install nginx); skipped" >&2
	exit 0
fi

tmp=$(mktemp -d)
srv=$tmp/server
cleanup() {
	if [ -f "$srv/nginx.pid" ]; then kill "$(cat "$srv/nginx.pid")" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/bethel" ./cmd/bethel
go build -o "$tmp/bethel-sample" ./cmd/bethel-sample
. "$repo/scripts/sample-workspace.sh"

# The server: nginx storing under $srv/data.
port=$((20000 + RANDOM % 20000))
mkdir -p "$srv/data" "$srv/tmp"
user=
if [ "$(id -u)" = 0 ]; then user="user root;"; fi
cat >"$srv/nginx.conf" <<CONF
daemon on;
worker_processes 2;
pid $srv/nginx.pid;
error_log $srv/error.log;
$user
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $srv/tmp/body; proxy_temp_path $srv/tmp/proxy;
  fastcgi_temp_path $srv/tmp/fastcgi; uwsgi_temp_path $srv/tmp/uwsgi; scgi_temp_path $srv/tmp/scgi;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:$port;
    root $srv/data;
    location / { dav_methods PUT; create_full_put_path on; dav_access user:rw; }
  }
}
CONF
"$nginx_bin" -p "$srv" -c "$srv/nginx.conf" -e "$srv/error.log"
url=http://127.0.0.1:$port/bethel

# The team: one identity, its recipient in the workspace.
id=$tmp/identity.txt
rec=$("$tmp/bethel" cache keygen -o "$id" 2>/dev/null)

base=$tmp/base
workspace "$ROWS" "$base"
# Field declarations the generator does not write yet come from the sample.
for f in "$repo"/config/*.toml; do
	[ -e "$base/config/$(basename "$f")" ] || cp "$f" "$base/config/"
done
printf '[remote_cache]\nrecipients = ["%s"]\n' "$rec" >"$base/config/remote-cache.toml"

# run NAME DIR ARGS...: one build of a fresh copy of the workspace; appends
# its wall seconds to $tmp/NAME.
run() {
	local name=$1 dir=$2
	shift 2
	rm -rf "$dir/out" "$dir/.bethel"
	if ! /usr/bin/time -f "%e %U %S" -o "$tmp/time.out" "$@" >"$tmp/make.out" 2>&1; then
		cat "$tmp/make.out" >&2
		echo "bench-remote: the $name build failed" >&2
		exit 1
	fi
	awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$tmp/time.out" >>"$tmp/$name"
	grep -q '0 failed' "$tmp/make.out" || { cat "$tmp/make.out" >&2; exit 1; }
}

for i in $(seq "$RUNS"); do
	rm -rf "$srv/data/bethel"
	for c in a b; do rm -rf "$tmp/$c"; cp -r "$base" "$tmp/$c"; done
	run local "$tmp/a" "$tmp/bethel" make -C "$tmp/a"
	run upload "$tmp/a" "$tmp/bethel" make -C "$tmp/a" --remote-cache "$url"
	run remote "$tmp/b" env BETHEL_IDENTITY="$id" "$tmp/bethel" make -C "$tmp/b" --remote-cache "$url"
	grep -q ' 0 ran' "$tmp/make.out" || { echo "bench-remote: the member with an identity ran nodes:" >&2; cat "$tmp/make.out" >&2; exit 1; }
	run remote-noid "$tmp/b" env XDG_CONFIG_HOME="$tmp/none" HOME="$tmp/none" "$tmp/bethel" make -C "$tmp/b" --remote-cache "$url"
done

median() { sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'; }
printf "%-12s %10s %10s   (%d rows, median of %d)\n" case wall_s cpu_s "$ROWS" "$RUNS"
for c in local upload remote remote-noid; do
	printf "%-12s %10s %10s\n" "$c" "$(cut -d' ' -f1 "$tmp/$c" | median)" "$(cut -d' ' -f2 "$tmp/$c" | median)"
done
echo "server: $(du -sh "$srv/data" | cut -f1) stored"
