#!/usr/bin/env bash
# System packages the test suite uses, from Debian:
# - chromium, for the HTML dashboard's browser tests;
# - prometheus, for the Grafana dashboard's test (a real Prometheus scrapes a running service and
#   answers every PromQL query of the dashboard);
# - wrk, the load generator of the service's benchmark (benchmarks/service_load.py).
# Without root (or apt-get) the tests that need them skip; under CI a missing package is an error.
set -euo pipefail

# command name -> Debian package
declare -A wanted=([chromium]=chromium [prometheus]=prometheus [wrk]=wrk)
declare -A why=(
    [chromium]="the browser tests"
    [prometheus]="the Grafana dashboard's Prometheus test"
    [wrk]="the wrk client of the service's load benchmark (its httpx client stays)"
)

missing=()
for command in "${!wanted[@]}"; do
    if ! command -v "$command" >/dev/null 2>&1; then
        missing+=("$command")
    fi
done
if [ "${#missing[@]}" = "0" ]; then
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    for command in "${missing[@]}"; do
        # --no-install-recommends: the prometheus package recommends its node exporter, which
        # the tests do not use. A package's service is not started (no init system in a
        # container); the tests run /usr/bin/prometheus themselves.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${wanted[$command]}" >/dev/null
    done
    exit 0
fi

status=0
for command in "${missing[@]}"; do
    if [ "${CI:-}" = "true" ]; then
        echo "error: ${wanted[$command]} is needed for ${why[$command]} and cannot be" \
             "installed here (needs root: apt-get install ${wanted[$command]})" >&2
        status=1
    else
        echo "warning: ${wanted[$command]} is not installed (needs root: apt-get install" \
             "${wanted[$command]}); ${why[$command]} will be skipped" >&2
    fi
done
exit "$status"
