#!/usr/bin/env bash
# Memory under a limit (issue 11's acceptance test), side by side with Dovecot in one run.
# Postern runs in a fresh memory cgroup limited to LIMIT (cgroup v2 memory.max or v1
# memory.limit_in_bytes, whichever this machine has; created here, removed on exit) with
# USERS accounts, and goes through, one after the other:
#   idle      IDLE IMAP connections (LOGIN, SELECT INBOX, IDLE), held through the next three
#   ingest    INGEST ~4 KiB messages over SMTP spread over the accounts (Dovecot: LMTP)
#   bulk      APPEND of BULK ~4 KiB messages to u0's INBOX, then FETCH 1:* (FLAGS ENVELOPE
#             BODYSTRUCTURE), FETCH 1:* BODY.PEEK[], SEARCH TEXT needle, STORE 1:* +FLAGS
#   logins    LOGINS simultaneous IMAP connections, each LOGIN then LOGOUT
#   after     everything closed; memory every second for AFTER seconds
# Then Dovecot (dovecot-imapd + dovecot-lmtpd, a private instance, Maildir, hibernation on,
# no cgroup) does the same, alone on the machine. Memory: Postern's VmRSS, Dovecot's summed
# PSS of all its processes; peaks come from a sampler every INTERVAL seconds. Exits non-zero
# if Postern had a failed command or an OOM kill (REQUIRE_RSS=1: also if its RSS was not
# under TARGET_KIB within AFTER seconds). Loopback only; needs root (cgroups, apt-get
# install dovecot-imapd dovecot-lmtpd, a vmail user, inotify limits for Dovecot's IDLE).
set -euo pipefail
cd "$(dirname "$0")/.."

LIMIT=${LIMIT:-64M}
IDLE=${IDLE:-100}
INGEST=${INGEST:-10000}
BULK=${BULK:-10000}
LOGINS=${LOGINS:-2000}
USERS=${USERS:-10}
CACHE_SIZE=${CACHE_SIZE:-}        # Postern's [storage] cache_size, bytes; unset: it sizes
                                  # its cache to the cgroup's limit
SESSIONS=${SESSIONS:-10}          # SMTP/LMTP connections at once during ingest
APPENDERS=${APPENDERS:-4}         # IMAP connections APPENDing at once
SETTLE=${SETTLE:-5}               # seconds between a workload's end and its "after" reading
AFTER=${AFTER:-60}                # seconds watched once everything is closed
TARGET_KIB=${TARGET_KIB:-32768}   # the RSS Postern must be back under within AFTER seconds
INTERVAL=${INTERVAL:-0.25}        # sampler period, seconds
WORKLOAD_TIMEOUT=${WORKLOAD_TIMEOUT:-3600}
POSTERN_SMTP=${POSTERN_SMTP:-24025}
POSTERN_IMAP=${POSTERN_IMAP:-24143}
DOVECOT_LMTP=${DOVECOT_LMTP:-24024}
DOVECOT_IMAP=${DOVECOT_IMAP:-24144}
PASSWORD=memory-bench-password
load=(python3 bench/memory_load.py)

say() { echo "memory.sh: $*" >&2; }
now() { date +%s.%N; }

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p server >&2
bin=${BIN:-target/release/postern}
[ -x "$bin" ] || { say "no Postern binary at $bin"; exit 2; }

work=$(mktemp -d)
chmod 755 "$work"
cg_dir="" cg_ver="" postern_pid="" dovecot_pid="" sampler_pid="" holder_pid=""
# shellcheck disable=SC2317 # run by the trap
cleanup() {
    touch "$work/stop" "$work/idle.stop" 2>/dev/null || true
    for pid in "$holder_pid" "$sampler_pid" "$postern_pid"; do
        if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    done
    if [ -f "$work/dovecot/run/master.pid" ]; then
        kill "$(cat "$work/dovecot/run/master.pid")" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    if [ -n "$cg_dir" ]; then
        for _ in $(seq 50); do
            rmdir "$cg_dir" 2>/dev/null && break
            sleep 0.2
        done
        [ -d "$cg_dir" ] && say "could not remove the cgroup $cg_dir"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Waits (at most 20 s) until a loopback port accepts connections and `pid` still runs.
wait_port() { # port pid
    for _ in $(seq 200); do
        kill -0 "$2" 2>/dev/null || return 1
        (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Waits (at most `seconds`) for `pid` to exit, then kills it hard.
stop_pid() { # pid seconds
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq $(($2 * 10))); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# ---- the cgroup ---------------------------------------------------------------------
# A child of the cgroup this script runs in (so that limits above it still hold), else of
# the hierarchy's root. Sets cg_dir and cg_ver, or returns 1.
make_cgroup() {
    local name="memory-sh-$$" mnt own base
    mnt=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
    if [ -n "$mnt" ] && grep -qw memory "$mnt/cgroup.controllers" 2>/dev/null; then
        own=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
        for base in "$mnt${own%/}" "$mnt"; do
            mkdir "$base/$name" 2>/dev/null || continue
            if [ -f "$base/$name/memory.max" ] && echo "$LIMIT" >"$base/$name/memory.max" 2>/dev/null; then
                cg_dir=$base/$name cg_ver=2
                return 0
            fi
            rmdir "$base/$name" 2>/dev/null || true
        done
    fi
    mnt=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ {print $2; exit}' /proc/mounts)
    if [ -n "$mnt" ]; then
        own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
        for base in "$mnt${own%/}" "$mnt"; do
            mkdir "$base/$name" 2>/dev/null || continue
            if echo "$LIMIT" >"$base/$name/memory.limit_in_bytes" 2>/dev/null; then
                cg_dir=$base/$name cg_ver=1
                return 0
            fi
            rmdir "$base/$name" 2>/dev/null || true
        done
    fi
    return 1
}
cg_value() { # oom_kills | limit_hits | peak_kib | limit
    [ -n "$cg_dir" ] || return 0
    case "$cg_ver/$1" in
    2/oom_kills) awk '$1 == "oom_kill" {print $2}' "$cg_dir/memory.events" ;;
    2/limit_hits) awk '$1 == "max" {print $2}' "$cg_dir/memory.events" ;;
    2/peak_kib) [ -f "$cg_dir/memory.peak" ] && echo $(($(cat "$cg_dir/memory.peak") / 1024)) ;;
    2/limit) cat "$cg_dir/memory.max" ;;
    1/oom_kills) awk '$1 == "oom_kill" {print $2}' "$cg_dir/memory.oom_control" ;;
    1/limit_hits) cat "$cg_dir/memory.failcnt" ;;
    1/peak_kib) echo $(($(cat "$cg_dir/memory.max_usage_in_bytes") / 1024)) ;;
    1/limit) cat "$cg_dir/memory.limit_in_bytes" ;;
    esac
}

# ---- the servers --------------------------------------------------------------------
start_postern() {
    cat >"$work/postern.toml" <<CONF
hostname = "mx.test"
data_dir = "$work/postern"
[dns]
nameservers = []
[limits]
# Every load client is on loopback: one address holding thousands of connections.
max_connections_per_ip = 100000
[listen]
smtp = ["127.0.0.1:$POSTERN_SMTP"]
submission = []
submissions = []
pop3 = []
pop3s = []
imap = ["127.0.0.1:$POSTERN_IMAP"]
imaps = []
https = []
http = []
[imap]
auth_without_tls = true
CONF
    [ -z "$CACHE_SIZE" ] || printf '[storage]\ncache_size = %s\n' "$CACHE_SIZE" >>"$work/postern.toml"
    "$bin" --config "$work/postern.toml" setup --non-interactive >/dev/null 2>&1
    "$bin" --config "$work/postern.toml" domain add example.test >/dev/null
    for u in $(seq 0 $((USERS - 1))); do
        echo "$PASSWORD" | "$bin" --config "$work/postern.toml" user add "u$u@example.test" --password-stdin >/dev/null
    done
    if [ -n "$cg_dir" ]; then
        # The shell enters the cgroup, then becomes Postern: nothing of it runs outside.
        # shellcheck disable=SC2016
        sh -c 'echo $$ >"$1" || exit 97; shift; exec "$@"' sh "$cg_dir/cgroup.procs" \
            "$bin" --config "$work/postern.toml" serve >"$work/postern.log" 2>&1 &
    else
        "$bin" --config "$work/postern.toml" serve >"$work/postern.log" 2>&1 &
    fi
    postern_pid=$!
    if ! wait_port "$POSTERN_IMAP" "$postern_pid" || ! wait_port "$POSTERN_SMTP" "$postern_pid"; then
        say "Postern did not start:"
        tail -n 20 "$work/postern.log" >&2
        exit 2
    fi
    if [ -n "$cg_dir" ] && ! grep -qx "$postern_pid" "$cg_dir/cgroup.procs"; then
        say "Postern ($postern_pid) is not in $cg_dir"
        exit 2
    fi
}

apt_updated=""
need_package() { # package file
    [ -e "$2" ] && return 0
    if [ -z "$apt_updated" ]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

start_dovecot() {
    need_package dovecot-imapd /usr/lib/dovecot/imap
    need_package dovecot-lmtpd /usr/lib/dovecot/lmtp
    id vmail >/dev/null 2>&1 || useradd --system --no-create-home vmail
    local d=$work/dovecot clients=$((IDLE + LOGINS + 100))
    mkdir -p "$d/run" "$d/state" "$d/home"
    chown vmail:vmail "$d/home"
    for u in $(seq 0 $((USERS - 1))); do
        echo "u$u@example.test:{PLAIN}$PASSWORD"
    done >"$d/passwd"
    cat >"$d/dovecot.conf" <<CONF
base_dir = $d/run
state_dir = $d/state
log_path = $d/log
listen = 127.0.0.1
protocols = imap lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
postmaster_address = postmaster@example.test
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$d/home/%u
}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100000
imap_hibernate_timeout = 1s
default_client_limit = $clients
default_process_limit = $clients
service imap-login {
  inet_listener imap {
    port = $DOVECOT_IMAP
  }
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_min_avail = 2
  client_limit = $clients
}
service imap {
  process_limit = $clients
  unix_listener imap-master {
    user = \$default_internal_user
  }
  extra_groups = \$default_internal_group
}
service imap-hibernate {
  client_limit = $clients
  unix_listener imap-hibernate {
    mode = 0660
    group = \$default_internal_group
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DOVECOT_LMTP
  }
}
service anvil {
  chroot =
  client_limit = $((4 * clients))
}
service auth {
  client_limit = $((4 * clients))
}
CONF
    dovecot -c "$d/dovecot.conf"
    for _ in $(seq 100); do
        [ -s "$d/run/master.pid" ] && break
        sleep 0.1
    done
    dovecot_pid=$(cat "$d/run/master.pid")
    if ! wait_port "$DOVECOT_IMAP" "$dovecot_pid" || ! wait_port "$DOVECOT_LMTP" "$dovecot_pid"; then
        say "Dovecot did not start:"
        tail -n 20 "$d/log" >&2
        exit 2
    fi
}

# ---- measuring ----------------------------------------------------------------------
declare -A R
# One reading in KiB, or "killed" once the server is gone.
mem() {
    local m
    m=$("${load[@]}" mem "$mode" "$server_pid")
    if [ "$m" = 0 ] || ! kill -0 "$server_pid" 2>/dev/null; then m=killed; fi
    echo "$m"
}
# The highest sample between two times and `end`, a reading taken at the end; "killed" if
# the server died meanwhile (its real peak, the one that killed it, fell between samples).
peak() { # t0 t1 end
    awk -v a="$1" -v b="$2" -v end="$3" '
        $1 >= a && $1 <= b && $2 > m {m = $2}
        END {if (end !~ /^[0-9]+$/) {print "killed"; exit} if (end > m) m = end; print m}' "$work/$side.samples"
}
seconds() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }
failures_of() { # output file, count if no verdict
    local f
    f=$(awk '$1 == "failures" {print $2}' "$1")
    echo "${f:-$2}"
}

# Runs one workload client (bounded by `timeout`): its seconds, failures, the peak memory
# while it ran and the memory SETTLE seconds after it ended.
workload() { # name count command...
    local name=$1 count=$2 t0 t1 end
    shift 2
    say "$side: $name"
    t0=$(now)
    timeout "$WORKLOAD_TIMEOUT" "$@" >"$work/$side.$name.out" 2>"$work/$side.$name.err" || true
    t1=$(now)
    end=$(mem)
    sed 's/^/    /' "$work/$side.$name.out" >&2
    head -n 20 "$work/$side.$name.err" | sed 's/^/    ! /' >&2
    R[$side.${name}_seconds]=$(seconds "$t0" "$t1")
    R[$side.${name}_failures]=$(failures_of "$work/$side.$name.out" "$count")
    R[$side.${name}_peak_kib]=$(peak "$t0" "$t1" "$end")
    sleep "$SETTLE"
    R[$side.${name}_after_kib]=$(mem)
}

run_all() { # side: postern or dovecot
    side=$1
    local imap smtp proto
    if [ "$side" = postern ]; then
        start_postern
        server_pid=$postern_pid mode=rss imap=$POSTERN_IMAP smtp=$POSTERN_SMTP proto=smtp
    else
        start_dovecot
        server_pid=$dovecot_pid mode=pss imap=$DOVECOT_IMAP smtp=$DOVECOT_LMTP proto=lmtp
    fi
    rm -f "$work/stop" "$work/idle.stop"
    "${load[@]}" sample "$mode" "$server_pid" "$work/$side.samples" "$work/stop" "$INTERVAL" &
    sampler_pid=$!
    sleep "$SETTLE"
    R[$side.idle_before_kib]=$(mem)
    say "$side: idle before: ${R[$side.idle_before_kib]} KiB"

    # IDLE connections, held open until the "after" phase.
    say "$side: $IDLE connections in IDLE"
    local t0 t1
    t0=$(now)
    "${load[@]}" idle "$imap" "$IDLE" "$USERS" "$PASSWORD" "$work/idle.stop" >"$work/$side.idle.out" 2>"$work/$side.idle.err" &
    holder_pid=$!
    for _ in $(seq 1200); do
        grep -q '^ready' "$work/$side.idle.out" 2>/dev/null && break
        kill -0 "$holder_pid" 2>/dev/null || break
        sleep 0.5
    done
    t1=$(now)
    sed 's/^/    /' "$work/$side.idle.out" >&2
    R[$side.idle_conns_seconds]=$(seconds "$t0" "$t1")
    R[$side.idle_conns_peak_kib]=$(peak "$t0" "$t1" "$(mem)")
    sleep "$SETTLE"
    R[$side.idle_conns_after_kib]=$(mem)

    workload ingest "$INGEST" "${load[@]}" ingest "$proto" "$smtp" "$INGEST" "$USERS" "$SESSIONS"
    workload bulk "$BULK" "${load[@]}" bulk "$imap" u0@example.test "$PASSWORD" "$BULK" "$APPENDERS"
    workload logins "$LOGINS" "${load[@]}" logins "$imap" "$LOGINS" "$USERS" "$PASSWORD"

    # Close the IDLE connections (at most 5 minutes), then watch memory come back.
    touch "$work/idle.stop"
    for _ in $(seq 3000); do
        kill -0 "$holder_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$holder_pid" 2>/dev/null || true
    wait "$holder_pid" 2>/dev/null || true
    holder_pid=""
    sed 's/^/    /' "$work/$side.idle.out" | tail -n +2 >&2
    head -n 20 "$work/$side.idle.err" | sed 's/^/    ! /' >&2
    R[$side.idle_conns_failures]=$(failures_of "$work/$side.idle.out" "$IDLE")
    say "$side: after, everything closed: watching memory for $AFTER s"
    local m under="" start
    start=$(date +%s)
    for s in $(seq 0 "$AFTER"); do
        # One reading per second since the connections closed.
        while [ $(($(date +%s) - start)) -lt "$s" ]; do sleep 0.05; done
        m=$(mem)
        if [ -z "$under" ] && [ "$m" != killed ] && [ "$m" -lt "$TARGET_KIB" ]; then under=$s; fi
        R[$side.after_${AFTER}s_kib]=$m
    done
    if [ "$m" = killed ]; then under=killed; fi
    R[$side.seconds_until_under_$((TARGET_KIB / 1024))MiB]=${under:-"not within $AFTER s"}

    if [ "$side" = postern ]; then
        R[$side.vmhwm_kib]=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$postern_pid/status" 2>/dev/null || true)
        # What the last reading is made of: the process's own memory, and the pages of its
        # binary and libraries it has touched (shared with the page cache).
        R[$side.rss_anon_kib_at_end]=$(awk '$1 == "RssAnon:" {print $2}' "/proc/$postern_pid/status" 2>/dev/null || true)
        R[$side.rss_file_kib_at_end]=$(awk '$1 == "RssFile:" {print $2}' "/proc/$postern_pid/status" 2>/dev/null || true)
        # SMAPS=FILE keeps the process's mappings as they were then, to see what holds it.
        [ -z "${SMAPS:-}" ] || cp "/proc/$postern_pid/smaps" "$SMAPS" 2>/dev/null || true
        if kill -0 "$postern_pid" 2>/dev/null; then R[$side.server_alive_at_end]=yes; else R[$side.server_alive_at_end]=no; fi
        R[$side.oom_kills]=$(cg_value oom_kills)
        R[$side.cgroup_limit_hits]=$(cg_value limit_hits)
        R[$side.cgroup_peak_kib_with_page_cache]=$(cg_value peak_kib)
    else
        if kill -0 "$dovecot_pid" 2>/dev/null; then R[$side.server_alive_at_end]=yes; else R[$side.server_alive_at_end]=no; fi
    fi
    touch "$work/stop"
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=""
    if [ "$side" = postern ]; then
        stop_pid "$postern_pid" 20
        postern_pid=""
        if [ "${R[$side.oom_kills]:-0}" != 0 ]; then
            say "the kernel's OOM report for the cgroup (dmesg):"
            dmesg 2>/dev/null | grep -A1 "oom_memcg=.*/${cg_dir##*/}," | sed 's/^/    /' >&2 || true
        fi
        if [ "${R[$side.server_alive_at_end]}" = no ]; then
            say "Postern died; the end of its log:"
            tail -n 10 "$work/postern.log" | sed 's/^/    /' >&2
        elif grep -Eiq 'error|warn|panic|killed' "$work/postern.log"; then
            say "Postern's log, errors and warnings (at most 30 lines):"
            grep -Ei 'error|warn|panic|killed' "$work/postern.log" | tail -n 30 | sed 's/^/    /' >&2
        fi
    else
        stop_pid "$dovecot_pid" 20
        rm -f "$work/dovecot/run/master.pid"
        dovecot_pid=""
        if grep -Eiq 'error|fatal|panic' "$work/dovecot/log"; then
            say "Dovecot's log, errors (at most 10 lines):"
            grep -Ei 'error|fatal|panic' "$work/dovecot/log" | tail -n 10 | sed 's/^/    /' >&2
        fi
    fi
}

# ---- the run ------------------------------------------------------------------------
sysctl -qw fs.inotify.max_user_instances=65536 fs.inotify.max_user_watches=1048576 || true
ulimit -n "$(ulimit -Hn)"
if make_cgroup; then
    cgroup_note="cgroup v$cg_ver $cg_dir, limit $(cg_value limit) bytes"
else
    cgroup_note="NO CGROUP: none could be created, Postern runs WITHOUT the $LIMIT limit"
    say "$cgroup_note"
fi
swap=$(awk '$1 == "SwapTotal:" {print $2}' /proc/meminfo)

run_all postern
[ -n "${SKIP_DOVECOT:-}" ] || run_all dovecot

ratio() { awk -v p="$1" -v d="$2" 'BEGIN {if (d + 0 > 0 && p ~ /^[0-9.]+$/) printf "%.2f", p / d}'; }
echo "# Postern: $cgroup_note (swap: ${swap:-0} KiB); VmRSS, sampled every ${INTERVAL} s"
if [ -n "${SKIP_DOVECOT:-}" ]; then
    echo "# Dovecot: skipped (SKIP_DOVECOT)"
else
    echo "# Dovecot: no cgroup, no limit; hibernation after 1 s; summed PSS of all its processes"
fi
echo "# IDLE=$IDLE INGEST=$INGEST (SMTP/LMTP, $SESSIONS sessions) BULK=$BULK ($APPENDERS appenders) LOGINS=$LOGINS USERS=$USERS; after = $SETTLE s after the workload"
echo "measure,dovecot,postern,postern_vs_dovecot"
rows="idle_before_kib"
for w in idle_conns ingest bulk logins; do
    rows="$rows ${w}_seconds ${w}_peak_kib ${w}_after_kib"
done
for w in idle_conns ingest bulk logins; do rows="$rows ${w}_failures"; done
rows="$rows seconds_until_under_$((TARGET_KIB / 1024))MiB after_${AFTER}s_kib rss_anon_kib_at_end rss_file_kib_at_end vmhwm_kib server_alive_at_end oom_kills cgroup_limit_hits cgroup_peak_kib_with_page_cache"
for row in $rows; do
    d=${R[dovecot.$row]:-} p=${R[postern.$row]:-}
    r=""
    case "$row" in *_kib | *_seconds) r=$(ratio "$p" "$d") ;; esac
    echo "$row,$d,$p,$r"
done

# The acceptance check: no failed command and no OOM kill for Postern.
bad=0
for w in idle_conns ingest bulk logins; do
    [ "${R[postern.${w}_failures]}" = 0 ] || { say "FAIL: Postern $w failures: ${R[postern.${w}_failures]}"; bad=1; }
done
[ "${R[postern.oom_kills]:-0}" = 0 ] || { say "FAIL: Postern OOM kills: ${R[postern.oom_kills]}"; bad=1; }
[ "${R[postern.server_alive_at_end]}" = yes ] || { say "FAIL: Postern did not survive"; bad=1; }
under=${R[postern.seconds_until_under_$((TARGET_KIB / 1024))MiB]}
case "$under" in
not*)
    say "Postern's RSS was not under $TARGET_KIB KiB within $AFTER s"
    [ -z "${REQUIRE_RSS:-}" ] || bad=1
    ;;
esac
[ -n "$cg_dir" ] || say "(measured without a cgroup: the limit was not enforced)"
exit "$bad"
