#!/usr/bin/env bash
# A million client addresses against the running server: each of N SMTP conversations on
# the MX port comes from its own loopback address with its own sender, so every one is a new
# greylisting triplet and a new address for the per-address connection table. Prints
# Postern's RSS before, at its peak, right after and AFTER seconds later: the fixed-size
# tables keep it flat however many addresses come. Then HOLD connections from as many
# addresses are held open while one more client is served. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000000}
CONCURRENCY=${CONCURRENCY:-64}
AFTER=${AFTER:-30}
HOLD=${HOLD:-5000}
PORT=${PORT:-22525}

# shellcheck source=bench/lib.sh
. bench/lib.sh
scratch_postern "smtp=$PORT" "[security]
# Loopback stands for the internet: every address is a stranger to greylist.
trusted_networks = []
check_senders = false
[greylisting]
enabled = true"
echo "flood-password" | cli user add u0@example.test --password-stdin
serve_postern "$PORT"
# Warm up with the first 10,000 addresses, then measure from there.
python3 bench/flood.py "$PORT" 10000 "$CONCURRENCY" >/dev/null
echo "RSS after 10,000 addresses: $(rss VmRSS) KiB"
start=$(date +%s)
python3 bench/flood.py "$PORT" "$N" "$CONCURRENCY" 10000 "$pid"
echo "$N addresses in $(($(date +%s) - start)) s"
echo "peak RSS: $(rss VmHWM) KiB; right after: $(rss VmRSS) KiB"
sleep "$AFTER"
echo "$AFTER s later: $(rss VmRSS) KiB"
# The held connections need as many descriptors here (the server raises its own limit).
ulimit -n "$(ulimit -Hn)"
python3 bench/flood.py hold "$PORT" "$HOLD"
echo "RSS with $HOLD held: $(rss VmRSS) KiB"
