#!/usr/bin/env bash
# What Sieve filtering costs at delivery: SMTP ingest of MESSAGES messages of SIZE bytes over
# SESSIONS connections into one account, with no script, and with an active script of the
# kind people write (a list filed by its List-Id, a sender flagged, a +detail filed, spam
# discarded, and a vacation answer: smtp-source's messages name the recipient in To, so
# the first gets one and each later one, from the same sender, is checked against the
# answers already sent, a write). Medians of alternating ROUNDS, one scratch server each.
# Loopback only; needs root the first time (apt-get install postfix, for smtp-source).
#
#   SKIP_BUILD=1 bash bench/sieve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
MESSAGES=${MESSAGES:-10000} SIZE=${SIZE:-1024} SESSIONS=${SESSIONS:-50} ROUNDS=${ROUNDS:-3}
PORT=${PORT:-27425}
need_smtp_source
ulimit -n 8192

SCRIPT='require ["fileinto", "imap4flags", "envelope", "subaddress", "vacation", "mailbox"];
if header :contains "List-Id" "<news.lists.test>" { fileinto :create "Lists/News"; stop; }
if address :is "from" "boss@boss.test" { addflag "$Important"; }
if envelope :detail "to" "shop" { fileinto :create "Shopping"; }
if header :contains "subject" ["cheap pills", "make money fast"] { discard; stop; }
vacation :days 7 "I am away this week.";'

# Seconds to take the messages in, on a fresh server; with the script active when $1 is set.
ingest() { # with_script
    scratch_postern "smtp=$PORT" ""
    echo secret | "$bin" --config "$work/postern.toml" user add alice@example.test --password-stdin >/dev/null 2>&1
    if [ -n "$1" ]; then
        printf '%s\n' "$SCRIPT" | cli sieve put alice@example.test - --name filters --activate 2>/dev/null
    fi
    serve_postern "$PORT"
    smtp_send "$PORT"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$work"
    pid=
}

export POSTERN_SECURITY_MIN_PASSWORD_LENGTH=6 POSTERN_SECURITY_REFUSE_GUESSABLE_PASSWORDS=false
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p server >&2
export SKIP_BUILD=1
without=() with=()
for _ in $(seq "$ROUNDS"); do
    without+=("$(ingest "")")
    with+=("$(ingest 1)")
done
a=$(printf '%s\n' "${without[@]}" | median)
b=$(printf '%s\n' "${with[@]}" | median)
echo "measure,no_script,script,script_vs_none"
echo "ingest_seconds,$a,$b,$(echo "$b / $a" | bc -l | xargs printf '%.3f')"
echo "msgs_per_second,$(echo "$MESSAGES / $a" | bc -l | xargs printf '%.0f'),$(echo "$MESSAGES / $b" | bc -l | xargs printf '%.0f'),"
