#!/usr/bin/env bash
# System packages the test suite uses: Debian's Chromium, for the HTML dashboard's browser tests.
# Without root (or apt-get) the browser tests skip; under CI a missing browser is an error.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    exit 0
fi
if [ "${CI:-}" = "true" ]; then
    echo "error: chromium is needed for the browser tests and cannot be installed here" >&2
    exit 1
fi
echo "warning: chromium is not installed (needs root: apt-get install chromium);" \
     "the browser tests will be skipped" >&2
