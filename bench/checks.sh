#!/usr/bin/env bash
# What the checks on mail from outside cost: MX messages/second with SPF, DKIM, ARC and
# DMARC on, against all off, in one run (same binary, same messages, loopback). Loopback
# is trusted by default, so both servers trust no network; DNS is answered from
# [dns.static] (SPF pass, a DMARC record), so the figure is the checks' CPU, not DNS
# latency. Greylisting is off in both.
#   BIN=target/release/postern MESSAGES=10000 SESSIONS=50 ROUNDS=3 bash bench/checks.sh
set -euo pipefail
# The benchmarks' password, "secret" (the peers' too), is below the rules for new
# passwords; the servers started here inherit this.
export POSTERN_SECURITY_MIN_PASSWORD_LENGTH=6 POSTERN_SECURITY_REFUSE_GUESSABLE_PASSWORDS=false
cd "$(dirname "$0")/.."
. bench/lib.sh

BIN=${BIN:-target/release/postern}
MESSAGES=${MESSAGES:-10000}
SESSIONS=${SESSIONS:-50}
SIZE=${SIZE:-4096}
ROUNDS=${ROUNDS:-3}

need_smtp_source
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p server >&2

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 8192

start_postern() { # name port check_senders -> sets $postern_pid
    local dir="$work/$1"
    mkdir -p "$dir"
    cat >"$dir/postern.toml" <<TOML
hostname = "bench.test"
data_dir = "$dir/data"
[listen]
smtp = ["127.0.0.1:$2"]
submission = []
submissions = []
pop3 = []
pop3s = []
imap = []
imaps = []
https = []
http = []
[security]
check_senders = $3
trusted_networks = []
[greylisting]
enabled = false
[dns]
nameservers = []
[dns.static]
"remote.test" = { txt = ["v=spf1 ip4:127.0.0.0/8 -all"] }
"_dmarc.remote.test" = { txt = ["v=DMARC1; p=reject"] }
"_dmarc.test" = {}
TOML
    "$BIN" --config "$dir/postern.toml" serve >"$dir/out.log" 2>"$dir/err.log" &
    postern_pid=$!
    pids+=("$postern_pid")
    wait_for_postern "$dir/out.log"
    "$BIN" --config "$dir/postern.toml" domain add example.test >/dev/null
    echo secret | "$BIN" --config "$dir/postern.toml" user add alice@example.test --password-stdin >/dev/null
}

start_postern on 26101 true
on_pid=$postern_pid
start_postern off 26102 false
off_pid=$postern_pid
on=() off=()
for _ in $(seq "$ROUNDS"); do
    on+=("$(smtp_send 26101)")
    off+=("$(smtp_send 26102)")
done
on_s=$(printf '%s\n' "${on[@]}" | median)
off_s=$(printf '%s\n' "${off[@]}" | median)
# Sanity check: every message of the "on" server was checked (SPF passed).
checked=$(grep -c 'spf=pass' "$work/on/err.log" || true)
echo "checks,msgs_per_sec,rss_kib_after,messages_checked"
printf 'on,%.0f,%s,%s\n' "$(echo "$MESSAGES / $on_s" | bc -l)" "$(awk '/VmRSS/ {print $2}' /proc/$on_pid/status)" "$checked"
printf 'off,%.0f,%s,0\n' "$(echo "$MESSAGES / $off_s" | bc -l)" "$(awk '/VmRSS/ {print $2}' /proc/$off_pid/status)"
