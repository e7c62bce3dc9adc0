#!/usr/bin/env bash
# Memory of the whole stack at rest, in one run: Postern serving SMTP, submission, IMAP,
# POP3 and CalDAV/CardDAV against what it replaces, Postfix (handing mail to Dovecot over
# LMTP) + Dovecot (IMAP, POP3, LMTP) + Radicale. Each stack is measured twice: started and
# left alone SETTLE seconds, then again SETTLE seconds after being used once (a message in
# over SMTP, an IMAP and a POP3 login, a calendar PROPFIND). Memory is the summed PSS of
# every process of a stack (Postern is one process). Also the size each installs: Postern's
# stripped binary, the Debian packages' installed size. Loopback, plain text; needs root
# the first time (apt-get install postfix dovecot-imapd dovecot-pop3d dovecot-lmtpd
# radicale).
set -euo pipefail
cd "$(dirname "$0")/.."

SETTLE=${SETTLE:-5}
POSTERN_SMTP=${POSTERN_SMTP:-27025} POSTERN_IMAP=${POSTERN_IMAP:-27143}
POSTERN_POP3=${POSTERN_POP3:-27110} POSTERN_HTTP=${POSTERN_HTTP:-27080}
POSTFIX_PORT=${POSTFIX_PORT:-27026} LMTP_PORT=${LMTP_PORT:-27024}
DOVECOT_IMAP=${DOVECOT_IMAP:-27144} DOVECOT_POP3=${DOVECOT_POP3:-27111}
RADICALE_PORT=${RADICALE_PORT:-27232}
DOVECOT_PORT=unused POSTERN_PORT=unused

. bench/peers.sh
need_smtp_source
need_dovecot dovecot-imapd /usr/lib/dovecot/imap
need_dovecot dovecot-pop3d /usr/lib/dovecot/pop3

pss() { python3 bench/memory_load.py mem pss "$1"; }

# One use of each service: SMTP_PORT IMAP_PORT POP3_PORT HTTP_PORT DAV_PATH.
use_once() {
    smtp-source -m 1 -f load@remote.test -t alice@example.test "127.0.0.1:$1"
    python3 - "$2" "$3" "$4" "$5" <<'PY'
import base64, http.client, imaplib, poplib, sys
imap = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
imap.login("alice@example.test", "secret")
imap.select("INBOX")
imap.logout()
pop = poplib.POP3("127.0.0.1", int(sys.argv[2]))
pop.user("alice@example.test")
pop.pass_("secret")
pop.stat()
pop.quit()
dav = http.client.HTTPConnection("127.0.0.1", int(sys.argv[3]))
auth = base64.b64encode(b"alice@example.test:secret").decode()
dav.request("PROPFIND", sys.argv[4], headers={"Authorization": "Basic " + auth, "Depth": "1"})
assert dav.getresponse().status == 207
PY
}

# Postern: every service but the TLS ones, which the peers are not given either.
mkdir -p "$work/maildir/new" "$work/maildir/cur" "$work/maildir/tmp"
cat >"$work/postern.toml" <<TOML
hostname = "bench.test"
data_dir = "$work/postern"
[listen]
smtp = ["127.0.0.1:$POSTERN_SMTP"]
submission = []
submissions = []
imap = ["127.0.0.1:$POSTERN_IMAP"]
imaps = []
pop3 = ["127.0.0.1:$POSTERN_POP3"]
pop3s = []
http = ["127.0.0.1:$POSTERN_HTTP"]
https = []
[imap]
auth_without_tls = true
[pop3]
auth_without_tls = true
TOML
"$bin" --config "$work/postern.toml" setup --non-interactive >/dev/null 2>&1
"$bin" --config "$work/postern.toml" domain add example.test >/dev/null
echo secret | "$bin" --config "$work/postern.toml" user add alice@example.test --password-stdin >/dev/null
"$bin" --config "$work/postern.toml" serve >/dev/null 2>"$work/postern.log" &
postern_pid=$!
sleep "$SETTLE"
postern_started=$(pss "$postern_pid")
use_once "$POSTERN_SMTP" "$POSTERN_IMAP" "$POSTERN_POP3" "$POSTERN_HTTP" /dav/calendars/alice@example.test/
sleep "$SETTLE"
postern_used=$(pss "$postern_pid")
kill "$postern_pid"
wait "$postern_pid" 2>/dev/null || true
postern_pid=

start_postfix_dovecot "imap pop3 lmtp" <<CONF
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_IMAP
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $DOVECOT_POP3
  }
}
CONF
start_radicale "$work/radicale"
stack() { echo $(($(pss "$postfix_pid") + $(pss "$dovecot_pid") + $(pss "$radicale_pid"))); }
sleep "$SETTLE"
peers_started=$(stack)
use_once "$POSTFIX_PORT" "$DOVECOT_IMAP" "$DOVECOT_POP3" "$RADICALE_PORT" /alice@example.test/
sleep "$SETTLE"
peers_used=$(stack)
kill "$radicale_pid"

installed=$(dpkg-query -W -f '${Installed-Size}\n' postfix dovecot-core dovecot-imapd dovecot-pop3d \
    dovecot-lmtpd radicale python3-radicale 2>/dev/null | awk '{s += $1} END {print s}')
echo "what,postern,postfix_dovecot_radicale,ratio"
printf 'idle_started_pss_kib,%s,%s,%.1f\n' "$postern_started" "$peers_started" "$(echo "$peers_started / $postern_started" | bc -l)"
printf 'idle_after_use_pss_kib,%s,%s,%.1f\n' "$postern_used" "$peers_used" "$(echo "$peers_used / $postern_used" | bc -l)"
printf 'installed_kib,%s,%s,%.1f\n' "$(($(stat -c %s "$bin") / 1024))" "$installed" "$(echo "$installed * 1024 / $(stat -c %s "$bin")" | bc -l)"
