#!/usr/bin/env bash
# Engine benchmark: bethel make side by side with GNU make and ninja on the
# same generated layered pipelines of tiny cat/wc command nodes (100, 1000
# and 5000 nodes), in the same run. Run by `make bench`; see docs/engine.md
# (Performance) for what the columns mean and the figures measured.
#
#   scripts/bench-engine.sh [SIZE...]     RUNS=5 JOBS=2 by default
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
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 5000)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bethel" ./cmd/bethel
go build -o "$tmp/benchgen" ./pkg/graph/graphtest/benchgen

echo "bethel $("$tmp/bethel" version | cut -d' ' -f2), $(make --version | head -1), ninja $(ninja --version); $(nproc) CPUs; -j $JOBS; medians of $RUNS runs"
echo
printf '%-6s %-9s %9s %9s %9s %6s %9s %6s %6s\n' nodes tool "full ms" "noop ms" "touch ms" cmds "change ms" cmds "noop#"
for n in "${sizes[@]}"; do
  for t in bethel ninja make; do
    "$tmp/benchgen" bench -n "$n" -tool "$t" -bethel "$tmp/bethel" -runs "$RUNS" -j "$JOBS"
  done
done

echo
echo "Per-node overhead of a -j 1 full build beyond the commands themselves (each command run"
echo "alone with /bin/sh -c from Go, as bethel runs it); runs of the three interleaved, medians:"
printf '%-6s %9s %9s %9s %12s %12s\n' nodes "cmds ms" "bethel ms" "ninja ms" "bethel ms/n" "ninja ms/n"
for n in "${sizes[@]}"; do
  [ "$n" -le 1000 ] || continue
  "$tmp/benchgen" overhead -n "$n" -bethel "$tmp/bethel" -runs "$RUNS"
done

echo
echo "Start-up: bethel version, and bethel make on the up-to-date sample event (startup + load + no-op):"
"$tmp/benchgen" time -runs 21 -- "$tmp/bethel" version
if [ -f pipeline.toml ]; then
  mkdir -p "$tmp/sample"
  cp -r pipeline.toml inputs config patches "$tmp/sample/" 2>/dev/null || true
  (cd "$tmp/sample" && "$tmp/bethel" make >/dev/null 2>&1 && sleep 0.1 && "$tmp/bethel" make >/dev/null 2>&1)
  "$tmp/benchgen" time -runs 21 -dir "$tmp/sample" -- "$tmp/bethel" make
  (cd "$tmp/sample" && BETHEL_DEBUG=time "$tmp/bethel" make 2>&1 | sed 's/^/  /')
fi
