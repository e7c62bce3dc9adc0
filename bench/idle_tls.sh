#!/usr/bin/env bash
# IMAP clients at rest over TLS, side by side with Dovecot (dovecot-imapd) on loopback, in
# one run: COUNT connections (2,000 by default) logged in, SELECTed and in IDLE, over
# implicit TLS (IMAPS) and, for comparison, over plain IMAP. Printed: the memory each
# connection adds to its server (Postern's PSS; Dovecot's summed over all its processes,
# with hibernation on). Then what TLS costs in time: APPENDS messages (1,000) appended over
# IMAPS on one connection, and FETCH BODY[] of them all. Both servers use one self-signed
# certificate (openssl). Needs root the first time (apt-get install dovecot-imapd, a vmail
# user).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-2000}
APPENDS=${APPENDS:-1000}
HOLD=${HOLD:-20}
DOVECOT_PORT=${DOVECOT_PORT:-21143} DOVECOT_TLS_PORT=${DOVECOT_TLS_PORT:-21993}
POSTERN_PORT=${POSTERN_PORT:-21144} POSTERN_TLS_PORT=${POSTERN_TLS_PORT:-21994}
client="python3 bench/imap_client.py"

. bench/peers.sh
need_dovecot dovecot-imapd /usr/lib/dovecot/imap
sysctl -qw fs.inotify.max_user_instances=65536 fs.inotify.max_user_watches=1048576 || true
ulimit -n "$(ulimit -Hn)"

mkdir -p "$work/maildir/cur" "$work/maildir/new" "$work/maildir/tmp"
for i in $(seq 100); do
    printf 'From: a@remote.test\r\nTo: alice@example.test\r\nSubject: %s\r\n\r\nHello.\r\n' "$i" \
        >"$work/maildir/cur/$((1700000000 + i)).M${i}P1.bench:2,S"
done
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench.test \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 644 "$work/key.pem" "$work/cert.pem"

start_dovecot imap < <(
    printf 'ssl = yes\nssl_cert = <%s\nssl_key = <%s\n' "$work/cert.pem" "$work/key.pem"
    dovecot_idle_conf "$DOVECOT_PORT" "$DOVECOT_TLS_PORT"
)

cat >"$work/postern.toml" <<TOML
hostname = "bench.test"
data_dir = "$work/postern"
[limits]
max_connections_per_ip = 100000
[listen]
smtp = []
submission = []
submissions = []
pop3 = []
pop3s = []
https = []
http = []
imap = ["127.0.0.1:$POSTERN_PORT"]
imaps = ["127.0.0.1:$POSTERN_TLS_PORT"]
[tls]
cert = "$work/cert.pem"
key = "$work/key.pem"
[imap]
auth_without_tls = true
TOML
"$bin" --config "$work/postern.toml" setup --non-interactive >/dev/null 2>&1
"$bin" --config "$work/postern.toml" domain add example.test >/dev/null
echo secret | "$bin" --config "$work/postern.toml" user add alice@example.test --password-stdin >/dev/null
"$bin" --config "$work/postern.toml" import alice@example.test --maildir "$work/maildir" >&2
"$bin" --config "$work/postern.toml" serve >/dev/null 2>"$work/postern.log" &
postern_pid=$!
sleep 1

memory_kib() { python3 bench/memory_load.py mem pss "$1"; }
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }

# Bytes per connection that COUNT idlers on `port` add to the server `pid`; TLS when
# `tls` is 1.
per_idler() { # pid port tls
    local base held holder
    base=$(memory_kib "$1")
    IMAP_TLS=$3 $client idle "$2" "$COUNT" "$HOLD" >"$work/idle.out" &
    holder=$!
    for _ in $(seq 1200); do grep -q ready "$work/idle.out" 2>/dev/null && break; sleep 0.5; done
    grep -q ready "$work/idle.out" || { echo "the idlers did not all get in" >&2; exit 1; }
    sleep 5 # Dovecot hibernates idle sessions after 1 s
    held=$(memory_kib "$1")
    wait "$holder" || true
    sleep 3
    echo $(( (held - base) * 1024 / COUNT ))
}

echo "measure,dovecot,postern,postern_vs_dovecot"
for tls in 0 1; do
    if [ "$tls" = 1 ]; then name=tls; d_port=$DOVECOT_TLS_PORT; p_port=$POSTERN_TLS_PORT
    else name=plain; d_port=$DOVECOT_PORT; p_port=$POSTERN_PORT; fi
    d=$(per_idler "$dovecot_pid" "$d_port" "$tls")
    p=$(per_idler "$postern_pid" "$p_port" "$tls")
    echo "bytes_per_idle_connection_${name}_at_${COUNT},$d,$p,$(ratio "$p" "$d")"
done

d=$(IMAP_TLS=1 $client append "$DOVECOT_TLS_PORT" "$APPENDS")
p=$(IMAP_TLS=1 $client append "$POSTERN_TLS_PORT" "$APPENDS")
echo "append_${APPENDS}_over_tls_seconds,$d,$p,$(ratio "$p" "$d")"
d=$(IMAP_TLS=1 $client bodies "$DOVECOT_TLS_PORT" | cut -d' ' -f1)
p=$(IMAP_TLS=1 $client bodies "$POSTERN_TLS_PORT" | cut -d' ' -f1)
echo "fetch_all_bodies_over_tls_seconds,$d,$p,$(ratio "$p" "$d")"
