#!/usr/bin/env bash
# What a webhook costs at delivery, and how fast its calls go out: SMTP ingest of MESSAGES
# messages of SIZE bytes over SESSIONS connections into one account, without a webhook and
# with one on the address (each message then also becomes a signed JSON call, committed
# with it), and with the webhook the time until a loopback receiver (Python's http.server,
# answering 200) has every call. The receiver shares the machine's cores with the server;
# ingest with a webhook whose receiver is down (each call fails at once and waits for its
# first retry, 30 s on) shows what the delivery itself pays. Medians of alternating
# ROUNDS, one scratch server each.
# Loopback only; needs root the first time (apt-get install postfix, for smtp-source).
#
#   SKIP_BUILD=1 bash bench/webhooks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
MESSAGES=${MESSAGES:-10000} SIZE=${SIZE:-1024} SESSIONS=${SESSIONS:-50} ROUNDS=${ROUNDS:-3}
PORT=${PORT:-27525} RECEIVER=${RECEIVER:-27580}
need_smtp_source
ulimit -n 8192

# Counts the calls it gets in $1, one line per call; answers 200 to each.
RECEIVE='
import http.server, sys
count = open(sys.argv[2], "a", buffering=1)
class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        count.write("1\n")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
'

# "INGEST_SECONDS CALLS_DONE_SECONDS" on a fresh server; with the webhook when $1 is set,
# its receiver up when $1 is "up".
ingest() { # with_webhook
    scratch_postern "smtp=$PORT" ""
    echo secret | "$bin" --config "$work/postern.toml" user add alice@example.test --password-stdin >/dev/null 2>&1
    local receiver=""
    if [ "$1" = up ]; then
        python3 -c "$RECEIVE" "$RECEIVER" "$work/calls" &
        receiver=$!
    fi
    if [ -n "$1" ]; then
        cli webhook add --address alice@example.test --url "http://127.0.0.1:$RECEIVER/in" --secret bench
    fi
    serve_postern "$PORT"
    local start seconds done_seconds=0
    start=$(date +%s.%N)
    seconds=$(smtp_send "$PORT")
    if [ -n "$receiver" ]; then
        for _ in $(seq 6000); do
            [ "$(wc -l <"$work/calls" 2>/dev/null || echo 0)" -ge "$MESSAGES" ] && break
            sleep 0.1
        done
        done_seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
        kill "$receiver"
    fi
    kill "$pid"
    wait 2>/dev/null || true
    rm -rf "$work"
    pid=
    echo "$seconds $done_seconds"
}

export POSTERN_SECURITY_MIN_PASSWORD_LENGTH=6 POSTERN_SECURITY_REFUSE_GUESSABLE_PASSWORDS=false
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p server >&2
export SKIP_BUILD=1
without=() down=() with=() called=()
for _ in $(seq "$ROUNDS"); do
    without+=("$(ingest "" | cut -d' ' -f1)")
    down+=("$(ingest down | cut -d' ' -f1)")
    read -r a b < <(ingest up)
    with+=("$a")
    called+=("$b")
done
a=$(printf '%s\n' "${without[@]}" | median)
d=$(printf '%s\n' "${down[@]}" | median)
b=$(printf '%s\n' "${with[@]}" | median)
c=$(printf '%s\n' "${called[@]}" | median)
rate() { echo "$MESSAGES / $1" | bc -l | xargs printf '%.0f'; }
ratio() { echo "$1 / $a" | bc -l | xargs printf '%.3f'; }
echo "measure,no_webhook,webhook_receiver_down,webhook_receiver_up,down_vs_none,up_vs_none"
echo "ingest_seconds,$a,$d,$b,$(ratio "$d"),$(ratio "$b")"
echo "msgs_per_second,$(rate "$a"),$(rate "$d"),$(rate "$b"),,"
echo "every_call_made_seconds,,,$c,,"
echo "calls_per_second,,,$(rate "$c"),,"
