#!/usr/bin/env bash
# bench-stages.sh: the sample pipeline (every built-in stage, run by the
# real `bethel make`) on generated registrations.
#
# Cases:
#   full N      a cold build (no out/, no .bethel/) of N generated rows
#   patch 100k  after a full build, one new registrations patch file (one
#               record's tshirt_size and first name): the registrations node
#               and every node downstream of its changed output rerun
# Each case reports wall seconds, CPU seconds (user+sys: on a loaded
# machine wall time says more about the neighbours than about bethel) and
# peak RSS from /usr/bin/time -v.
#
# Workspaces: cmd/bethel-sample -rows N -seed 1 writes an export with its
# matching config/ and patches/registrations; seed 1 keeps the sample's
# bethels, so the sample's program, schedule, lock and program patches
# apply unchanged.
#
#   bash scripts/bench-stages.sh                  # SIZES="100000 1000000" RUNS=3 MEMLIMIT=900MiB
#
# The million-row build is measured twice: as is, and with GOMEMLIMIT set
# to MEMLIMIT (a soft limit: the garbage collector works harder near it
# instead of letting the heap double; see the report in docs/stages.md).
#
# Targets (issue 3): 100,000 rows under 2 s; the one-patch rebuild under
# 0.5 s; 1,000,000 rows under 15 s with peak RSS under 1 GiB.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
SIZES=${SIZES:-100000 1000000}
RUNS=${RUNS:-3}
MEMLIMIT=${MEMLIMIT:-900MiB}
export BETHEL_DEBUG=

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

timer=/usr/bin/time
if ! [ -x "$timer" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "installing GNU time for peak memory ..." >&2
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time) >/dev/null 2>&1 || true
	fi
fi
if ! [ -x "$timer" ]; then
	echo "bench-stages: /usr/bin/time is missing (apt-get install time); peak memory is not measured" >&2
	timer=
fi

go build -o "$tmp/bethel" ./cmd/bethel
go build -o "$tmp/bethel-sample" ./cmd/bethel-sample

. "$repo/scripts/sample-workspace.sh"

# measure DIR: one `bethel make`; prints "wall cpu rss_mib".
measure() {
	local dir=$1 out="$tmp/time.out"
	if [ -n "$timer" ]; then
		if ! "$timer" -v "$tmp/bethel" make -C "$dir" >"$tmp/make.out" 2>"$out"; then
			cat "$tmp/make.out" "$out" >&2
			echo "bench-stages: the build failed" >&2
			exit 1
		fi
		awk -F': ' '
			/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
			/User time/   { u = $2 }
			/System time/ { s = $2 }
			/Maximum resident/ { r = $2 }
			END { printf "%.2f %.2f %.0f\n", w, u + s, r / 1024 }' "$out"
	else
		local t0 t1
		t0=$(date +%s.%N)
		"$tmp/bethel" make -C "$dir" >"$tmp/make.out" 2>&1 || { cat "$tmp/make.out" >&2; exit 1; }
		t1=$(date +%s.%N)
		echo "$(echo "$t1 - $t0" | bc) - -"
	fi
}

printf "%-12s %10s %10s %10s   %s\n" case wall_s cpu_s rss_mib target
for n in $SIZES; do
	dir="$tmp/ws-$n"
	workspace "$n" "$dir"
	runs=$RUNS
	[ "$n" -ge 1000000 ] && runs=1
	for i in $(seq "$runs"); do
		rm -rf "$dir/out" "$dir/.bethel"
		measure "$dir"
	done | median | {
		read -r wall cpu rss
		target="< 2 s"
		[ "$n" -ge 1000000 ] && target="< 15 s, < 1024 MiB"
		printf "%-12s %10s %10s %10s   %s\n" "full $n" "$wall" "$cpu" "$rss" "$target"
	}
	if [ "$n" -ge 1000000 ] && [ -n "$MEMLIMIT" ]; then
		rm -rf "$dir/out" "$dir/.bethel"
		GOMEMLIMIT=$MEMLIMIT measure "$dir" | {
			read -r wall cpu rss
			printf "%-12s %10s %10s %10s   %s\n" "full $n *" "$wall" "$cpu" "$rss" "* GOMEMLIMIT=$MEMLIMIT"
		}
	fi
	if [ "$n" = 100000 ]; then
		id=$(awk -F, 'NR == 2 { print $1; exit }' "$dir/inputs/registrations.csv" | tr -d '\357\273\277')
		for i in $(seq "$RUNS"); do
			# A new patch file each time, so that every run really rebuilds.
			size=$(echo "S M L XL 2XL" | cut -d' ' -f$((i % 5 + 1)))
			# The name too, so that the registrations table is new content
			# even when the size is the record's own (which would let the
			# engine restore everything downstream from the cache).
			cat >"$dir/patches/registrations/99-bench-$i.toml" <<-TOML
				[[patch]]
				id     = "bench-$i"
				target = "registrations"
				match  = { registration_id = "$id" }
				set    = { tshirt_size = "$size", first_name = "Bench$i-$$" }
				reason = "benchmark: one patch"
			TOML
			measure "$dir"
			rm -f "$dir/patches/registrations/99-bench-$i.toml"
			"$tmp/bethel" make -C "$dir" >/dev/null 2>&1
		done | median | {
			read -r wall cpu rss
			printf "%-12s %10s %10s %10s   %s\n" "patch 100k" "$wall" "$cpu" "$rss" "< 0.5 s"
		}
	fi
	rm -rf "$dir"
done
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
