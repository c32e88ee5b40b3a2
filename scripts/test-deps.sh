#!/usr/bin/env bash
# test-deps.sh: makes sure the tests can run here. The browser tests of the
# review site (test/browser) drive Debian's Chromium headless; when it is
# missing and this runs as root with apt-get (CI, a fresh machine), it is
# installed, quietly and with retries; otherwise this says how to get it.
# `make test` runs this first; .ci/run too (through make test).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

have_chromium() {
  local b
  if [ -n "${BETHEL_CHROMIUM:-}" ]; then
    [ -x "$BETHEL_CHROMIUM" ] && return 0
  fi
  for b in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$b" >/dev/null && return 0
  done
  return 1
}

if [ "${BETHEL_SKIP_BROWSER:-}" = 1 ] || have_chromium; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "test-deps: the browser tests need Chromium: install it (Debian: apt-get install chromium)," >&2
  echo "test-deps: name another binary with BETHEL_CHROMIUM=PATH, or skip them with BETHEL_SKIP_BROWSER=1" >&2
  exit 1
fi

# apt_quiet CMD...: run an apt command with its output kept in a log that is
# shown only when it fails for good. A mirror hiccup or a dpkg lock held by
# another updater is transient, so each command gets four tries.
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
apt_quiet() {
  local try
  for try in 1 2 3 4; do
    if "$@" -o Acquire::Retries=3 -o DPkg::Lock::Timeout=120 -o Dpkg::Use-Pty=0 >"$apt_log" 2>&1; then
      return 0
    fi
    echo "test-deps: '$*' failed (try $try of 4)" >&2
    if [ "$try" -lt 4 ]; then sleep $((try * 15)); fi
  done
  cat "$apt_log" >&2
  return 1
}

echo "test-deps: installing chromium for the browser tests"
apt_quiet apt-get update -q
apt_quiet apt-get install -y -q chromium
chromium --version 2>/dev/null || true
