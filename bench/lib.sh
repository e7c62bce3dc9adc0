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
