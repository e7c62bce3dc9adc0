#!/usr/bin/env bash
# Calendars and contacts: Postern against Radicale, same client (bench/dav_client.py, one
# kept-alive connection), same run, alternating rounds on fresh data each time; prints
# medians and ratios. Loopback, plain HTTP. Needs root the first time (apt-get install
# radicale).
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${EVENTS:-2000}
ROUNDS=${ROUNDS:-3}
RADICALE_PORT=${RADICALE_PORT:-25232}
POSTERN_PORT=${POSTERN_PORT:-25233}
DOVECOT_PORT=unused

. bench/peers.sh

run_radicale() { # round -> timings
    start_radicale "$work/radicale-$1"
    python3 bench/dav_client.py "$RADICALE_PORT" /alice@example.test/bench/ \
        /alice@example.test/contacts/ "$EVENTS"
    kill "$radicale_pid"
    wait "$radicale_pid" 2>/dev/null || true
}

run_postern() { # round -> timings
    rm -rf "$work/postern"
    start_postern http
    python3 bench/dav_client.py "$POSTERN_PORT" /dav/calendars/alice@example.test/bench/ \
        /dav/addressbooks/alice@example.test/contacts/ "$EVENTS"
    kill "$postern_pid"
    wait "$postern_pid" 2>/dev/null || true
    postern_pid=
}

for round in $(seq "$ROUNDS"); do
    echo "round $round" >&2
    run_radicale "$round" | sed 's/^/radicale /' >>"$work/times"
    run_postern | sed 's/^/postern /' >>"$work/times"
done

echo "$EVENTS events and $EVENTS vCards, medians of $ROUNDS rounds (seconds):"
printf '%-18s %10s %10s %8s\n' what Postern Radicale ratio
for what in put_events put_cards propfind_depth1 query_month multiget_200 sync_from_empty; do
    p=$(awk -v w="$what" '$1 == "postern" && $2 == w {print $3}' "$work/times" | median)
    r=$(awk -v w="$what" '$1 == "radicale" && $2 == w {print $3}' "$work/times" | median)
    printf '%-18s %10s %10s %7.1fx\n' "$what" "$p" "$r" "$(awk -v r="$r" -v p="$p" 'BEGIN {print r / p}')"
done
