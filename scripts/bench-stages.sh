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
#   BASE=REV bash scripts/bench-stages.sh         # also revision REV, case by case
#
# BASE=REV builds bethel and bethel-sample from revision REV too (a
# temporary git worktree) and measures both builds in the same run, each
# case for REV then for the working tree, so that both see the same
# machine. Each build gets a workspace made by its own revision's
# generator and sample config, which may differ in format.
#
# The million-row build is measured twice: as is, and with GOMEMLIMIT set
# to MEMLIMIT (a soft limit: the garbage collector works harder near it
# instead of letting the heap double; see the report in docs/stages.md).
#
# Targets: 100,000 rows under 2 s; the one-patch rebuild under
# 0.5 s; 1,000,000 rows under 15 s with peak RSS under 1 GiB.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
SIZES=${SIZES:-100000 1000000}
RUNS=${RUNS:-3}
MEMLIMIT=${MEMLIMIT:-900MiB}
export BETHEL_DEBUG=

tmp=$(mktemp -d)
cleanup() {
	if [ -d "$tmp/base-src" ]; then git worktree remove --force "$tmp/base-src"; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

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

# Each build under test is a directory $tmp/NAME holding its bethel and
# bethel-sample, and $tmp/NAME.src, the tree its workspaces come from.
builds=head
mkdir -p "$tmp/head"
go build -o "$tmp/head/bethel" ./cmd/bethel
go build -o "$tmp/head/bethel-sample" ./cmd/bethel-sample
echo "$repo" >"$tmp/head.src"
if [ -n "${BASE:-}" ]; then
	git worktree add --detach -q "$tmp/base-src" "$BASE"
	mkdir -p "$tmp/base"
	(cd "$tmp/base-src" && go build -o "$tmp/base/bethel" ./cmd/bethel && go build -o "$tmp/base/bethel-sample" ./cmd/bethel-sample)
	echo "$tmp/base-src" >"$tmp/base.src"
	builds="base head"
fi

# make_workspace BUILD N DIR: the sample workspace of N rows as BUILD's own
# tree and generator make it.
make_workspace() (
	repo=$(cat "$tmp/$1.src")
	tmp=$tmp/$1
	. "$repo/scripts/sample-workspace.sh"
	workspace "$2" "$3"
)

. "$repo/scripts/sample-workspace.sh" # median

# measure BUILD DIR: one `bethel make`; prints "wall cpu rss_mib".
measure() {
	local bethel="$tmp/$1/bethel" dir=$2 out="$tmp/time.out"
	if [ -n "$timer" ]; then
		if ! "$timer" -v "$bethel" make -C "$dir" >"$tmp/make.out" 2>"$out"; then
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
		"$bethel" make -C "$dir" >"$tmp/make.out" 2>&1 || { cat "$tmp/make.out" >&2; exit 1; }
		t1=$(date +%s.%N)
		echo "$(echo "$t1 - $t0" | bc) - -"
	fi
}

# bench_size BUILD N: the cases of size N for BUILD, one line each.
bench_size() {
	local b=$1 n=$2 dir="$tmp/ws-$1-$2" runs=$RUNS
	make_workspace "$b" "$n" "$dir"
	[ "$n" -ge 1000000 ] && runs=1
	for i in $(seq "$runs"); do
		rm -rf "$dir/out" "$dir/.bethel"
		measure "$b" "$dir"
	done | median | {
		read -r wall cpu rss
		target="< 2 s"
		[ "$n" -ge 1000000 ] && target="< 15 s, < 1024 MiB"
		printf "%-6s %-12s %10s %10s %10s   %s\n" "$b" "full $n" "$wall" "$cpu" "$rss" "$target"
	}
	if [ "$n" -ge 1000000 ] && [ -n "$MEMLIMIT" ]; then
		rm -rf "$dir/out" "$dir/.bethel"
		GOMEMLIMIT=$MEMLIMIT measure "$b" "$dir" | {
			read -r wall cpu rss
			printf "%-6s %-12s %10s %10s %10s   %s\n" "$b" "full $n *" "$wall" "$cpu" "$rss" "* GOMEMLIMIT=$MEMLIMIT"
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
			measure "$b" "$dir"
			rm -f "$dir/patches/registrations/99-bench-$i.toml"
			"$tmp/$b/bethel" make -C "$dir" >/dev/null 2>&1
		done | median | {
			read -r wall cpu rss
			printf "%-6s %-12s %10s %10s %10s   %s\n" "$b" "patch 100k" "$wall" "$cpu" "$rss" "< 0.5 s"
		}
	fi
	rm -rf "$dir"
}

printf "%-6s %-12s %10s %10s %10s   %s\n" build case wall_s cpu_s rss_mib target
for n in $SIZES; do
	for b in $builds; do
		bench_size "$b" "$n"
	done
done
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
