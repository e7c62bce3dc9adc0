#!/usr/bin/env bash
# Measures the SMTP foundation, side by side with Postfix's smtp-sink (the no-storage
# ceiling) in the same run:
#   - idle RSS of `postern serve` (smol and tokio builds)
#   - RSS with 1,000 open idle SMTP connections
#   - messages/second for 10,000 small messages over 50 connections, durability on
#   - stripped binary size
# Loopback only. Needs root for apt-get the first time (postfix provides smtp-source/sink).
set -euo pipefail
# The benchmarks' password, "secret" (the peers' too), is below the rules for new
# passwords; the servers started here inherit this.
export POSTERN_SECURITY_MIN_PASSWORD_LENGTH=6 POSTERN_SECURITY_REFUSE_GUESSABLE_PASSWORDS=false
cd "$(dirname "$0")/.."
. bench/lib.sh

MESSAGES=${MESSAGES:-10000}
SESSIONS=${SESSIONS:-50}
SIZE=${SIZE:-1024}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-1000}
ROUNDS=${ROUNDS:-3}

need_smtp_source

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 8192

[ -n "${SKIP_BUILD:-}" ] || {
    cargo build --release -p server --target-dir target/bench-smol >&2
    cargo build --release -p server --features tokio --target-dir target/bench-tokio >&2
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

start_postern() { # runtime port -> sets $postern_pid
    local bin="target/bench-$1/release/postern" dir="$work/$1"
    mkdir -p "$dir"
    cat >"$dir/postern.toml" <<TOML
hostname = "bench.test"
data_dir = "$dir/data"
[listen]
smtp = ["127.0.0.1:$2"]
submission = []
submissions = []
https = []
http = []
TOML
    "$bin" --config "$dir/postern.toml" serve >"$dir/out.log" 2>"$dir/err.log" &
    postern_pid=$!
    pids+=("$postern_pid")
    wait_for_postern "$dir/out.log"
    "$bin" --config "$dir/postern.toml" domain add example.test >/dev/null
    echo secret | "$bin" --config "$dir/postern.toml" user add alice@example.test --password-stdin >/dev/null
}

hold_idle() { # port count -> RSS while held (KiB) of pid $2
    python3 - "$1" "$IDLE_CONNECTIONS" <<'PY' &
import socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
conns = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.recv(512)
    conns.append(s)
print("held", file=sys.stderr, flush=True)
time.sleep(6)
PY
}

smtp-sink -u nobody 127.0.0.1:25999 2000 &
pids+=($!)
sleep 0.5

echo "runtime,idle_rss_kib,rss_1000_idle_kib,msgs_per_sec,sink_msgs_per_sec,stripped_bytes"
port=26000
for runtime in smol tokio; do
    port=$((port + 1))
    start_postern "$runtime" "$port"
    sleep 1
    idle=$(rss_kib "$postern_pid")
    hold_idle "$port"
    holder=$!
    sleep 4
    held=$(rss_kib "$postern_pid")
    wait "$holder" || true
    ours=() sink=()
    for _ in $(seq "$ROUNDS"); do
        ours+=("$(smtp_send "$port")")
        sink+=("$(smtp_send 25999)")
    done
    ours_s=$(printf '%s\n' "${ours[@]}" | median)
    sink_s=$(printf '%s\n' "${sink[@]}" | median)
    size=$(stat -c %s "target/bench-$runtime/release/postern")
    # Sanity check: every message was stored (the account's usage covers all rounds).
    "target/bench-$runtime/release/postern" --config "$work/$runtime/postern.toml" user list >&2
    printf '%s,%s,%s,%.0f,%.0f,%s\n' "$runtime" "$idle" "$held" \
        "$(echo "$MESSAGES / $ours_s" | bc -l)" "$(echo "$MESSAGES / $sink_s" | bc -l)" "$size"
    kill "$postern_pid"
    wait "$postern_pid" 2>/dev/null || true
done
