#!/usr/bin/env bash
# Sending, side by side with Postfix in the same run: MESSAGES messages received over SMTP,
# queued durably, and delivered to a loopback smtp-sink that plays the remote MX.
#   - Postern: smtp-source sends to an alias that forwards to sink@example.net (SRS), every
#     message DKIM-signed (Ed25519 and RSA keys for the sender's domain); `[dns.static]`
#     names the sink as example.net's exchanger.
#   - Postfix: a private instance relays the same messages to the same sink.
# Reports seconds from the first message in to the queue being empty, and messages/second,
# as medians of ROUNDS, and the ratio; then RSS of Postern with QUEUED messages waiting
# (the sink stopped). Loopback only; needs root the first time (apt-get install postfix).
set -euo pipefail
# The benchmarks' password, "secret" (the peers' too), is below the rules for new
# passwords; the servers started here inherit this.
export POSTERN_SECURITY_MIN_PASSWORD_LENGTH=6 POSTERN_SECURITY_REFUSE_GUESSABLE_PASSWORDS=false
cd "$(dirname "$0")/.."

MESSAGES=${MESSAGES:-2000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-4096}
ROUNDS=${ROUNDS:-3}
QUEUED=${QUEUED:-10000}
SINK=25990 POSTERN=25991 POSTFIX=25992

. bench/lib.sh
need_smtp_source

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
    [ -d "$work/pf" ] && postfix -c "$work/pf" stop >/dev/null 2>&1 || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p server >&2
bin=${BIN:-target/release/postern}
cli() { "$bin" --config "$work/postern/postern.toml" "$@"; }

now() { date +%s.%N; }

# Waits (at most 10 minutes) until `check` succeeds.
until_true() { # check...
    for _ in $(seq 6000); do
        "$@" && return 0
        sleep 0.1
    done
    echo "timed out: $*" >&2
    return 1
}

start_sink() {
    smtp-sink -u nobody "127.0.0.1:$SINK" 2000 &
    sink_pid=$!
    pids+=("$sink_pid")
    sleep 0.5
}

start_postern() {
    mkdir -p "$work/postern"
    cat >"$work/postern/postern.toml" <<TOML
hostname = "bench.test"
data_dir = "$work/postern/data"
[listen]
smtp = ["127.0.0.1:$POSTERN"]
submission = []
submissions = []
pop3 = []
pop3s = []
imap = []
imaps = []
https = []
http = []
[dns]
nameservers = []
[dns.static]
"example.net" = { mx = ["sink.example.net"] }
"sink.example.net" = { a = ["127.0.0.1"] }
[delivery]
remote_port = $SINK
workers = 8
TOML
    "$bin" --config "$work/postern/postern.toml" serve >"$work/postern/out.log" 2>"$work/postern/err.log" &
    postern_pid=$!
    pids+=("$postern_pid")
    until_true grep -q "Next," "$work/postern/out.log"
    cli domain add example.test >/dev/null
    echo secret | cli user add alice@example.test --password-stdin >/dev/null
    cli alias add out@example.test sink@example.net >/dev/null
    cli dkim generate --domain example.test >/dev/null
}

postern_empty() { cli queue stats | grep -q "^0 messages queued"; }

start_postfix_relay() {
    start_postfix "$work/pf" "$POSTFIX" <<CONF
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK
smtpd_relay_restrictions = permit_mynetworks, reject
CONF
}

postfix_empty() { postqueue -c "$work/pf" -p 2>/dev/null | grep -q "Mail queue is empty"; }

round() { # port recipient empty-check -> seconds
    local start
    start=$(now)
    smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f alice@example.test -t "$2" "127.0.0.1:$1"
    until_true "$3"
    echo "$(now) - $start" | bc -l
}

start_sink
start_postern
start_postfix_relay
ours=() theirs=()
for _ in $(seq "$ROUNDS"); do
    ours+=("$(round "$POSTERN" out@example.test postern_empty)")
    theirs+=("$(round "$POSTFIX" sink@example.net postfix_empty)")
done
ours_s=$(printf '%s\n' "${ours[@]}" | median)
theirs_s=$(printf '%s\n' "${theirs[@]}" | median)
echo "messages,size,sessions,postern_s,postfix_s,postern_msgs_per_s,postfix_msgs_per_s,ratio"
printf '%s,%s,%s,%.2f,%.2f,%.0f,%.0f,%.2f\n' "$MESSAGES" "$SIZE" "$SESSIONS" "$ours_s" "$theirs_s" \
    "$(echo "$MESSAGES / $ours_s" | bc -l)" "$(echo "$MESSAGES / $theirs_s" | bc -l)" \
    "$(echo "$theirs_s / $ours_s" | bc -l)"

# Memory with QUEUED messages waiting: the sink is gone, so every one is deferred.
kill "$sink_pid"
wait "$sink_pid" 2>/dev/null || true
smtp-source -s "$SESSIONS" -m "$QUEUED" -l "$SIZE" -f alice@example.test -t out@example.test "127.0.0.1:$POSTERN"
until_true bash -c "'$bin' --config '$work/postern/postern.toml' queue stats | grep -q '^$QUEUED messages queued'"
sleep 5
echo "queued,postern_rss_kib"
echo "$QUEUED,$(awk '/VmRSS/ {print $2}' "/proc/$postern_pid/status")"
