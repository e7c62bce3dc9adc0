#!/usr/bin/env bash
# RETR throughput for 1,000 messages: Postern against Dovecot's dovecot-pop3d, same Maildir
# contents, same client, same run, alternating rounds; prints medians and the ratio.
# Loopback only. Needs root the first time (apt-get install dovecot-pop3d, a vmail user).
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=${MESSAGES:-1000}
SIZE=${SIZE:-8192}
ROUNDS=${ROUNDS:-5}
DOVECOT_PORT=${DOVECOT_PORT:-21110}
POSTERN_PORT=${POSTERN_PORT:-21111}

. bench/peers.sh
need_dovecot dovecot-pop3d /usr/lib/dovecot/pop3

# One Maildir, read by both servers.
python3 - "$work/maildir" "$MESSAGES" "$SIZE" <<'PY'
import os, sys
root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, sub), exist_ok=True)
line = "The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
for i in range(count):
    head = f"From: a@remote.test\r\nTo: alice@example.test\r\nSubject: bench {i}\r\nMessage-ID: <{i}@bench.test>\r\n\r\n"
    body = head + line * max(1, (size - len(head)) // len(line))
    with open(os.path.join(root, "cur", f"{1700000000 + i}.M{i}P1.bench,S={len(body)}:2,S"), "w", newline="") as f:
        f.write(body)
PY

# Dovecot, a private instance on the Maildir; Postern with the same messages imported.
start_dovecot pop3 <<CONF
pop3_uidl_format = %08Xu%08Xv
service pop3-login {
  inet_listener pop3 {
    port = $DOVECOT_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}
service anvil {
  chroot =
}
CONF
start_postern pop3

retr_all() { # port -> seconds to RETR every message
    python3 - "$1" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port))
f = sock.makefile("rb", buffering=1 << 16)
def line():
    l = f.readline()
    if not l.startswith(b"+OK"):
        raise SystemExit(f"unexpected {l!r}")
    return l
line()
sock.sendall(b"USER alice@example.test\r\n"); line()
sock.sendall(b"PASS secret\r\n"); line()
sock.sendall(b"STAT\r\n"); count = int(line().split()[1])
start = time.perf_counter()
octets = 0
for i in range(1, count + 1):
    sock.sendall(b"RETR %d\r\n" % i)
    line()
    while True:
        l = f.readline()
        if l == b".\r\n":
            break
        octets += len(l)
elapsed = time.perf_counter() - start
sock.sendall(b"QUIT\r\n")
print(f"{elapsed:.4f} {count} {octets}")
PY
}

ours=() theirs=()
for _ in $(seq "$ROUNDS"); do
    theirs+=("$(retr_all "$DOVECOT_PORT" | cut -d' ' -f1)")
    ours+=("$(retr_all "$POSTERN_PORT" | cut -d' ' -f1)")
done
ours_s=$(printf '%s\n' "${ours[@]}" | median)
theirs_s=$(printf '%s\n' "${theirs[@]}" | median)
echo "server,seconds_for_${MESSAGES}_RETR,messages_per_sec"
printf 'dovecot,%s,%.0f\n' "$theirs_s" "$(echo "$MESSAGES / $theirs_s" | bc -l)"
printf 'postern,%s,%.0f\n' "$ours_s" "$(echo "$MESSAGES / $ours_s" | bc -l)"
printf 'ratio (postern/dovecot throughput): %.2f\n' "$(echo "$theirs_s / $ours_s" | bc -l)"
