# Shared by the benchmark scripts (sourced, not run).

# The median of the numbers on standard input, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Waits (up to 10 s) until `postern serve` writing to OUT_LOG has printed its banner.
wait_for_postern() { # out_log
    for _ in $(seq 100); do
        grep -q "Next," "$1" 2>/dev/null && break
        sleep 0.1
    done
}

# Seconds smtp-source takes to send MESSAGES messages of SIZE bytes over SESSIONS
# connections from load@remote.test to alice@example.test at 127.0.0.1:PORT.
smtp_send() { # port
    local start end
    start=$(date +%s.%N)
    smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f load@remote.test -t alice@example.test "127.0.0.1:$1"
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

# Postfix's smtp-source and smtp-sink, installed from Debian the first time (needs root).
need_smtp_source() {
    if ! command -v smtp-source >/dev/null && ! [ -x /usr/sbin/smtp-source ]; then
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
    fi
    PATH=$PATH:/usr/sbin
}

# A Postern of its own for a load script, in a scratch directory: `scratch_postern
# "SERVICE=PORT ..." EXTRA` builds the release binary (unless SKIP_BUILD) and sets `bin`,
# makes `work` (removed on exit, the server stopped), writes `$work/postern.toml` with only
# those services listening, each on 127.0.0.1:PORT (and EXTRA, more TOML, after them),
# runs setup and adds the domain example.test. `cli` then runs management commands on it.
scratch_postern() { # "service=port ..." extra
    [ -n "${SKIP_BUILD:-}" ] || cargo build --release -p server >&2
    bin=${BIN:-target/release/postern}
    work=$(mktemp -d)
    trap '[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
    {
        printf 'hostname = "mx.test"\ndata_dir = "%s/data"\n[dns]\nnameservers = []\n' "$work"
        printf '[listen]\n'
        for service in smtp submission submissions pop3 pop3s imap imaps https http managesieve; do
            local port
            port=$(tr ' ' '\n' <<<"$1" | awk -F= -v s="$service" '$1 == s {print $2}')
            if [ -n "$port" ]; then
                printf '%s = ["127.0.0.1:%s"]\n' "$service" "$port"
            else
                printf '%s = []\n' "$service"
            fi
        done
        printf '%s\n' "$2"
    } >"$work/postern.toml"
    cli setup --non-interactive 2>/dev/null
    cli domain add example.test
}

# A management command on the scratch Postern, its output dropped.
cli() { "$bin" --config "$work/postern.toml" "$@" >/dev/null; }

# Starts the scratch Postern (`pid`) and waits until PORT answers.
serve_postern() { # port
    "$bin" --config "$work/postern.toml" serve >"$work/log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && break
        sleep 0.1
    done
}

# A memory figure of the scratch Postern, in KiB: `rss VmRSS`, `rss VmHWM`.
rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }

# A private Postfix in DIR, its smtpd (Debian's master.cf) on 127.0.0.1:PORT; main.cf holds
# what every instance here shares, then the lines on standard input. Stop it with
# `postfix -c DIR stop`. Needs the postfix package (need_smtp_source installs it).
start_postfix() { # dir port
    local pf=$1
    mkdir -p "$pf/queue" "$pf/data"
    sed "s/^smtp      inet/127.0.0.1:$2 inet/" /etc/postfix/master.cf >"$pf/master.cf"
    {
        cat <<CONF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
CONF
        cat
    } >"$pf/main.cf"
    chown postfix "$pf/data"
    postfix -c "$pf" set-permissions >/dev/null 2>&1 || true
    postfix -c "$pf" check
    postfix -c "$pf" start
    for _ in $(seq 100); do
        (echo >"/dev/tcp/127.0.0.1/$2") 2>/dev/null && break
        sleep 0.1
    done
}
