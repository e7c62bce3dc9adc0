# Shared by the bench scripts that compare Postern with Dovecot on the same Maildir: a work
# directory cleaned up on exit, a private Dovecot instance, Postern with the same messages
# imported, and medians. Source it after setting DOVECOT_PORT and POSTERN_PORT.
# The benchmarks' password, "secret" (the peers' too), is below the rules for new
# passwords; the servers started here inherit this.
export POSTERN_SECURITY_MIN_PASSWORD_LENGTH=6 POSTERN_SECURITY_REFUSE_GUESSABLE_PASSWORDS=false

# Installs a Debian package providing `file` when it is missing, and Dovecot's vmail user.
need_dovecot() { # package file
    if [ ! -e "$2" ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
    fi
    id vmail >/dev/null 2>&1 || useradd --system --no-create-home vmail
}

. bench/lib.sh

work=$(mktemp -d)
chmod 755 "$work"
cleanup() {
    if [ -d "$work/pf" ]; then postfix -c "$work/pf" stop >/dev/null 2>&1 || true; fi
    if [ -f "$work/dovecot/run/master.pid" ]; then
        # Dovecot's master waits for its children; it gets 5 s, then SIGKILL.
        local master
        master=$(cat "$work/dovecot/run/master.pid")
        kill "$master" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$master" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$master" 2>/dev/null || true
    fi
    [ -n "${postern_pid:-}" ] && kill "$postern_pid" 2>/dev/null
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p server >&2
bin=target/release/postern

# Starts Dovecot on a copy of $work/maildir for alice@example.test / secret, plaintext
# logins allowed, serving `protocol`; the rest of its configuration comes on stdin.
# Sets dovecot_pid.
start_dovecot() { # protocol
    mkdir -p "$work/dovecot/run" "$work/dovecot/state" "$work/home"
    cp -r "$work/maildir" "$work/dovecot-maildir"
    chown -R vmail:vmail "$work/dovecot-maildir" "$work/home"
    echo "alice@example.test:{PLAIN}secret" >"$work/dovecot/passwd"
    {
        cat <<CONF
base_dir = $work/dovecot/run
state_dir = $work/dovecot/state
log_path = $work/dovecot/log
listen = 127.0.0.1
protocols = $1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $work/dovecot/passwd
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$work/home/%u
}
mail_location = maildir:$work/dovecot-maildir
CONF
        cat
    } >"$work/dovecot/dovecot.conf"
    dovecot -c "$work/dovecot/dovecot.conf"
    # Its master writes the pid file once it has forked: on a busy machine, after a while.
    for _ in $(seq 100); do
        [ -s "$work/dovecot/run/master.pid" ] && break
        sleep 0.1
    done
    dovecot_pid=$(cat "$work/dovecot/run/master.pid")
}

# Dovecot's settings for thousands of IMAP connections from one address, idle sessions
# hibernated after 1 s (its low-memory idle mode): IMAP on `port`, IMAPS on `tls_port` (0
# for none). For start_dovecot's standard input.
dovecot_idle_conf() { # port tls_port
    cat <<CONF
mail_max_userip_connections = 100000
imap_hibernate_timeout = 1s
default_client_limit = 100000
default_process_limit = 20000
service imap-login {
  inet_listener imap {
    port = $1
  }
  inet_listener imaps {
    port = $2
  }
  service_count = 0
  process_min_avail = 2
  client_limit = 50000
}
service imap {
  process_limit = 20000
}
service imap-hibernate {
  client_limit = 100000
}
service anvil {
  chroot =
  client_limit = 100000
}
service auth {
  client_limit = 100000
}
CONF
}

# Starts Postern serving only `service` (plaintext logins allowed) on POSTERN_PORT, with
# $work/maildir imported for alice@example.test / secret. Sets postern_pid.
start_postern() { # service: imap, pop3 or http
    {
        # One loopback address holds every load connection (10,000 IDLE).
        printf 'hostname = "bench.test"\ndata_dir = "%s"\n[limits]\nmax_connections_per_ip = 100000\n[listen]\n' "$work/postern"
        for service in smtp submission submissions pop3 pop3s imap imaps https http; do
            if [ "$service" = "$1" ]; then
                printf '%s = ["127.0.0.1:%s"]\n' "$service" "$POSTERN_PORT"
            else
                printf '%s = []\n' "$service"
            fi
        done
        [ "$1" = http ] || printf '[%s]\nauth_without_tls = true\n' "$1"
    } >"$work/postern.toml"
    "$bin" --config "$work/postern.toml" setup --non-interactive >/dev/null 2>&1
    "$bin" --config "$work/postern.toml" domain add example.test >/dev/null
    echo secret | "$bin" --config "$work/postern.toml" user add alice@example.test --password-stdin >/dev/null
    if [ -d "$work/maildir" ]; then
        "$bin" --config "$work/postern.toml" import alice@example.test --maildir "$work/maildir" >&2
    fi
    "$bin" --config "$work/postern.toml" serve >/dev/null 2>"$work/postern.log" &
    postern_pid=$!
    sleep 1
}

# Starts Dovecot's LMTP on LMTP_PORT (with `protocols`, e.g. "lmtp" or "imap pop3 lmtp", and
# more configuration on stdin), then a private Postfix on POSTFIX_PORT that takes mail for
# example.test and hands it to that LMTP: the stack Postern replaces. Needs $work/maildir.
# Sets dovecot_pid and postfix_pid; the cleanup stops Postfix.
start_postfix_dovecot() { # protocols
    need_dovecot dovecot-lmtpd /usr/lib/dovecot/lmtp
    start_dovecot "$1" < <(
        cat
        printf 'service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n    port = %s\n  }\n}\n' "$LMTP_PORT"
    )
    start_postfix "$work/pf" "$POSTFIX_PORT" <<CONF
virtual_mailbox_domains = example.test
virtual_mailbox_maps = static:OK
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
lmtp_destination_concurrency_limit = 20
CONF
    postfix_pid=$(head -1 "$work/pf/queue/pid/master.pid" | tr -d ' ')
}

# Starts Radicale (Debian's package, installed the first time) on RADICALE_PORT with its
# collections in DIR, alice@example.test / secret its one user. Sets radicale_pid.
start_radicale() { # dir
    if ! python3 -c 'import radicale' 2>/dev/null && ! /usr/bin/python3 -c 'import radicale' 2>/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq radicale >/dev/null
    fi
    local python=python3
    python3 -c 'import radicale' 2>/dev/null || python=/usr/bin/python3
    mkdir -p "$1/collections"
    echo "alice@example.test:secret" >"$1/users"
    "$python" -m radicale --server-hosts "127.0.0.1:$RADICALE_PORT" \
        --storage-filesystem-folder "$1/collections" \
        --auth-type htpasswd --auth-htpasswd-filename "$1/users" \
        --auth-htpasswd-encryption plain --rights-type owner_only \
        --logging-level warning >"$1/log" 2>&1 &
    radicale_pid=$!
    for _ in $(seq 50); do
        (echo >"/dev/tcp/127.0.0.1/$RADICALE_PORT") 2>/dev/null && break
        sleep 0.1
    done
}

