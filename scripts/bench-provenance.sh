#!/usr/bin/env bash
# bench-provenance.sh: what cell lineage costs, and how fast `bethel why`
# answers, on the sample pipeline over generated registrations.
#
# For each size N: a cold `bethel make` (no out/, no .bethel/) with lineage
# off (BETHEL_LINEAGE=off) and with lineage on, alternating, RUNS times
# each (medians; wall and CPU seconds); the lineage stored (the blobs the
# provenance records name) against the outputs (out/); then `bethel why`
# for one attendance cell and for the TOTAL cell (every active
# registration), WHYRUNS times each (median wall milliseconds, process
# start included).
#
#   bash scripts/bench-provenance.sh        # SIZES="100000 1000000" RUNS=3 WHYRUNS=11
#
# Targets (issue 4): lineage smaller than the outputs on disk and under
# 30% build-time overhead at 1,000,000 rows; why for one cell under 50 ms
# at 100,000 rows.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
SIZES=${SIZES:-100000 1000000}
RUNS=${RUNS:-3}
WHYRUNS=${WHYRUNS:-11}
export BETHEL_DEBUG=

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bethel" ./cmd/bethel
go build -o "$tmp/bethel-sample" ./cmd/bethel-sample

. "$repo/scripts/sample-workspace.sh"

now() { date +%s.%N; }

# build DIR MODE: a cold build; prints its wall seconds.
build() {
	local dir=$1 mode=$2 t0 t1
	rm -rf "$dir/out" "$dir/.bethel"
	t0=$(now)
	BETHEL_LINEAGE=$mode "$tmp/bethel" make -C "$dir" >/dev/null 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; echo "bench-provenance: build failed" >&2; exit 1; }
	t1=$(now)
	echo "$t1 - $t0" | bc
}

for n in $SIZES; do
	dir="$tmp/ws-$n"
	workspace "$n" "$dir"
	: >"$tmp/off" ; : >"$tmp/on"
	for r in $(seq "$RUNS"); do
		build "$dir" off >>"$tmp/off"
		build "$dir" on >>"$tmp/on"
	done
	off=$(median <"$tmp/off"); on=$(median <"$tmp/on")
	outb=$(du -sb "$dir/out" | cut -f1)
	linb=0
	for h in $(grep -rhoE '"lineage": "[0-9a-f]{64}"' "$dir/.bethel/provenance" | cut -d'"' -f4 | sort -u); do
		linb=$((linb + $(stat -c %s "$dir/.bethel/cache/blobs/${h:0:2}/$h")))
	done
	printf 'rows %s: cold build, lineage off %.2f s, on %.2f s (wall, median of %s): overhead %s%%\n' "$n" "$off" "$on" "$RUNS" \
		"$(echo "scale=1; ($on - $off) * 100 / $off" | bc)"
	printf 'rows %s: lineage %s bytes, outputs %s bytes (%s%%)\n' "$n" "$linb" "$outb" "$(echo "scale=1; $linb * 100 / $outb" | bc)"
	total=$(($(wc -l <"$dir/out/summary/attendance.csv") - 1))
	for target in "out/summary/attendance.csv:1:daughters" "out/summary/attendance.csv:$total:total"; do
		: >"$tmp/why"
		for r in $(seq "$WHYRUNS"); do
			t0=$(now)
			"$tmp/bethel" why -C "$dir" "$target" >/dev/null
			t1=$(now)
			echo "($t1 - $t0) * 1000" | bc >>"$tmp/why"
		done
		printf 'rows %s: bethel why %s: %.1f ms (median of %s)\n' "$n" "$target" "$(median <"$tmp/why")" "$WHYRUNS"
	done
done
