#!/usr/bin/env bash
# Postern against the stack it replaces, every workload in one run, one table at the end.
# Builds the release binary once, then runs, each against its peers on loopback (each
# script installs and starts them: Postfix, Postfix handing to Dovecot over LMTP, Dovecot,
# Radicale):
#   idle.sh    memory of each whole stack at rest, installed size
#   ingest.sh  SMTP in, stored in a mailbox (Postfix + Dovecot LMTP)
#   send.sh    submission relayed out through the queue (Postfix)
#   imap.sh    FETCH, SEARCH, APPEND, memory per IDLE connection (Dovecot)
#   pop3.sh    RETR of every message (Dovecot)
#   dav.sh     calendars and contacts (Radicale)
#   memory.sh  the 64 MiB cgroup run: peaks and memory after each workload (Dovecot);
#              MEMORY=0 leaves it out (it takes about ten minutes)
# Each script's own output is kept in OUT (default: a new directory, printed). The table:
# per measure, Postern's figure, the peer's, and how many times better Postern is (over 1:
# Postern is ahead; time and memory compare lower-is-better, rates higher-is-better).
# QUICK=1 runs smaller counts; SKIP_BUILD=1 takes target/release/postern as it is. Needs
# root the first time (apt-get, cgroups).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${OUT:-$(mktemp -d /tmp/postern-compare.XXXXXX)}
mkdir -p "$out"
if [ -n "${QUICK:-}" ]; then
    export ROUNDS=1 MESSAGES=1000 EVENTS=500 IDLE_COUNTS=1000 APPENDS=200 QUEUED=1000
    export INGEST=2000 BULK=2000 LOGINS=500 AFTER=20
fi
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p server >&2
export SKIP_BUILD=1

say() { echo "compare.sh: $*" >&2; }
run() { # name script
    say "running $2 (output in $out/$1.txt)"
    if ! bash "$2" >"$out/$1.txt" 2>"$out/$1.err"; then
        say "$2 failed; the end of its errors:"
        tail -n 20 "$out/$1.err" >&2
        return 1
    fi
}

failed=()
run idle bench/idle.sh || failed+=(idle)
run ingest bench/ingest.sh || failed+=(ingest)
run send bench/send.sh || failed+=(send)
run imap bench/imap.sh || failed+=(imap)
run pop3 bench/pop3.sh || failed+=(pop3)
run dav bench/dav.sh || failed+=(dav)
[ "${MEMORY:-1}" = 0 ] || run memory bench/memory.sh || failed+=(memory)

# One row: measure, Postern, peer, the peer's name, "lower" or "higher" (which is better).
row() {
    awk -v m="$1" -v p="$2" -v q="$3" -v name="$4" -v better="$5" 'BEGIN {
        if (p == "" || q == "" || p + 0 == 0 || q + 0 == 0) x = "";
        else x = sprintf("%.2fx", better == "lower" ? q / p : p / q);
        printf "%-52s %12s %12s  %-24s %8s\n", m, p, q, name, x
    }'
}
csv() { awk -F, -v k="$2" -v c="$3" '$1 == k {print $c}' "$out/$1.txt"; }

{
    echo "Postern against the stack it replaces, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m)"
    printf '%-52s %12s %12s  %-24s %8s\n' measure Postern peer peer "ahead"
    if [ -s "$out/idle.txt" ]; then
        peers="Postfix+Dovecot+Radicale"
        row "stack at rest, started (PSS KiB)" "$(csv idle idle_started_pss_kib 2)" "$(csv idle idle_started_pss_kib 3)" "$peers" lower
        row "stack at rest, after one use (PSS KiB)" "$(csv idle idle_after_use_pss_kib 2)" "$(csv idle idle_after_use_pss_kib 3)" "$peers" lower
        row "installed size (KiB)" "$(csv idle installed_kib 2)" "$(csv idle installed_kib 3)" "$peers" lower
    fi
    if [ -s "$out/ingest.txt" ]; then
        line=$(tail -n 1 "$out/ingest.txt")
        row "SMTP in, stored (msg/s)" "$(cut -d, -f4 <<<"$line")" "$(cut -d, -f5 <<<"$line")" "Postfix+Dovecot" higher
    fi
    if [ -s "$out/send.txt" ]; then
        line=$(grep -A1 '^messages,' "$out/send.txt" | tail -n 1)
        row "submission relayed out (msg/s)" "$(cut -d, -f6 <<<"$line")" "$(cut -d, -f7 <<<"$line")" "Postfix" higher
    fi
    if [ -s "$out/imap.txt" ]; then
        grep -E '_(seconds|kib|bytes(_at_[0-9]+)?),' "$out/imap.txt" | while IFS=, read -r measure dovecot postern _; do
            row "IMAP $measure" "$postern" "$dovecot" "Dovecot" lower
        done
    fi
    if [ -s "$out/pop3.txt" ]; then
        row "POP3 RETR of every message (msg/s)" "$(csv pop3 postern 3)" "$(csv pop3 dovecot 3)" "Dovecot" higher
    fi
    if [ -s "$out/dav.txt" ]; then
        awk 'NR > 2 {print $1, $2, $3}' "$out/dav.txt" | while read -r measure postern radicale; do
            row "DAV $measure (s)" "$postern" "$radicale" "Radicale" lower
        done
    fi
    if [ -s "$out/memory.txt" ]; then
        grep -E '_(peak|after)_kib,|^idle_before_kib,|^after_' "$out/memory.txt" |
            while IFS=, read -r measure dovecot postern _; do
                row "64 MiB run: $measure" "$postern" "$dovecot" "Dovecot" lower
            done
    fi
} | tee "$out/table.txt"
say "each script's output: $out"
if [ ${#failed[@]} -gt 0 ]; then
    say "failed: ${failed[*]}"
    exit 1
fi
