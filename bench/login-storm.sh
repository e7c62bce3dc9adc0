#!/usr/bin/env bash
# A storm of logins: CLIENTS IMAP clients connect and log in at once, spread over USERS
# accounts (every phone of a small team reconnecting after a restart). Prints how many
# succeeded, the time, Postern's peak RSS during the storm and its RSS right after and
# AFTER seconds later. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-2000}
USERS=${USERS:-10}
AFTER=${AFTER:-20}
PORT=${PORT:-22143}

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p server >&2
bin=${BIN:-target/release/postern}
work=$(mktemp -d)
trap '[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

cat >"$work/postern.toml" <<CONF
hostname = "mx.test"
data_dir = "$work/data"
[dns]
nameservers = []
[limits]
# Every load client is on loopback: one address holding thousands of connections.
max_connections_per_ip = 100000
[listen]
smtp = []
submission = []
submissions = []
pop3 = []
pop3s = []
imap = ["127.0.0.1:$PORT"]
imaps = []
https = []
http = []
[imap]
auth_without_tls = true
CONF
cli() { "$bin" --config "$work/postern.toml" "$@" >/dev/null; }
cli setup --non-interactive 2>/dev/null
cli domain add example.test
for u in $(seq 0 $((USERS - 1))); do
    echo "storm-password" | cli user add "u$u@example.test" --password-stdin
done
"$bin" --config "$work/postern.toml" serve >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
echo "idle RSS: $(rss VmRSS) KiB"

python3 bench/memory_load.py logins "$PORT" "$CLIENTS" "$USERS" storm-password
echo "peak RSS: $(rss VmHWM) KiB; right after: $(rss VmRSS) KiB"
sleep "$AFTER"
echo "$AFTER s later: $(rss VmRSS) KiB"
