#!/usr/bin/env bash
# A storm of logins: CLIENTS IMAP clients connect and log in at once, spread over USERS
# accounts (every phone of a small team reconnecting after a restart). Prints how many
# succeeded, the time, Postern's peak RSS during the storm, its RSS right after and AFTER
# seconds later, and the most argon2 verifications that ran at once. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-2000}
USERS=${USERS:-10}
AFTER=${AFTER:-20}
PORT=${PORT:-22143}
HTTP_PORT=${HTTP_PORT:-22180}

# shellcheck source=bench/lib.sh
. bench/lib.sh
scratch_postern "imap=$PORT http=$HTTP_PORT" "[limits]
# Every load client is on loopback: one address holding thousands of connections.
max_connections_per_ip = 100000
[imap]
auth_without_tls = true"
for u in $(seq 0 $((USERS - 1))); do
    echo "storm-password" | cli user add "u$u@example.test" --password-stdin
done
serve_postern "$PORT"
echo "idle RSS: $(rss VmRSS) KiB"

python3 bench/memory_load.py logins "$PORT" "$CLIENTS" "$USERS" storm-password
echo "peak RSS: $(rss VmHWM) KiB; right after: $(rss VmRSS) KiB"
sleep "$AFTER"
echo "$AFTER s later: $(rss VmRSS) KiB"
curl -s "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk '/^postern_password_verifications_running_max / {print "most argon2 verifications at once:", $2}'
