#!/usr/bin/env bash
# SMTP in, stored in a mailbox: Postern against the stack it replaces, Postfix receiving
# and handing each message to Dovecot over LMTP (Maildir), in the same run. smtp-source
# sends MESSAGES messages of SIZE bytes over SESSIONS connections to alice@example.test;
# the time runs until the last message is in the mailbox (Postern: its last 250, given
# once the message is durable; Postfix + Dovecot: the Maildir holds every file). Medians
# of alternating ROUNDS, and the ratio. Loopback only; needs root the first time
# (apt-get install postfix dovecot-lmtpd, a vmail user).
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=${MESSAGES:-5000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-4096}
ROUNDS=${ROUNDS:-3}
POSTERN_PORT=${POSTERN_PORT:-26125}
POSTFIX_PORT=${POSTFIX_PORT:-26025}
LMTP_PORT=${LMTP_PORT:-26024}
DOVECOT_PORT=unused

. bench/peers.sh
need_smtp_source

start_postern smtp
mkdir -p "$work/maildir/new" "$work/maildir/cur" "$work/maildir/tmp"
start_postfix_dovecot lmtp </dev/null

# Files in Dovecot's Maildir (its INBOX).
stored() { find "$work/dovecot-maildir/new" "$work/dovecot-maildir/cur" -type f | wc -l; }

# Seconds until `want` messages are in Dovecot's Maildir, after smtp-source to Postfix.
postfix_round() { # want
    local start
    start=$(date +%s.%N)
    smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f load@remote.test -t alice@example.test \
        "127.0.0.1:$POSTFIX_PORT"
    for _ in $(seq 6000); do
        [ "$(stored)" -ge "$1" ] && break
        sleep 0.05
    done
    [ "$(stored)" -ge "$1" ] || { echo "Postfix + Dovecot stored $(stored) of $1" >&2; exit 1; }
    echo "$(date +%s.%N) - $start" | bc -l
}

ours=() theirs=()
for round in $(seq "$ROUNDS"); do
    theirs+=("$(postfix_round $((round * MESSAGES)))")
    ours+=("$(smtp_send "$POSTERN_PORT")")
done
# Postern took every message (its log has a line per message with the reply).
held=$(grep -c 'message received.*reply=250' "$work/postern.log" || true)
[ "$held" = "$((ROUNDS * MESSAGES))" ] || {
    echo "Postern took $held of $((ROUNDS * MESSAGES)); the end of its log:" >&2
    tail -n 5 "$work/postern.log" >&2
    exit 1
}
ours_s=$(printf '%s\n' "${ours[@]}" | median)
theirs_s=$(printf '%s\n' "${theirs[@]}" | median)
echo "messages,size,sessions,postern_msgs_per_s,postfix_dovecot_msgs_per_s,ratio"
printf '%s,%s,%s,%.0f,%.0f,%.2f\n' "$MESSAGES" "$SIZE" "$SESSIONS" \
    "$(echo "$MESSAGES / $ours_s" | bc -l)" "$(echo "$MESSAGES / $theirs_s" | bc -l)" \
    "$(echo "$theirs_s / $ours_s" | bc -l)"
