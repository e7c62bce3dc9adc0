#!/usr/bin/env bash
# IMAP side by side with Dovecot (dovecot-imapd, Maildir) on loopback, in one run:
#   - RSS of 1,000 and 10,000 connections logged in and IDLE (Dovecot: summed PSS of all its
#     processes, with hibernation on: its low-memory idle mode)
#   - FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE) on a 10,000-message mailbox, cold (the
#     first) and warm, the header fields mail clients list a mailbox with, and every BODY[]
#   - UID SEARCH TEXT on the same: the first, then the median of the rounds after it
#   - APPEND of 1,000 messages over one connection, and over four at once
#   - push: 10,000 connections in IDLE, one APPEND on another; milliseconds until each
#     idler hears of it (p50, p99, max); and 1,000 idlers told of a flag set elsewhere
# Medians of alternating rounds, ratios against Dovecot. Needs root the first time
# (apt-get install dovecot-imapd, a vmail user, inotify limits for Dovecot's IDLE).
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=${MESSAGES:-10000}
IDLE_COUNTS=${IDLE_COUNTS:-"1000 10000"}
APPENDS=${APPENDS:-1000}
PUSH_COUNT=${PUSH_COUNT:-10000}
FLAG_PUSH_COUNT=${FLAG_PUSH_COUNT:-1000}
ROUNDS=${ROUNDS:-3}
DOVECOT_PORT=${DOVECOT_PORT:-21143}
POSTERN_PORT=${POSTERN_PORT:-21144}
client="python3 bench/imap_client.py"

. bench/peers.sh
need_dovecot dovecot-imapd /usr/lib/dovecot/imap
sysctl -qw fs.inotify.max_user_instances=65536 fs.inotify.max_user_watches=1048576 || true
ulimit -n "$(ulimit -Hn)"

python3 - "$work/maildir" "$MESSAGES" <<'PY'
import os, random, sys
root, count = sys.argv[1], int(sys.argv[2])
random.seed(7)
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, sub), exist_ok=True)
words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()
for i in range(count):
    text = " ".join(random.choice(words) for _ in range(400))
    if i % 97 == 0:
        text += " needle"
    head = (f"From: Sender {i % 50} <sender{i % 50}@remote.test>\r\nTo: alice@example.test\r\n"
            f"Subject: message {i} about {random.choice(words)}\r\nMessage-ID: <{i}@bench.test>\r\n"
            f"Date: Sat, 21 Nov 2026 10:{i % 60:02d}:00 +0000\r\nMIME-Version: 1.0\r\n")
    if i % 3 == 0:
        body = (head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
                "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n--b\r\n"
                'Content-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
                + "JVBERi0xLjQK" * 40 + "\r\n--b--\r\n")
    else:
        body = head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
    name = f"{1700000000 + i}.M{i}P1.bench,S={len(body)}:2,S"
    with open(os.path.join(root, "cur", name), "w", newline="") as f:
        f.write(body)
PY

# Dovecot, a private instance; Postern with the same messages imported.
start_dovecot imap < <(dovecot_idle_conf "$DOVECOT_PORT" 0)
start_postern imap

# Memory of a server: summed PSS of the process and all its children (Dovecot's master and
# its processes; Postern's one process).
memory_kib() { python3 bench/memory_load.py mem pss "$1"; }

ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }

echo "measure,dovecot,postern,postern_vs_dovecot"
base_d=$(memory_kib "$dovecot_pid"); base_p=$(memory_kib "$postern_pid")
echo "memory_idle_server_kib,$base_d,$base_p,$(ratio "$base_p" "$base_d")"
for n in $IDLE_COUNTS; do
    for side in dovecot postern; do
        port=$DOVECOT_PORT; pid=$dovecot_pid
        [ "$side" = postern ] && port=$POSTERN_PORT && pid=$postern_pid
        $client idle "$port" "$n" 20 >"$work/idle.out" &
        holder=$!
        for _ in $(seq 1200); do grep -q ready "$work/idle.out" 2>/dev/null && break; sleep 0.5; done
        sleep 5 # Dovecot hibernates idle sessions after 1 s
        eval "mem_$side=$(memory_kib "$pid")"
        wait "$holder" || true
        sleep 2
    done
    echo "memory_${n}_idle_kib,$mem_dovecot,$mem_postern,$(ratio "$mem_postern" "$mem_dovecot")"
    echo "memory_per_idle_connection_bytes_at_${n},$(( (mem_dovecot - base_d) * 1024 / n )),$(( (mem_postern - base_p) * 1024 / n )),"
done

run_rounds() { # name, command with PORT placeholder; prints median seconds per server
    local name=$1; shift
    local d=() p=()
    for _ in $(seq "$ROUNDS"); do
        d+=("$(${*//PORT/$DOVECOT_PORT} | cut -d' ' -f1)")
        p+=("$(${*//PORT/$POSTERN_PORT} | cut -d' ' -f1)")
    done
    local dm pm
    dm=$(printf '%s\n' "${d[@]}" | median); pm=$(printf '%s\n' "${p[@]}" | median)
    echo "${name}_seconds,$dm,$pm,$(ratio "$pm" "$dm")"
}
# The first FETCH, cold: Dovecot builds its cache, Postern reads its summaries from disk.
d=$($client fetch $DOVECOT_PORT | cut -d' ' -f1)
p=$($client fetch $POSTERN_PORT | cut -d' ' -f1)
echo "fetch_1:*_flags_envelope_bodystructure_cold_seconds,$d,$p,$(ratio "$p" "$d")"
run_rounds "fetch_1:*_flags_envelope_bodystructure" $client fetch PORT
run_rounds "fetch_1:*_header_fields" $client headers PORT
run_rounds "fetch_1:*_body" $client bodies PORT
# The first text search: Postern's indexes the mailbox's full blocks of 1,024 UIDs as it goes.
d=$($client search $DOVECOT_PORT needle | cut -d' ' -f1)
p=$($client search $POSTERN_PORT needle | cut -d' ' -f1)
echo "search_text_first_seconds,$d,$p,$(ratio "$p" "$d")"
run_rounds "search_text" $client search PORT needle
run_rounds "append_$APPENDS" $client append PORT "$APPENDS"
run_rounds "append_${APPENDS}_over_4_connections" $client append PORT "$APPENDS" 4
push_rows() { # label, count, change
    local d p i name dv pv
    d=$($client push "$DOVECOT_PORT" "$2" "$3"); sleep 2
    p=$($client push "$POSTERN_PORT" "$2" "$3")
    for i in 1 2 3; do
        name=$(echo "p50 p99 max" | cut -d' ' -f$i)
        dv=$(echo "$d" | cut -d' ' -f$i); pv=$(echo "$p" | cut -d' ' -f$i)
        echo "$1_${name}_ms_at_$2,$dv,$pv,$(ratio "$pv" "$dv")"
    done
}
if [ "$PUSH_COUNT" -gt 0 ]; then
    push_rows push "$PUSH_COUNT" append
fi
# A flag set elsewhere: each idler is told of the one message that changed.
if [ "$FLAG_PUSH_COUNT" -gt 0 ]; then
    push_rows push_flag "$FLAG_PUSH_COUNT" flag
fi
