#!/usr/bin/env bash
# test-deps.sh: makes sure the tests can run here. The browser tests of the
# review site (test/browser) drive Debian's Chromium headless; the shared
# cache's tests (pkg/remote, cmd/bethel) run a real nginx with its WebDAV
# module; the workbook tests (pkg/stages) read .xlsx with Debian's
# python3-openpyxl. When one is missing and this runs as root with apt-get (CI, a
# fresh machine), it is installed, quietly and with retries; otherwise this
# says how to get it (without nginx the shared cache's tests are skipped).
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

have_nginx() {
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]
}

# have_openpyxl: a python3 that reads .xlsx workbooks, a reader other than
# the writer, for the tests that open the spreadsheets bethel writes.
have_openpyxl() {
  local py
  for py in /usr/bin/python3 python3; do
    "$py" -c 'import openpyxl' >/dev/null 2>&1 && return 0
  done
  return 1
}

need=()
if [ "${BETHEL_SKIP_BROWSER:-}" != 1 ] && ! have_chromium; then
  need+=(chromium)
fi
if [ "${BETHEL_SKIP_NGINX:-}" != 1 ] && ! have_nginx; then
  need+=(nginx)
fi
if [ "${BETHEL_SKIP_XLSX_READER:-}" != 1 ] && ! have_openpyxl; then
  need+=(python3-openpyxl)
fi
if [ ${#need[@]} = 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  for p in "${need[@]}"; do
    case $p in
    chromium)
      echo "test-deps: the browser tests need Chromium: install it (Debian: apt-get install chromium)," >&2
      echo "test-deps: name another binary with BETHEL_CHROMIUM=PATH, or skip them with BETHEL_SKIP_BROWSER=1" >&2
      ;;
    nginx)
      echo "test-deps: note: the shared cache tests need nginx with WebDAV (Debian: apt-get install nginx); they are skipped without it" >&2
      ;;
    python3-openpyxl)
      echo "test-deps: the workbook tests read .xlsx with openpyxl: install it (Debian: apt-get install python3-openpyxl)," >&2
      echo "test-deps: or skip them with BETHEL_SKIP_XLSX_READER=1" >&2
      ;;
    esac
  done
  case " ${need[*]} " in *" chromium "* | *" python3-openpyxl "*) exit 1 ;; esac
  exit 0
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

echo "test-deps: installing ${need[*]} for the tests"
# The tests start their own nginx on a loopback port; the package must not
# start the system's on port 80. A policy-rc.d that denies every start does
# that, unless the machine has its own.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=1
fi
trap 'rm -f "$apt_log"; if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi' EXIT
apt_quiet apt-get update -q
apt_quiet apt-get install -y -q "${need[@]}"
if [[ " ${need[*]} " == *" chromium "* ]]; then
  chromium --version 2>/dev/null || true
fi
