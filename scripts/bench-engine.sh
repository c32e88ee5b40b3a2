#!/usr/bin/env bash
# Engine benchmark: bethel make side by side with GNU make (-r) and ninja on
# the same generated layered pipelines of tiny cat/wc command nodes, in the
# same run: a full build, a no-op, a touch of every source (content decides:
# nothing reruns), and one changed source (about a tenth of the nodes
# rerun); then bethel's start-up against an empty Go program. Run by `make
# bench`; docs/engine.md (Performance) says what the columns mean.
#
#   scripts/bench-engine.sh [SIZE...]     RUNS=5 JOBS=2 by default; sizes 1000 5000
#   BASE=<commit> scripts/bench-engine.sh also measures bethel built at that
#                                         commit, in the same run (before/after)
#
# Installs nothing: without make or ninja it says how to get them and skips.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v make >/dev/null || missing+=(make)
command -v ninja >/dev/null || missing+=(ninja-build)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-engine: skipped: needs GNU make and ninja for the comparison."
  echo "  On Debian or Ubuntu: sudo apt-get install ${missing[*]}"
  exit 0
fi

RUNS=${RUNS:-5}
JOBS=${JOBS:-2}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 5000)

tmp=$(mktemp -d)
cleanup() {
  [ -d "$tmp/base" ] && git worktree remove --force "$tmp/base" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
# Each bethel is built the way its own Makefile builds it.
make -s build BETHEL="$tmp/bethel" >/dev/null
go build -o "$tmp/benchgen" ./pkg/graph/graphtest/benchgen
mkdir "$tmp/empty"
printf 'package main\n\nfunc main() {}\n' > "$tmp/empty/main.go"
(cd "$tmp/empty" && GO111MODULE=off go build -o "$tmp/empty-go" main.go)
bethels=(bethel)
if [ -n "${BASE:-}" ]; then
  git worktree add --detach "$tmp/base" "$BASE" >/dev/null 2>&1
  make -s -C "$tmp/base" build BETHEL="$tmp/bethel-base" >/dev/null
  bethels+=(bethel-base)
fi

echo "bethel $("$tmp/bethel" version | cut -d' ' -f2)${BASE:+ (bethel-base: $BASE)}, $(make --version | head -1), ninja $(ninja --version); $(nproc) CPUs; -j $JOBS; medians of $RUNS runs"
echo
printf '%-6s %-12s %9s %9s %9s %6s %9s %6s %6s\n' nodes tool "full ms" "noop ms" "touch ms" cmds "change ms" cmds "noop#"
for n in "${sizes[@]}"; do
  for b in "${bethels[@]}"; do
    "$tmp/benchgen" bench -n "$n" -tool bethel -label "$b" -bethel "$tmp/$b" -runs "$RUNS" -j "$JOBS"
  done
  for t in ninja make; do
    "$tmp/benchgen" bench -n "$n" -tool "$t" -runs "$RUNS" -j "$JOBS"
  done
done

echo
echo "Per-node overhead of a -j 1 full build beyond the commands themselves (each command run"
echo "alone with /bin/sh -c from Go, as bethel runs it); runs of the tools interleaved, medians:"
if [ -n "${BASE:-}" ]; then
  printf '%-6s %9s %9s %9s %9s %12s %12s %12s\n' nodes "cmds ms" "bethel ms" "base ms" "ninja ms" "bethel ms/n" "base ms/n" "ninja ms/n"
else
  printf '%-6s %9s %9s %9s %12s %12s\n' nodes "cmds ms" "bethel ms" "ninja ms" "bethel ms/n" "ninja ms/n"
fi
for n in "${sizes[@]}"; do
  [ "$n" -le 1000 ] || continue
  "$tmp/benchgen" overhead -n "$n" -bethel "$tmp/bethel" ${BASE:+-base "$tmp/bethel-base"} -runs "$RUNS"
done

echo
echo "Start-up against an empty Go program, and bethel make on the up-to-date sample event:"
for b in "${bethels[@]}"; do
  "$tmp/benchgen" time -runs 21 -ref "$tmp/empty-go" -- "$tmp/$b" version
done
if [ -f pipeline.toml ]; then
  mkdir -p "$tmp/sample"
  cp -r pipeline.toml inputs config patches "$tmp/sample/" 2>/dev/null || true
  (cd "$tmp/sample" && "$tmp/bethel" make >/dev/null 2>&1 && sleep 0.1 && "$tmp/bethel" make >/dev/null 2>&1)
  "$tmp/benchgen" time -runs 21 -dir "$tmp/sample" -- "$tmp/bethel" make
  echo
  echo "The collector setting bethel makes (GOGC=300 unless GOGC is set), on a full build of the sample:"
  "$tmp/benchgen" time -runs 15 -dir "$tmp/sample" -prep "rm -rf out .bethel" -ref "env GOGC=100 $tmp/bethel make" -- "$tmp/bethel" make
fi
