#!/usr/bin/env bash
# bench-watch.sh: how fast `bethel watch` follows a save, and what it costs
# while idle.
#
# Latency is measured from just before a patch file is saved (written to a
# temporary and renamed over the file, as editors do) to the moment the
# watch prints its --json line for the rebuild, which it does after the
# build returned, i.e. after the last output was renamed into place. Each
# save changes a value the outputs depend on, plus a unique comment so that
# every edit is new content (nothing is merely restored from the cache).
#
# Cases: the sample event at the repository root, and the same workspace
# with 100,000 generated registrations (cmd/bethel-sample -export-only).
# Idle CPU: utime+stime of a watching process over IDLE seconds.
#
#   bash scripts/bench-watch.sh            # SAVES=40 IDLE=10 ROWS=100000
#
# Targets (issue 5): median under 100 ms on the sample, under 600 ms on
# 100,000 rows; idle CPU near zero.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
SAVES=${SAVES:-40}
IDLE=${IDLE:-10}
ROWS=${ROWS:-100000}
export BETHEL_DEBUG=

tmp=$(mktemp -d)
watch_pid=
cleanup() {
	if [ -n "$watch_pid" ]; then kill "$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/bethel" ./cmd/bethel
bethel=$tmp/bethel

# sample_workspace DIR: a copy of the sample event's sources.
sample_workspace() {
	mkdir -p "$1"
	for d in inputs config patches scripts; do
		[ -d "$repo/$d" ] && cp -r "$repo/$d" "$1/"
	done
	cp "$repo/pipeline.toml" "$1/"
}

# The edit: a patch file of its own, whose value alternates between two
# t-shirt sizes. The workspace's pipeline must glob patches/registrations/.
patch_file=patches/registrations/99-bench.toml
write_patch() { # DIR N
	local size=M
	[ $(($2 % 2)) -eq 1 ] && size=L
	cat >"$1/$patch_file.tmp.$$" <<EOF
# benchmark edit $2
[[patch]]
id     = "bench-size"
target = "registrations"
match  = { registration_id = "R-10001" }
set    = { tshirt_size = "$size" }
reason = "benchmark edit"
author = "bench"
date   = 2026-05-01
EOF
	mv "$1/$patch_file.tmp.$$" "$1/$patch_file"
}

# The fallback edit when the sample pipeline is not there yet: the
# command-node workspace of the watch tests.
fallback=0
if [ ! -f "$repo/pipeline.toml" ]; then
	fallback=1
	patch_file=patches/01-bob.txt
	write_patch() {
		printf '# benchmark edit %s\nbob=bob%s\n' "$2" "$2" >"$1/$patch_file.tmp.$$"
		mv "$1/$patch_file.tmp.$$" "$1/$patch_file"
	}
	sample_workspace() {
		mkdir -p "$1"
		cp -r "$repo/cmd/bethel/testdata/watch/." "$1/"
	}
fi

now_ms() { # EPOCHREALTIME without a fork
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# measure NAME DIR: SAVES timed saves against a running watch.
measure() {
	local name=$1 dir=$2 i line t0 t1
	write_patch "$dir" 0
	"$bethel" make -C "$dir" >/dev/null
	coproc WATCH { exec "$bethel" watch -C "$dir" --json 2>"$tmp/$name.stderr"; }
	watch_pid=$WATCH_PID
	local out=${WATCH[0]}
	read -r -t 120 line <&"$out" || { echo "watch did not start"; cat "$tmp/$name.stderr"; exit 1; }
	: >"$tmp/$name.ms"
	for i in $(seq 1 "$SAVES"); do
		t0=$(now_ms)
		write_patch "$dir" "$i"
		read -r -t 120 line <&"$out" || { echo "no rebuild after save $i"; cat "$tmp/$name.stderr"; exit 1; }
		t1=$(now_ms)
		case $line in
		*'"failed":[]'*) ;;
		*) echo "save $i: build failed: $line"; cat "$tmp/$name.stderr"; exit 1 ;;
		esac
		echo $((t1 - t0)) >>"$tmp/$name.ms"
	done
	kill -TERM "$watch_pid"; wait "$watch_pid" 2>/dev/null || true; watch_pid=
	sort -n "$tmp/$name.ms" | awk -v name="$name" -v n="$SAVES" '
		{ v[NR] = $1 }
		END {
			m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			p = int(0.95 * n + 0.999999); if (p < 1) p = 1
			printf "%-28s %6d saves   median %5d ms   p95 %5d ms   max %5d ms\n", name, n, m, v[p], v[n]
		}'
}

# idle_cpu DIR: CPU time a watching process uses while nothing changes.
idle_cpu() {
	local dir=$1 line a b hz
	coproc WATCH { exec "$bethel" watch -C "$dir" --json 2>/dev/null; }
	watch_pid=$WATCH_PID
	read -r -t 120 line <&"${WATCH[0]}"
	hz=$(getconf CLK_TCK)
	a=$(awk '{print $14 + $15}' "/proc/$watch_pid/stat")
	sleep "$IDLE"
	b=$(awk '{print $14 + $15}' "/proc/$watch_pid/stat")
	kill -TERM "$watch_pid"; wait "$watch_pid" 2>/dev/null || true; watch_pid=
	awk -v t=$((b - a)) -v hz="$hz" -v s="$IDLE" 'BEGIN {
		printf "%-28s %d ticks (%.0f ms CPU) in %d s idle = %.3f%% of one core\n", "idle watch", t, t * 1000 / hz, s, t * 100 / hz / s }'
}

echo "bethel watch: save-to-last-output latency ($(nproc) CPUs, $(uname -sr))"
sample_workspace "$tmp/sample"
if [ "$fallback" = 1 ]; then
	echo "note: no pipeline.toml at the repository root yet; measuring the watch tests' command-node workspace instead"
	measure "command-node workspace" "$tmp/sample"
else
	measure "sample event" "$tmp/sample"
	sample_workspace "$tmp/big"
	if go run ./cmd/bethel-sample -rows "$ROWS" -export-only -out "$tmp/big" >/dev/null 2>&1; then
		measure "$ROWS registrations" "$tmp/big"
	else
		echo "note: cmd/bethel-sample could not generate $ROWS rows; large case skipped"
	fi
fi
idle_cpu "$tmp/sample"
