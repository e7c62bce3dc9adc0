#!/usr/bin/env bash
# The web side's cost per request on one keep-alive connection over loopback: /health,
# /metrics (a scrape), the JSON API's user list, and the admin panel's dashboard and users
# page; then the server's resident memory. No peer serves these pages, so the figures
# stand alone. Usage: bash bench/web.sh [REQUESTS] (SKIP_BUILD=1 to use the last release
# build).
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-500}
POSTERN_PORT=${POSTERN_PORT:-18080}
DOVECOT_PORT=0
source bench/peers.sh

start_postern http
"$bin" --config "$work/postern.toml" user admin alice@example.test on >/dev/null
token=$("$bin" --config "$work/postern.toml" token create --admin --note bench | grep '^pst_')
python3 bench/web_client.py "$POSTERN_PORT" "$token" "$REQUESTS"
echo "resident memory after: $(awk '/VmRSS/ {print $2, $3}' "/proc/$postern_pid/status")"
